package io.aether.cgroups;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.cgroups.CgroupLayout.Placement;
import io.aether.common.ByteSize;
import io.aether.common.FieldException;
import io.aether.testkit.Prerequisites;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * VM groups on this machine's kernel (root needed): limits the kernel enforces, read back from
 * the groups' own accounting. Each run works under its own parent, removed at the end.
 */
@Timeout(60)
class KernelCgroupTest {

    private static final String TOP = "aether-test";

    private CgroupLayout layout;
    private String parent;
    private Cgroups cgroups;
    private final List<Process> started = new ArrayList<>();

    @TempDir
    Path temp;

    @BeforeEach
    void requireUsableCgroups() throws CgroupException {
        layout = CgroupLayout.detect();
        Prerequisites.require(layout.usable(), "cgroup quotas need root and the cpu, cpuacct and memory controllers: "
                + String.join("; ", layout.problems()));
        parent = TOP + "/run" + ThreadLocalRandom.current().nextInt(1 << 30);
        cgroups = Cgroups.under(layout, parent);
    }

    @AfterEach
    void removeEverythingMadeHere() throws Exception {
        for (Process p : started) {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
        if (cgroups == null) return;
        for (String vmId : cgroups.vmIds()) cgroups.find(vmId).orElseThrow().remove();
        for (Hierarchy h : layout.hierarchies()) {
            Files.deleteIfExists(h.mount().resolve(parent));
            try {
                Files.deleteIfExists(h.mount().resolve(TOP));
            } catch (IOException busy) {
                // another run's parent is still inside
            }
        }
    }

    private Process start(String... command) throws IOException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(temp.resolve("out" + started.size()).toFile()).start();
        started.add(p);
        return p;
    }

    /** The CPUs a group's processes used per second of wall time over {@code seconds}, from its own accounting. */
    private record Rate(double cpus, CgroupUsage last) {
    }

    private static List<Rate> cpuRates(List<VmCgroup> groups, long millis) throws Exception {
        List<CgroupUsage> before = new ArrayList<>();
        for (VmCgroup g : groups) before.add(g.usage());
        long start = System.nanoTime();
        Thread.sleep(millis);
        List<CgroupUsage> after = new ArrayList<>();
        for (VmCgroup g : groups) after.add(g.usage());
        long wall = System.nanoTime() - start;
        List<Rate> rates = new ArrayList<>();
        for (int i = 0; i < groups.size(); i++) {
            rates.add(new Rate((double) after.get(i).cpuTime().minus(before.get(i).cpuTime()).toNanos() / wall, after.get(i)));
        }
        return rates;
    }

    /**
     * Gives the group and its parents a hundred times the default scheduling weight, so that the
     * loops get a CPU each on a machine busy with other work and the test measures the quota,
     * not the contention. A test's knob only: Aether leaves weights alone.
     */
    private void favour(VmCgroup group) throws IOException {
        Hierarchy cpu = ((Placement.Usable) layout.cpu()).hierarchy();
        Path dir = cpu.mount();
        for (Path name : Path.of(parent, group.vmId())) {
            dir = dir.resolve(name);
            if (cpu.unified()) {
                Files.writeString(dir.resolve("cpu.weight"), "10000", StandardOpenOption.WRITE);
            } else {
                Files.writeString(dir.resolve("cpu.shares"), "102400", StandardOpenOption.WRITE);
            }
        }
    }

