package io.aether.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.cgroups.CgroupBusyException;
import io.aether.cgroups.CgroupLayout;
import io.aether.cgroups.CgroupUsage;
import io.aether.cgroups.Cgroups;
import io.aether.cgroups.Hierarchy;
import io.aether.cgroups.Quota;
import io.aether.cgroups.VmCgroup;
import io.aether.common.ByteSize;
import io.aether.monitorapi.MonitorClient;
import io.aether.monitorapi.VmState;
import io.aether.testkit.Prerequisites;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real monitor process, {@code aether vm monitor} with the counting stub guest (it prints
 * without pause, so it burns CPU), held to a quota by the kernel and checked from its group's
 * own accounting, as the node agent will run each VM.
 */
@Timeout(120)
class MonitorCgroupTest {

    private static final String TOP = "aether-test";
    private static final ByteSize GUEST_MEMORY = ByteSize.ofMiB(16);

    @TempDir
    Path dir;

    private CgroupLayout layout;
    private String parent;
    private Process monitor;

    @AfterEach
    void cleanUp() throws Exception {
        if (monitor != null) {
            monitor.destroyForcibly();
            monitor.waitFor(30, TimeUnit.SECONDS);
        }
        if (parent == null) return;
        Cgroups cgroups = Cgroups.under(layout, parent);
        for (String vmId : cgroups.vmIds()) cgroups.find(vmId).orElseThrow().remove();
        for (Path mount : layout.hierarchies().stream().map(h -> h.mount()).toList()) {
            Files.deleteIfExists(mount.resolve(parent));
            try {
                Files.deleteIfExists(mount.resolve(TOP));
            } catch (IOException busy) {
                // another run's parent is still inside
            }
        }
    }

    /** The monitor as the agent starts it: the JVM options of the {@code aether} launcher. */
    private Process startMonitor(Path spec, Path socket) throws IOException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.addAll(Files.readAllLines(Path.of("../dev/monitor.jvmargs")));
        command.addAll(List.of("--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "vm", "monitor", "--spec", spec.toString(), "--socket", socket.toString()));
        return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(dir.resolve("monitor.out").toFile()).start();
    }

    /**
     * A hundred times the default scheduling weight for the group and its parents: on a machine busy
     * with other work the guest then gets as much CPU as its quota allows, and the test measures
     * the quota rather than the contention. A test's knob only: Aether leaves weights alone.
     */
    private void favour(VmCgroup group) throws IOException {
        Hierarchy cpu = ((CgroupLayout.Placement.Usable) layout.cpu()).hierarchy();
        Path path = cpu.mount();
        for (Path name : Path.of(parent, group.vmId())) {
            path = path.resolve(name);
            Files.writeString(path.resolve(cpu.unified() ? "cpu.weight" : "cpu.shares"), cpu.unified() ? "10000" : "102400", StandardOpenOption.WRITE);
        }
    }

    private static Set<String> threadsOf(long pid) throws IOException {
        try (Stream<Path> tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
            return tasks.map(p -> p.getFileName().toString()).collect(Collectors.toSet());
        }
    }

    @Test
    void aStubGuestsMonitorIsHeldToItsQuotaAndAccountedInItsGroup() throws Exception {
        VmRunCommandTest.requireKvm();
        layout = CgroupLayout.detect();
        Prerequisites.require(layout.usable(), "cgroup quotas need root and the cpu, cpuacct and memory controllers: "
                + String.join("; ", layout.problems()));
        parent = TOP + "/cli" + ThreadLocalRandom.current().nextInt(1 << 30);
        Cgroups cgroups = Cgroups.under(layout, parent);
        Quota quota = new Quota(0.5, new ByteSize(GUEST_MEMORY.bytes() + Quota.MONITOR_OVERHEAD.bytes()))
                .checkFits(Runtime.getRuntime().availableProcessors(), GUEST_MEMORY);
        VmCgroup group = cgroups.create("stub-count", quota);

        Path socket = dir.resolve("vm.sock");
        Path spec = Files.writeString(dir.resolve("spec.json"), "{\"boot\": {\"stub\": \"count\"}, \"memory\": \"" + GUEST_MEMORY + "\"}");
        favour(group);
        monitor = startMonitor(spec, socket);
        group.attach(monitor.pid());
        MonitorClient client = VmMonitorTest.awaitMonitor(socket);
        assertEquals(monitor.pid(), client.state().pid());

        // cgroup.procs moved the whole process: every thread the JVM has now is in the group. The
        // threads are listed before the group, so a thread started in between (and born in the
        // group) cannot count as outside; one that ended in between is left out.
        Path cpuDir = group.paths().getFirst();
        Set<String> threads = threadsOf(monitor.pid());
        Set<String> inGroup = Set.copyOf(Files.readAllLines(cpuDir.resolve(layout.cpu() instanceof CgroupLayout.Placement.Usable(var h)
                && h.unified() ? "cgroup.threads" : "tasks")));
        Set<String> outside = new HashSet<>(threads);
        outside.removeAll(inGroup);
        outside.retainAll(threadsOf(monitor.pid()));
        assertTrue(outside.isEmpty(), "threads outside the group: " + outside + " (group: " + inGroup + ")");

        long consoleBefore = VmMonitorTest.awaitConsoleGrowth(client, 0, 1000);
        CgroupUsage before = group.usage();
        long start = System.nanoTime();
        Thread.sleep(3000);
        CgroupUsage after = group.usage();
        double cpus = (double) after.cpuTime().minus(before.cpuTime()).toNanos() / (System.nanoTime() - start);
        long printed = VmMonitorTest.consoleBytes(client) - consoleBefore;
        System.out.printf("stub count guest, 16M, quota %s CPU / %s: %.3f CPU over 3 s, %d periods throttled, console +%d bytes,"
                + " memory %s now, peak %s, %d limit hits%n", quota.cpus(), quota.memory(), cpus, after.throttledPeriods() - before.throttledPeriods(),
                printed, after.memory(), after.memoryPeak().orElseThrow(), after.memoryLimitHits());
        assertTrue(cpus <= 0.55, "a 0.5 CPU quota let the monitor use " + cpus + " CPU");
        assertTrue(after.throttledPeriods() > before.throttledPeriods(), "the monitor never ran out of quota");
        // Progress, not a rate: emulated (the nested test host), half a CPU prints about 1000 bytes in 3 s.
        assertTrue(printed > 100, "the guest printed " + printed + " bytes in 3 s under its quota");
        assertTrue(after.memory().bytes() > GUEST_MEMORY.bytes() / 2, "the monitor's memory is charged to its group: " + after.memory());
        assertTrue(after.memoryPeak().orElseThrow().bytes() <= quota.memory().bytes());
        assertEquals(0, after.oomKills());
        assertEquals(VmState.RUNNING, client.state().state(), "the monitor runs within its memory limit");

        CgroupBusyException busy = assertThrows(CgroupBusyException.class, group::remove);
        assertEquals(List.of(monitor.pid()), NodeQuotaTest.processesIn(busy.pids()), busy.getMessage());

        assertEquals(VmState.STOPPED, client.stop(false, Duration.ZERO).state());
        assertTrue(monitor.waitFor(30, TimeUnit.SECONDS), "the monitor exits once its VM stopped");
        group.remove();
        for (Path path : group.paths()) assertFalse(Files.exists(path), path + " is left");
    }
}
