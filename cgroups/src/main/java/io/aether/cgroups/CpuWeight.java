package io.aether.cgroups;

/**
 * How a group's claim on contended CPUs weighs against its sibling groups' (the kernel shares
 * them between groups first, then between the tasks inside each): v1's {@code cpu.shares}, v2's
 * {@code cpu.weight}. A weight takes nothing when the CPUs are idle; the CPU quota caps use.
 */
public enum CpuWeight {
    /** The kernel's lowest: the group runs on what its busy siblings leave. */
    LOWEST(2, 1),
    /** The kernel's default, every new group's. */
    NORMAL(1024, 100);

    /** v1's {@code cpu.shares}. */
    final long shares;
    /** v2's {@code cpu.weight}. */
    final long weight;

    CpuWeight(long shares, long weight) {
        this.shares = shares;
        this.weight = weight;
    }
}
