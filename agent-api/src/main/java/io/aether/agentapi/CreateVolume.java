package io.aether.agentapi;

import io.aether.common.ByteSize;
import java.util.Map;
import java.util.Objects;

/**
 * The body of {@code POST /v1/volumes}: a sparse raw disk image on the node, for VMs to attach.
 *
 * @param name the volume's name (the rule of VM ids)
 * @param size its size, {@code "512M"}, {@code "10G"} (a whole number of MiB, at least 1 MiB)
 * @param labels free key/value pairs, such as the job or tenant it belongs to (absent: none)
 */
public record CreateVolume(String name, String size, Map<String, String> labels) {

    public static final long MIB = 1 << 20;

    public CreateVolume {
        Objects.requireNonNull(name, "name");
        Names.requireVolumeName(name);
        if (size == null) throw new IllegalArgumentException("size: missing (such as \"1G\")");
        long bytes;
        try {
            bytes = ByteSize.parse(size).bytes();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("size: " + e.getMessage());
        }
        if (bytes < MIB || bytes % MIB != 0) {
            throw new IllegalArgumentException("size: " + size + " is not a whole number of MiB of at least 1 MiB");
        }
        labels = Names.requireLabels(labels == null ? Map.of() : labels);
    }

    public long sizeBytes() {
        return ByteSize.parse(size).bytes();
    }
}
