package io.aether.agentapi;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The body of {@code POST /v1/vms}.
 *
 * @param spec the VM in {@link io.aether.vmspec.VmSpecJson}'s form; the agent reads it strictly
 *     and names a bad field {@code spec.memory}, {@code spec.boot.kernel}; absent with {@code restore}
 * @param labels free key/value pairs (absent: none)
 * @param restartPolicy {@code never} (absent), {@code on-failure} or {@code always}
 * @param id the VM's name (absent: the agent makes one up)
 * @param start whether to start it at once (absent: true)
 * @param resources the CPU and memory quota of its monitor process (absent: one CPU per vCPU, the
 *     guest's RAM plus the monitor's overhead, enforced where the node's cgroups can)
 * @param restore a snapshot of a VM of this node to restore as the new VM, which then has that
 *     VM's spec (absent: the VM boots from {@code spec})
 * @param volumes node volumes attached as further disks, in order (absent: none; not with {@code restore})
 */
public record CreateVm(JsonNode spec, Map<String, String> labels, String restartPolicy, String id, Boolean start, Resources resources,
                       Restore restore, List<VolumeAttachment> volumes) {

    /** At most this many volumes per VM: each is a disk, and disks share the VM's few interrupt lines. */
    public static final int MAX_VOLUMES = 8;

    /**
     * Restore snapshot {@code snapshot} of VM {@code vm} (taken with {@code POST /v1/vms/VM/snapshot}).
     *
     * @param allowClone restore even while another VM runs from the same snapshot (absent: false):
     *     the two guests would share their random state, MAC addresses and secrets
     */
    public record Restore(String vm, String snapshot, Boolean allowClone) {
        public Restore {
            Objects.requireNonNull(vm, "restore.vm");
            Objects.requireNonNull(snapshot, "restore.snapshot");
            try {
                Names.requireVmId(vm);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("restore." + e.getMessage());
            }
            Names.requireSnapshotName("restore.snapshot", snapshot);
            allowClone = allowClone != null && allowClone;
        }
    }

    public CreateVm {
        if (restore == null) Objects.requireNonNull(spec, "spec");
        if (restore != null && spec != null) throw new IllegalArgumentException("spec: give a spec or restore, not both (a restored VM has its snapshot's spec)");
        if (spec != null && !spec.isObject()) throw new IllegalArgumentException("spec: expected an object");
        labels = Names.requireLabels(labels == null ? Map.of() : labels);
        restartPolicy = RestartPolicy.parse(restartPolicy == null ? RestartPolicy.NEVER.id() : restartPolicy).id();
        if (id != null) Names.requireVmId(id);
        start = start == null || start;
        if (restore != null && !start) throw new IllegalArgumentException("start: a restored VM starts at once (it goes on where its snapshot stopped)");
        volumes = volumes == null ? List.of() : List.copyOf(volumes);
        if (volumes.size() > MAX_VOLUMES) throw new IllegalArgumentException("volumes: " + volumes.size() + " (at most " + MAX_VOLUMES + ")");
        if (volumes.stream().map(VolumeAttachment::name).distinct().count() < volumes.size()) {
            throw new IllegalArgumentException("volumes: a volume is named twice");
        }
        if (restore != null && !volumes.isEmpty()) {
            throw new IllegalArgumentException("volumes: a restored VM has its snapshot's disks");
        }
    }

    public CreateVm(JsonNode spec, Map<String, String> labels, String restartPolicy, String id, Boolean start) {
        this(spec, labels, restartPolicy, id, start, null, null, null);
    }

    /** This request with {@code value} as its spec and no volumes (they are in the spec now). */
    public CreateVm withSpec(JsonNode value) {
        return new CreateVm(value, labels, restartPolicy, id, start, resources, restore, null);
    }
}
