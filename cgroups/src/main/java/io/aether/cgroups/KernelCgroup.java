package io.aether.cgroups;

import io.aether.common.ByteSize;
import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/** A VM's group on the running kernel: its directory for CPU bandwidth, for CPU accounting and for memory (some may be one). */
final class KernelCgroup implements VmCgroup {

    /** How long a just-exited process may keep its group busy before removal gives up. */
    private static final long EXIT_GRACE_NANOS = TimeUnit.SECONDS.toNanos(2);

    /** How far v1's memory+swap limit lies above the memory limit: one page (see {@link #setLimits}). */
    static final long MEMSW_MARGIN = 4096;

    /** The group's directory in one hierarchy. */
    record Dir(Hierarchy hierarchy, Path path) {
        Path file(String name) {
            return path.resolve(name);
        }

        boolean unified() {
            return hierarchy.unified();
        }
    }

    private final String vmId;
    private final Dir cpu;
    private final Dir cpuAccounting;
    private final Dir memory;
    private final int hostCpus;

    KernelCgroup(String vmId, Dir cpu, Dir cpuAccounting, Dir memory, int hostCpus) {
        this.vmId = vmId;
        this.cpu = cpu;
        this.cpuAccounting = cpuAccounting;
        this.memory = memory;
        this.hostCpus = hostCpus;
    }

    @Override
    public String vmId() {
        return vmId;
    }

    @Override
    public List<Path> paths() {
        Set<Path> paths = new LinkedHashSet<>(List.of(cpu.path(), cpuAccounting.path(), memory.path()));
        return List.copyOf(paths);
    }

    Path dir(Hierarchy h) {
        for (Dir d : List.of(cpu, cpuAccounting, memory)) {
            if (d.hierarchy().equals(h)) return d.path();
        }
        throw new IllegalArgumentException("not a hierarchy of this group: " + h);
    }

    /**
     * Writes the limits. The memory+swap limit (v1) or a swap limit of 0 (v2) keeps the guest
     * from escaping the memory limit into swap. In v1 it may never be below the memory limit, so
     * it is written in the order that keeps it above (second in a fresh group), one page above it: a charge is tried against memory+swap first, and
     * kernels since 6.16 count no failures of that counter, so with equal limits every refused
     * charge would go uncounted ({@code memory.failcnt} stuck at 0); one page higher, the memory
     * counter refuses first and counts.
     */
    void setLimits(Quota quota) throws CgroupException {
        long quotaMicros = quota.quotaMicros(Cgroups.PERIOD_MICROS);
        if (cpu.unified()) {
            CgroupFiles.write(cpu.file("cpu.max"), quotaMicros + " " + Cgroups.PERIOD_MICROS);
        } else {
            CgroupFiles.write(cpu.file("cpu.cfs_period_us"), Long.toString(Cgroups.PERIOD_MICROS));
            CgroupFiles.write(cpu.file("cpu.cfs_quota_us"), Long.toString(quotaMicros));
        }
        String bytes = Long.toString(quota.memory().bytes());
        if (memory.unified()) {
            CgroupFiles.write(memory.file("memory.max"), bytes);
            if (Files.exists(memory.file("memory.swap.max"))) CgroupFiles.write(memory.file("memory.swap.max"), "0");
        } else {
            Path memsw = memory.file("memory.memsw.limit_in_bytes");
            // absent when the kernel does not account swap (swapaccount=0)
            if (!Files.exists(memsw)) {
                CgroupFiles.write(memory.file("memory.limit_in_bytes"), bytes);
                return;
            }
            long memswBytes = Math.addExact(quota.memory().bytes(), MEMSW_MARGIN);
            // The memory limit may never exceed memory+swap's: a limit raised (a standby's group
            // given a VM's quota) raises memory+swap first, one lowered lowers it second.
            if (memswBytes > CgroupFiles.readLong(memsw)) {
                CgroupFiles.write(memsw, Long.toString(memswBytes));
                CgroupFiles.write(memory.file("memory.limit_in_bytes"), bytes);
            } else {
                CgroupFiles.write(memory.file("memory.limit_in_bytes"), bytes);
                CgroupFiles.write(memsw, Long.toString(memswBytes));
            }
        }
    }

    @Override
    public void limit(Quota quota) throws CgroupException {
        quota.checkCpus(hostCpus);
        setLimits(quota);
    }