    @Test
    void aGroupOfTheLowestWeightRunsOnWhatItsBusySiblingLeaves() throws Exception {
        Quota anyCpu = new Quota(Runtime.getRuntime().availableProcessors(), ByteSize.ofMiB(64));
        VmCgroup low = cgroups.create("low", anyCpu);
        VmCgroup normal = cgroups.create("normal", anyCpu);
        assertEquals(Optional.of(CpuWeight.NORMAL), low.weight(), "a new group's weight is the kernel's default");
        low.weigh(CpuWeight.LOWEST);
        Path cpuDir = ((Placement.Usable) layout.cpu()).hierarchy().mount().resolve(parent).resolve("low");
        boolean unified = ((Placement.Usable) layout.cpu()).hierarchy().unified();
        assertEquals(unified ? "1" : "2", Files.readString(cpuDir.resolve(unified ? "cpu.weight" : "cpu.shares")).strip(),
                "the kernel's lowest weight (cgroup-v2.rst: cpu.weight 1 to 10000; v1's cpu.shares at least 2)");
        assertEquals(Optional.of(CpuWeight.LOWEST), low.weight());

        // Two loops on the same CPU: the kernel shares it between the groups by their weights.
        Process starved = start("taskset", "-c", "0", "sh", "-c", "while :; do :; done");
        Process favoured = start("taskset", "-c", "0", "sh", "-c", "while :; do :; done");
        low.attach(starved.pid());
        normal.attach(favoured.pid());
        List<Rate> rates = cpuRates(List.of(low, normal), 2000);
        System.out.printf("two loops on CPU 0 over 2 s: %.4f CPU at the lowest weight, %.4f at the default%n",
                rates.get(0).cpus(), rates.get(1).cpus());
        assertTrue(rates.get(1).cpus() >= 0.05, "the loop at the default weight barely ran: " + rates.get(1).cpus());
        assertTrue(rates.get(0).cpus() <= rates.get(1).cpus() / 20, "the loop at the lowest weight took " + rates.get(0).cpus()
                + " CPU against " + rates.get(1).cpus());

        // A renamed group keeps its weight; the default weight is written back as the kernel's.
        VmCgroup renamed = low.rename("renamed");
        assertEquals(Optional.of(CpuWeight.LOWEST), renamed.weight());
        renamed.weigh(CpuWeight.NORMAL);
        assertEquals(unified ? "100" : "1024",
                Files.readString(cpuDir.resolveSibling("renamed").resolve(unified ? "cpu.weight" : "cpu.shares")).strip());
    }

    @Test
    void aBusyLoopIsHeldToItsCpuShareAndAnUnlimitedOneGetsAWholeCpu() throws Exception {
        VmCgroup limited = cgroups.create("limited", new Quota(0.2, ByteSize.ofMiB(64)));
        VmCgroup unlimited = cgroups.create("unlimited", new Quota(Runtime.getRuntime().availableProcessors(), ByteSize.ofMiB(64)));
        favour(limited);
        favour(unlimited);
        Process slow = start("sh", "-c", "while :; do :; done");
        Process fast = start("sh", "-c", "while :; do :; done");
        limited.attach(slow.pid());
        unlimited.attach(fast.pid());
        assertEquals(List.of(slow.pid()), limited.pids());

        List<Rate> rates = cpuRates(List.of(limited, unlimited), 3000);
        System.out.printf("busy loop over 3 s: %.3f CPU at a 0.2 CPU quota (%d periods throttled), %.3f CPU unlimited%n",
                rates.get(0).cpus(), rates.get(0).last().throttledPeriods(), rates.get(1).cpus());
        assertTrue(rates.get(0).cpus() <= 0.25, "a 0.2 CPU quota let the loop use " + rates.get(0).cpus() + " CPU");
        assertTrue(rates.get(0).cpus() >= 0.1, "the limited loop barely ran: " + rates.get(0).cpus() + " CPU");
        assertTrue(rates.get(0).last().throttledPeriods() > 0, "the limited loop was never throttled");
        assertTrue(rates.get(1).cpus() >= 0.6, "an unlimited loop should use about one CPU, used " + rates.get(1).cpus());
        assertEquals(0, rates.get(1).last().throttledPeriods());

        // The group's accounting is the process's own CPU time, as /proc/PID/stat reports it.
        Duration ownTime = slow.toHandle().info().totalCpuDuration().orElseThrow();
        Duration groupTime = limited.usage().cpuTime();
        assertTrue(Math.abs(ownTime.minus(groupTime).toMillis()) <= 50 + groupTime.toMillis() / 10,
                "the group counted " + groupTime + ", the process " + ownTime);
    }

