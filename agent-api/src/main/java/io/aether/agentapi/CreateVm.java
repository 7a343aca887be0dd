package io.aether.agentapi;

import com.fasterxml.jackson.databind.JsonNode;
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
 */
public record CreateVm(JsonNode spec, Map<String, String> labels, String restartPolicy, String id, Boolean start) {

    public CreateVm {
        Objects.requireNonNull(spec, "spec");
        if (!spec.isObject()) throw new IllegalArgumentException("spec: expected an object");
        labels = Names.requireLabels(labels == null ? Map.of() : labels);
        restartPolicy = RestartPolicy.parse(restartPolicy == null ? RestartPolicy.NEVER.id() : restartPolicy).id();
        if (id != null) Names.requireVmId(id);
        start = start == null || start;
    }
}