    @Override
    public void weigh(CpuWeight weight) throws CgroupException {
        if (cpu.unified()) {
            CgroupFiles.write(cpu.file("cpu.weight"), Long.toString(weight.weight));
        } else {
            CgroupFiles.write(cpu.file("cpu.shares"), Long.toString(weight.shares));
        }
    }

    @Override
    public Optional<CpuWeight> weight() throws CgroupException {
        long held = CgroupFiles.readLong(cpu.file(cpu.unified() ? "cpu.weight" : "cpu.shares"));
        for (CpuWeight w : CpuWeight.values()) {
            if ((cpu.unified() ? w.weight : w.shares) == held) return Optional.of(w);
        }
        return Optional.empty();
    }

    @Override
    public VmCgroup rename(String newId) throws CgroupException {
        Cgroups.checkVmId(newId);
        KernelCgroup renamed = new KernelCgroup(newId, sibling(cpu, newId), sibling(cpuAccounting, newId), sibling(memory, newId), hostCpus);
        for (Path dir : renamed.paths()) {
            if (Files.exists(dir)) throw new CgroupException("a group for VM " + newId + " already exists: " + dir);
        }
        List<Path> from = paths();
        List<Path> to = renamed.paths();
        for (int i = 0; i < from.size(); i++) {
            try {
                Files.move(from.get(i), to.get(i)); // rename(2): v1's cgroupfs renames a group within its parent
            } catch (IOException e) {
                CgroupException failed = new CgroupException("cannot rename " + from.get(i) + " to " + to.get(i).getFileName() + ": "
                        + CgroupFiles.reason(e) + (cpu.unified() || memory.unified() ? " (the unified hierarchy renames no group)" : ""), e);
                for (int j = i - 1; j >= 0; j--) {
                    try {
                        Files.move(to.get(j), from.get(j));
                    } catch (IOException back) {
                        failed.addSuppressed(back);
                    }
                }
                throw failed;
            }
        }
        return renamed;
    }

    private static Dir sibling(Dir dir, String name) {
        return new Dir(dir.hierarchy(), dir.path().resolveSibling(name));
    }

    @Override
    public void attach(long pid) throws CgroupException {
        if (pid <= 0) throw new IllegalArgumentException("pid: " + pid + " is not a process id");
        for (Path dir : paths()) {
            // cgroup.procs moves the whole thread group; tasks would move one thread
            CgroupFiles.write(dir.resolve("cgroup.procs"), Long.toString(pid));
        }
    }

    @Override
    public Quota limits() throws CgroupException {
        double cpus;
        if (cpu.unified()) {
            String[] max = CgroupFiles.read(cpu.file("cpu.max")).strip().split(" ");
            if (max.length != 2 || max[0].equals("max")) throw new CgroupException(cpu.file("cpu.max") + ": no CPU limit set");
            cpus = (double) CgroupFiles.parse(cpu.file("cpu.max"), max[0]) / CgroupFiles.parse(cpu.file("cpu.max"), max[1]);
        } else {
            long quota = CgroupFiles.readLong(cpu.file("cpu.cfs_quota_us"));
            if (quota < 0) throw new CgroupException(cpu.file("cpu.cfs_quota_us") + ": no CPU limit set");
            cpus = (double) quota / CgroupFiles.readLong(cpu.file("cpu.cfs_period_us"));
        }
        Path limitFile = memory.file(memory.unified() ? "memory.max" : "memory.limit_in_bytes");
        String limit = CgroupFiles.read(limitFile).strip();
        if (limit.equals("max")) throw new CgroupException(limitFile + ": no memory limit set");
        return new Quota(cpus, new ByteSize(CgroupFiles.parse(limitFile, limit)));
    }

    @Override
    public CgroupUsage usage() throws CgroupException {
        Duration cpuTime = cpuAccounting.unified()
                ? Duration.ofNanos(Math.multiplyExact(CgroupFiles.readKey(cpuAccounting.file("cpu.stat"), "usage_usec"), 1000L))
                : Duration.ofNanos(CgroupFiles.readLong(cpuAccounting.file("cpuacct.usage")));
        long throttled = CgroupFiles.readKey(cpu.file("cpu.stat"), "nr_throttled");
        if (memory.unified()) {
            Optional<ByteSize> peak = Files.exists(memory.file("memory.peak"))
                    ? Optional.of(new ByteSize(CgroupFiles.readLong(memory.file("memory.peak"))))
                    : Optional.empty();
            return new CgroupUsage(cpuTime, throttled, new ByteSize(CgroupFiles.readLong(memory.file("memory.current"))), peak,
                    CgroupFiles.readKey(memory.file("memory.events"), "max"), CgroupFiles.readKey(memory.file("memory.events"), "oom_kill"));
        }
        return new CgroupUsage(cpuTime, throttled, new ByteSize(CgroupFiles.readLong(memory.file("memory.usage_in_bytes"))),
                Optional.of(new ByteSize(CgroupFiles.readLong(memory.file("memory.max_usage_in_bytes")))),
                limitHitsV1(), CgroupFiles.readKey(memory.file("memory.oom_control"), "oom_kill"));
    }

