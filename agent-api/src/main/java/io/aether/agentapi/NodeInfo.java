package io.aether.agentapi;

import java.util.List;

/**
 * The answer of {@code GET /v1/node}: what the node has, what it has admitted, what its KVM can run.
 *
 * @param unreadableVms the ids of VM folders the agent could not read when it started (damaged
 *     by hand or by the disk): left as they are, without a VM, the agent's log says why
 * @param pool the standby monitors kept ready to start VMs without waiting for a JVM
 */
public record NodeInfo(Capacity capacity, Admitted admitted, Capabilities capabilities, List<String> unreadableVms, Pool pool) {

    /**
     * @param cpus host CPUs the agent schedules on
     * @param memoryBytes host memory the agent schedules
     * @param overcommit how far admission may go past them (1.0: not at all)
     */
    public record Capacity(int cpus, long memoryBytes, double overcommit) {
    }

    /** What the VMs that hold resources (created, running, paused) take together. */
    public record Admitted(int vms, int vcpus, long memoryBytes) {
    }

    /**
     * @param kvm whether /dev/kvm is there and this agent may open it
     * @param pvm whether it is PVM-backed (the {@code kvm_pvm} module): stub guests only
     * @param linuxGuests whether an unmodified Linux kernel can boot here
     * @param note one line for a person: what the host is and what to do instead
     * @param quotas whether each VM's CPU and memory quota is enforced through cgroups
     * @param cgroups the cgroup layout in one line: where each resource lives, or why it cannot be used
     */
    public record Capabilities(boolean kvm, boolean pvm, boolean linuxGuests, String note, boolean quotas, String cgroups) {
    }

    /**
     * @param size how many standby monitors the agent keeps ({@code --warm-pool}; 0: every VM starts a cold monitor)
     * @param ready how many answer now, each ready to take a VM
     * @param starting how many are starting (refilling)
     * @param failed standby monitors that failed to start since the agent started
     * @param memoryBytes the memory the ready ones hold (their private pages: what ending them would free)
     */
    public record Pool(int size, int ready, int starting, long failed, long memoryBytes) {
    }
}