    @Test
    void aMemoryHungryProcessIsKilledAtItsLimit() throws Exception {
        VmCgroup group = cgroups.create("hungry", new Quota(1, ByteSize.ofMiB(64)));
        // dd fills a 256 MiB buffer from /dev/zero; it waits for a line so that it starts inside the group
        Process dd = start("sh", "-c", "read go; exec dd if=/dev/zero of=/dev/null bs=256M count=1");
        group.attach(dd.pid());
        try (OutputStream go = dd.getOutputStream()) {
            go.write('\n');
        }
        assertTrue(dd.waitFor(30, TimeUnit.SECONDS), "dd still runs in a 64 MiB group");
        CgroupUsage usage = group.usage();
        System.out.printf("dd for 256 MiB in a 64 MiB group: exit %d, peak %s, %d limit hits, %d OOM kills%n",
                dd.exitValue(), usage.memoryPeak().orElseThrow(), usage.memoryLimitHits(), usage.oomKills());
        assertEquals(128 + 9, dd.exitValue(), "killed by SIGKILL: " + Files.readString(temp.resolve("out0")));
        assertEquals(1, usage.oomKills());
        assertTrue(usage.memoryLimitHits() > 0);
        assertTrue(usage.memoryPeak().orElseThrow().bytes() <= ByteSize.ofMiB(64).bytes(), "peak " + usage.memoryPeak());
        assertTrue(usage.memoryPeak().orElseThrow().bytes() >= ByteSize.ofMiB(60).bytes(), "dd never reached the limit: " + usage.memoryPeak());
    }

    @Test
    void theKernelHoldsTheLimitsAsWrittenAndGivesThemBack() throws Exception {
        VmCgroup group = cgroups.create("limits", new Quota(0.25, ByteSize.ofMiB(100)));
        Placement.Usable cpu = (Placement.Usable) layout.cpu();
        Placement.Usable memory = (Placement.Usable) layout.memory();
        Path cpuDir = cpu.hierarchy().mount().resolve(parent).resolve("limits");
        Path memoryDir = memory.hierarchy().mount().resolve(parent).resolve("limits");
        assertTrue(group.paths().containsAll(List.of(cpuDir, memoryDir)), group.paths().toString());
        if (cpu.hierarchy().unified()) {
            assertEquals("25000 100000", Files.readString(cpuDir.resolve("cpu.max")).strip());
        } else {
            assertEquals("25000", Files.readString(cpuDir.resolve("cpu.cfs_quota_us")).strip());
            assertEquals("100000", Files.readString(cpuDir.resolve("cpu.cfs_period_us")).strip());
        }
        if (memory.hierarchy().unified()) {
            assertEquals("104857600", Files.readString(memoryDir.resolve("memory.max")).strip());
        } else {
            assertEquals("104857600", Files.readString(memoryDir.resolve("memory.limit_in_bytes")).strip());
            Path memsw = memoryDir.resolve("memory.memsw.limit_in_bytes");
            if (Files.exists(memsw)) assertEquals("104861696", Files.readString(memsw).strip(), "no swap beyond the limit but a page");
        }
        assertEquals(new Quota(0.25, ByteSize.ofMiB(100)), group.limits());
        CgroupUsage fresh = group.usage();
        assertEquals(new CgroupUsage(Duration.ZERO, 0, new ByteSize(0), fresh.memoryPeak(), 0, 0), fresh, "a new group has used nothing");

        assertEquals(List.of("limits"), cgroups.vmIds());
        assertEquals(group.paths(), cgroups.find("limits").orElseThrow().paths());
        assertEquals(Optional.empty(), cgroups.find("other"));
    }

