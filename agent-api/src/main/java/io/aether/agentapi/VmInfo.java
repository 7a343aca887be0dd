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
 * @param quota what its monitor process may use, and whether the kernel holds it to that
 * @param usage what its monitor process has used, from its cgroup's own accounting (absent
 *     without a monitor or where quotas are not enforced)
 */
public record VmInfo(String id, String state, String reason, Long pid, Map<String, String> labels, String restartPolicy,
                     int restarts, String lastFailure, JsonNode spec, Quota quota, Usage usage) {

    /**
     * @param cpus CPU time per scheduling period, in CPUs
     * @param memoryBytes the memory limit of the monitor process, guest RAM included
     * @param enforced whether the node's cgroups hold the monitor to it (false where they cannot be used)
     */
    public record Quota(double cpus, long memoryBytes, boolean enforced) {
    }

    /**
     * Counted since the monitor's group was made, which happens at each start.
     *
     * @param cpuSeconds CPU time its processes used
     * @param throttledPeriods scheduling periods in which it ran out of CPU quota
     * @param memoryBytes memory charged to it now
     * @param memoryLimitHits times a charge reached the memory limit
     * @param oomKills processes the kernel's OOM killer ended in it
     */
    public record Usage(double cpuSeconds, long throttledPeriods, long memoryBytes, long memoryLimitHits, long oomKills) {
    }
}