    /** Older kernels count a charge refused by the memory+swap counter there, not in {@code memory.failcnt}. */
    private long limitHitsV1() throws CgroupException {
        long hits = CgroupFiles.readLong(memory.file("memory.failcnt"));
        Path memsw = memory.file("memory.memsw.failcnt");
        return Files.exists(memsw) ? Math.addExact(hits, CgroupFiles.readLong(memsw)) : hits;
    }

    @Override
    public List<Long> pids() throws CgroupException {
        Set<Long> pids = new LinkedHashSet<>();
        for (Path dir : paths()) {
            if (Files.isDirectory(dir)) pids.addAll(CgroupFiles.pids(dir.resolve("cgroup.procs")));
        }
        return List.copyOf(pids);
    }

    @Override
    public void remove() throws CgroupException {
        long deadline = System.nanoTime() + EXIT_GRACE_NANOS;
        awaitLeaving(deadline);
        for (Path dir : paths()) {
            while (true) {
                try {
                    Files.delete(dir); // rmdir: a group's control files are not files to delete
                    break;
                } catch (NoSuchFileException gone) {
                    break;
                } catch (FileSystemException e) {
                    // EBUSY: a process that has just exited is still leaving the group
                    awaitLeaving(deadline);
                    if (System.nanoTime() - deadline > 0) {
                        throw new CgroupException("cannot remove " + dir + ": " + CgroupFiles.reason(e)
                                + " (no process inside for " + TimeUnit.NANOSECONDS.toSeconds(EXIT_GRACE_NANOS) + " s)", e);
                    }
                    sleepBriefly();
                } catch (IOException e) {
                    throw new CgroupException("cannot remove " + dir + ": " + CgroupFiles.reason(e), e);
                }
            }
        }
    }

    /**
     * Waits until no process is listed in the group, for at most {@code deadline}, as long as every
     * one listed is leaving: a process whose leader has exited (a zombie, or gone) can stay listed
     * while its other threads still exit, and a caller that saw its end removes the group then.
     * A process that is not leaving is refused at once.
     */
    private void awaitLeaving(long deadline) throws CgroupException {
        while (true) {
            List<Long> inside = pids();
            if (inside.isEmpty()) return;
            if (System.nanoTime() - deadline > 0 || !inside.stream().allMatch(KernelCgroup::leaving)) throw busy(inside);
            sleepBriefly();
        }
    }

    private CgroupBusyException busy(List<Long> inside) {
        return new CgroupBusyException("cannot remove the group of VM " + vmId + ": processes still inside ("
                + inside.stream().map(String::valueOf).collect(Collectors.joining(", ")) + "); stop them first", inside);
    }

    private static boolean leaving(long pid) {
        try {
            return leaving(Files.readString(Path.of("/proc", Long.toString(pid), "stat")));
        } catch (IOException e) {
            return true; // gone already
        }
    }

    /** The kernel's flag on a task that has begun to exit ({@code PF_EXITING}, include/linux/sched.h). */
    private static final long PF_EXITING = 0x4;

    /**
     * Whether the process that {@code stat} ({@code /proc/PID/stat}) describes is exiting: its
     * leader a zombie or dead, or marked as exiting. The fields after the command name (which may
     * hold spaces and parentheses) are the state, then ppid, pgrp, session, tty, tpgid, flags.
     */
    static boolean leaving(String stat) {
        int close = stat.lastIndexOf(')');
        if (close < 0) return false;
        String[] fields = stat.substring(close + 1).trim().split(" ");
        if (fields.length < 7) return false;
        char state = fields[0].isEmpty() ? '?' : fields[0].charAt(0);
        if (state == 'Z' || state == 'X') return true;
        try {
            return (Long.parseUnsignedLong(fields[6]) & PF_EXITING) != 0;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    private static void sleepBriefly() throws CgroupException {
        try {
            Thread.sleep(20);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CgroupException("interrupted while removing a group", e);
        }
    }
}