    @Test
    void removalWaitsForTheProcessToLeaveAndNamesItUntilThen() throws Exception {
        VmCgroup group = cgroups.create("busy", new Quota(0.5, ByteSize.ofMiB(64)));
        Process sleeper = start("sleep", "60");
        group.attach(sleeper.pid());
        CgroupBusyException busy = assertThrows(CgroupBusyException.class, group::remove);
        assertEquals(List.of(sleeper.pid()), busy.pids());
        assertEquals("cannot remove the group of VM busy: processes still inside (" + sleeper.pid() + "); stop them first", busy.getMessage());
        for (Path dir : group.paths()) assertTrue(Files.isDirectory(dir), "a refused removal removes nothing: " + dir);

        sleeper.destroyForcibly();
        assertTrue(sleeper.waitFor(10, TimeUnit.SECONDS));
        group.remove();
        for (Path dir : group.paths()) assertFalse(Files.exists(dir), dir + " is left");
        group.remove(); // a group already gone is fine
        assertEquals(List.of(), cgroups.vmIds());
    }

    @Test
    void aProcessIsLeavingWhenItsLeaderIsAZombieOrDeadOrMarkedExiting() {
        // /proc/PID/stat: pid (comm) state ppid pgrp session tty tpgid flags ...; PF_EXITING is 0x4.
        assertTrue(KernelCgroup.leaving("42 (java) Z 1 42 42 0 -1 4194316 0 0"));
        assertTrue(KernelCgroup.leaving("42 (java) X 1 42 42 0 -1 4194304 0 0"));
        assertTrue(KernelCgroup.leaving("42 (a) b) (c) R 1 42 42 0 -1 4194308 0 0"), "the command may hold ') '");
        assertFalse(KernelCgroup.leaving("42 (java) S 1 42 42 0 -1 4194560 0 0"), "0x400100: no PF_EXITING");
        assertFalse(KernelCgroup.leaving("42 (java) R 1 42 42 0 -1 4194304 0 0"));
        assertFalse(KernelCgroup.leaving("garbage"));
    }

    /** The group a process is in, per hierarchy, as the kernel lists it in /proc/PID/cgroup (independent of this module's files). */
    private static List<String> membership(long pid) throws IOException {
        return Files.readAllLines(Path.of("/proc", Long.toString(pid), "cgroup"));
    }

    @Test
    void aRenamedGroupKeepsItsProcessAndItsChargesAndTakesNewLimits() throws Exception {
        Prerequisites.require(!layout.hierarchies().stream().allMatch(Hierarchy::unified), "the unified hierarchy renames no group");
        VmCgroup held = cgroups.create("_standby-1", new Quota(1, ByteSize.ofMiB(96)));
        Process sleeper = start("sleep", "60");
        held.attach(sleeper.pid());
        long charged = held.usage().memory().bytes();

        VmCgroup vm = held.rename("vm7");
        vm.limit(new Quota(0.5, ByteSize.ofMiB(200)));
        assertEquals(List.of("vm7"), cgroups.vmIds());
        assertEquals(List.of(sleeper.pid()), vm.pids(), "the process moved with its group");
        int checked = 0;
        for (String line : membership(sleeper.pid())) {
            List<String> controllers = List.of(line.split(":", 3)[1].split(","));
            if (controllers.stream().anyMatch(Set.of("cpu", "cpuacct", "memory")::contains)) {
                assertTrue(line.endsWith("/" + parent + "/vm7"), line);
                checked++;
            }
        }
        assertTrue(checked > 0, "no v1 line of cpu, cpuacct or memory in /proc/PID/cgroup");
        assertEquals(new Quota(0.5, ByteSize.ofMiB(200)), vm.limits());
        assertTrue(vm.usage().memory().bytes() >= charged, "its charges stay with it: " + vm.usage() + " < " + charged);
        for (Path dir : held.paths()) assertFalse(Files.exists(dir), dir + " is left");

        VmCgroup other = cgroups.create("_standby-2", new Quota(1, ByteSize.ofMiB(96)));
        CgroupException taken = assertThrows(CgroupException.class, () -> other.rename("vm7"));
        assertEquals("a group for VM vm7 already exists: " + vm.paths().getFirst(), taken.getMessage());
        assertEquals(List.of("_standby-2", "vm7"), cgroups.vmIds(), "a refused rename renames nothing");
        assertThrows(IllegalArgumentException.class, () -> other.rename("../escape"));
        int hostCpus = Runtime.getRuntime().availableProcessors();
        assertThrows(FieldException.class, () -> other.limit(new Quota(hostCpus + 1, ByteSize.ofMiB(64))));
        assertEquals(new Quota(1, ByteSize.ofMiB(96)), other.limits(), "a refused quota changes nothing");
    }

