package io.aether.vmm;

import java.util.Map;

/**
 * What one vCPU has done so far.
 *
 * @param cpuNanos CPU time of the vCPU's thread (guest and monitor time on it), from the JVM's
 *     per-thread clock; what it had when it ended, once it has
 * @param exits exits to the monitor by reason ({@link ExitReason#label}), every reason present
 */
public record VcpuStats(int id, long cpuNanos, Map<String, Long> exits) {
    public VcpuStats {
        exits = Map.copyOf(exits);
    }
}
