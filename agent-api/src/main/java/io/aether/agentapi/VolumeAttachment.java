package io.aether.agentapi;

/**
 * A node volume a VM gets as its next virtio disk, after the spec's own disks.
 *
 * @param name the volume
 * @param readOnly whether the guest may only read it (absent: false); a volume is attached
 *     read-write to one VM at a time, read-only to any number
 */
public record VolumeAttachment(String name, Boolean readOnly) {

    public VolumeAttachment {
        if (name == null) throw new IllegalArgumentException("volumes: an attachment without a name");
        Names.requireVolumeName(name);
        readOnly = readOnly != null && readOnly;
    }
}