    @Test
    void aProcessThatIsGoneCannotBeAttached() throws Exception {
        VmCgroup group = cgroups.create("gone", new Quota(0.5, ByteSize.ofMiB(64)));
        Process p = start("true");
        assertTrue(p.waitFor(10, TimeUnit.SECONDS));
        CgroupException e = assertThrows(CgroupException.class, () -> group.attach(p.pid()));
        assertEquals("cannot write '" + p.pid() + "' to " + group.paths().getFirst().resolve("cgroup.procs") + ": No such process", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> group.attach(0));
    }

    @Test
    void badRequestsAreRefusedAndChangeNothing() throws Exception {
        VmCgroup first = cgroups.create("vm1", new Quota(0.5, ByteSize.ofMiB(64)));
        CgroupException again = assertThrows(CgroupException.class, () -> cgroups.create("vm1", new Quota(1, ByteSize.ofMiB(128))));
        assertEquals("a group for VM vm1 already exists: " + first.paths().getFirst(), again.getMessage());
        assertEquals(new Quota(0.5, ByteSize.ofMiB(64)), first.limits(), "the existing group keeps its limits");

        IllegalArgumentException badId = assertThrows(IllegalArgumentException.class, () -> cgroups.create("../escape", new Quota(1, ByteSize.ofMiB(64))));
        assertEquals("vmId: '../escape' cannot name a cgroup (1 to 64 of A-Z a-z 0-9 . _ -, not starting with . or -)", badId.getMessage());
        int hostCpus = Runtime.getRuntime().availableProcessors();
        FieldException tooMany = assertThrows(FieldException.class, () -> cgroups.create("vm2", new Quota(hostCpus + 1, ByteSize.ofMiB(64))));
        assertEquals("cpus: " + (hostCpus + 1) + " is more than this host's " + hostCpus + " CPUs", tooMany.getMessage());
        assertEquals(List.of("vm1"), cgroups.vmIds());
        assertThrows(IllegalArgumentException.class, () -> Cgroups.under(layout, "../x"));
        assertThrows(IllegalArgumentException.class, () -> Cgroups.under(layout, "/abs"));
    }

    @Test
    void aCreateThatFailsHalfWayLeavesNothingBehind() throws Exception {
        // A memory "hierarchy" that is a plain directory: the cpu group is made on the kernel, then
        // the memory limit cannot be written, and everything made must go again.
        Path fakeMemory = Files.createDirectory(temp.resolve("memory"));
        CgroupLayout halfFake = new CgroupLayout(layout.mode(), layout.cpu(), layout.cpuAccounting(),
                new Placement.Usable(new Hierarchy(fakeMemory, false, Set.of("memory"), false)));
        Cgroups broken = Cgroups.under(halfFake, parent);
        CgroupException e = assertThrows(CgroupException.class, () -> broken.create("half", new Quota(0.5, ByteSize.ofMiB(64))));
        assertEquals("cannot write '67108864' to " + fakeMemory.resolve(parent).resolve("half/memory.limit_in_bytes") + ": no such file", e.getMessage());
        Path cpuMount = ((Placement.Usable) layout.cpu()).hierarchy().mount();
        assertFalse(Files.exists(cpuMount.resolve(parent)), "the cpu group and the parent made for it are removed");
        assertFalse(Files.exists(fakeMemory.resolve(TOP)), "the memory directories are removed");
        assertEquals(List.of(), broken.vmIds());
    }
}
