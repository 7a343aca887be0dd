package io.aether.agentapi;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The body of {@code POST /v1/vms}.
 *
 * @param spec the VM in {@link io.aether.vmspec.VmSpecJson}'s form; the agent reads it strictly
 *     and names a bad field {@code spec.memory}, {@code spec.boot.kernel}
 * @param labels free key/value pairs (absent: none)
 * @param restartPolicy {@code never} (absent), {@code on-failure} or {@code always}
 * @param id the VM's name (absent: the agent makes one up)
 * @param start whether to start it at once (absent: true)
 * @param volumes node volumes attached as further disks, in order (absent: none)
 */
public record CreateVm(JsonNode spec, Map<String, String> labels, String restartPolicy, String id, Boolean start, List<VolumeAttachment> volumes) {

    /** At most this many volumes per VM: each is a disk, and disks share the VM's few interrupt lines. */
    public static final int MAX_VOLUMES = 8;

    public CreateVm {
        Objects.requireNonNull(spec, "spec");
        if (!spec.isObject()) throw new IllegalArgumentException("spec: expected an object");
        labels = Names.requireLabels(labels == null ? Map.of() : labels);
        restartPolicy = RestartPolicy.parse(restartPolicy == null ? RestartPolicy.NEVER.id() : restartPolicy).id();
        if (id != null) Names.requireVmId(id);
        start = start == null || start;
        volumes = volumes == null ? List.of() : List.copyOf(volumes);
        if (volumes.size() > MAX_VOLUMES) throw new IllegalArgumentException("volumes: " + volumes.size() + " (at most " + MAX_VOLUMES + ")");
        if (volumes.stream().map(VolumeAttachment::name).distinct().count() < volumes.size()) {
            throw new IllegalArgumentException("volumes: a volume is named twice");
        }
    }

    /** A request without volumes. */
    public CreateVm(JsonNode spec, Map<String, String> labels, String restartPolicy, String id, Boolean start) {
        this(spec, labels, restartPolicy, id, start, null);
    }

    /** This request with {@code value} as its spec and no volumes (they are in the spec now). */
    public CreateVm withSpec(JsonNode value) {
        return new CreateVm(value, labels, restartPolicy, id, start, null);
    }
}
