package io.aether.agentapi;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;

/**
 * One VM as the agent knows it.
 *
 * @param state {@code created} (never started, or its monitor is building it), {@code running},
 *     {@code paused}, {@code stopped} or {@code failed}
 * @param reason why it stopped or failed (absent while it runs)
 * @param pid its monitor's process id (absent without a monitor)
 * @param restarts how often the agent has started it again under its restart policy
 * @param lastFailure the reason of its last failure, kept after a restart (absent if it never failed)
 * @param spec its spec in {@link io.aether.vmspec.VmSpecJson}'s form, NIC addresses filled in
 */
public record VmInfo(String id, String state, String reason, Long pid, Map<String, String> labels, String restartPolicy,
                     int restarts, String lastFailure, JsonNode spec) {
}
