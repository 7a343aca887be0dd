package io.aether.cgroups;

import io.aether.common.ByteSize;
import io.aether.common.FieldException;
import java.math.BigDecimal;
import java.util.Objects;

/**
 * What the kernel allows one monitor process: {@code cpus} CPUs' worth of time per scheduling
 * period (0.5 is half of one CPU, 2 is two whole CPUs) and {@code memory} bytes of memory, the
 * guest's RAM and the monitor's own together, with no swap beyond it.
 *
 * <p>The constructor checks what holds on any host; {@link #checkFits} checks it against a host
 * and a VM before anything is created.
 */
public record Quota(double cpus, ByteSize memory) {

    /** The smallest share: the kernel's smallest CFS quota, 1 ms, per the 100 ms period Aether uses. */
    public static final double MIN_CPUS = 0.01;

    /** The smallest limit accepted at all; a monitor needs {@link #MONITOR_OVERHEAD} beside its guest. */
    public static final ByteSize MIN_MEMORY = ByteSize.ofMiB(4);

    /**
     * What a monitor process needs beside its guest's RAM. Measured with a 16 MiB stub guest
     * printing without pause, the monitor started with the launcher's JVM options
     * (MonitorCgroupTest prints the figures): its group peaked at 45 to 51 MiB, most of it the
     * monitor's own (the stub touches a few pages of its RAM): the JVM's heap, metaspace, code
     * cache and thread stacks, and the class files it read (page cache is charged to the group
     * that reads it). 96 MiB, about twice that, leaves room for the threads and buffers of disks
     * and NICs and for the heap's growth; the page cache in it is reclaimed before the limit
     * kills anything.
     */
    public static final ByteSize MONITOR_OVERHEAD = ByteSize.ofMiB(96);

    /**
     * The CPU a monitor's own threads need beside its vCPUs' (its JIT compiling the exit paths,
     * the disks' workers, the console). Measured in the nested test host (docs/BENCHMARKS.md (a)):
     * at one CPU for one vCPU, every Linux boot's group was throttled for 1.2 to 3.1 s, about a
     * quarter of the CPU it used; half a CPU more covers that with room.
     */
    public static final double MONITOR_CPUS = 0.5;

    public Quota {
        Objects.requireNonNull(memory, "memory");
        if (!Double.isFinite(cpus)) throw new FieldException("cpus", cpus + " is not a number of CPUs");
        if (cpus < MIN_CPUS) throw new FieldException("cpus", show(cpus) + " is too small (at least " + show(MIN_CPUS) + ")");
        if (memory.bytes() < MIN_MEMORY.bytes()) throw new FieldException("memory", memory + " is too small (at least " + MIN_MEMORY + ")");
    }

    /** The quota a VM gets when none is asked for: one CPU per vCPU plus the monitor's, its RAM plus the monitor's overhead. */
    public static Quota forVm(int vcpus, ByteSize guestMemory) {
        return new Quota(vcpus + MONITOR_CPUS, new ByteSize(Math.addExact(guestMemory.bytes(), MONITOR_OVERHEAD.bytes())));
    }

    /**
     * Checks this quota against a host with {@code hostCpus} CPUs and a VM with
     * {@code guestMemory} of RAM.
     *
     * @return this quota
     * @throws FieldException naming {@code cpus} or {@code memory}
     */
    public Quota checkFits(int hostCpus, ByteSize guestMemory) {
        checkCpus(hostCpus);
        long needed = Math.addExact(guestMemory.bytes(), MONITOR_OVERHEAD.bytes());
        if (memory.bytes() < needed) {
            throw new FieldException("memory", memory + " is less than the VM's " + guestMemory + " of RAM plus "
                    + MONITOR_OVERHEAD + " for its monitor (" + new ByteSize(needed) + ")");
        }
        return this;
    }

    void checkCpus(int hostCpus) {
        if (cpus > hostCpus) throw new FieldException("cpus", show(cpus) + " is more than this host's " + hostCpus + " CPUs");
    }

    /** A number of CPUs as written: {@code 2}, {@code 0.25}. */
    static String show(double cpus) {
        return BigDecimal.valueOf(cpus).stripTrailingZeros().toPlainString();
    }

    /** The CFS quota in microseconds per {@code periodMicros}, as the kernel takes it. */
    long quotaMicros(long periodMicros) {
        return Math.round(cpus * periodMicros);
    }
}
