package io.aether.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.aether.agent.NodeAgent;
import io.aether.agentapi.AgentClient;
import io.aether.agentapi.NodeInfo;
import io.aether.agentapi.VmInfo;
import io.aether.cgroups.CgroupLayout;
import io.aether.cgroups.CgroupUsage;
import io.aether.cgroups.Cgroups;
import io.aether.cgroups.CpuWeight;
import io.aether.cgroups.Hierarchy;
import io.aether.cgroups.Quota;
import io.aether.cgroups.VmCgroup;
import io.aether.common.ByteSize;
import io.aether.http.ApiClient;
import io.aether.testkit.Prerequisites;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each VM's monitor held to its quota by the kernel through its own cgroup, as {@code aether node}
 * runs it: a real agent, real monitor processes, the counting stub guest (it burns a CPU),
 * measured from the group's own accounting.
 */
@Timeout(90)
class NodeQuotaTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TOP = "aether-test";

    @TempDir
    Path dir;

    private NodeAgent agent;
    private CgroupLayout layout;
    private String parent;

    @AfterEach
    void cleanUp() throws Exception {
        if (agent != null) agent.close();
        NodeAgentTest.killProcessesUnder(dir);
        if (parent == null) return;
        Thread.sleep(200);
        Cgroups cgroups = Cgroups.under(layout, parent);
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

    private ApiClient startAgent() throws IOException {
        return startAgent(0);
    }

    private ApiClient startAgent(int warmPool) throws IOException {
        agent = NodeAgent.start(NodeAgent.Options.defaults(dir.resolve("data")).withCgroupParent(parent).withWarmPool(warmPool));
        return ApiClient.unix(agent.socket(), Duration.ofSeconds(90));
    }

    private void requireCgroups() {
        VmRunCommandTest.requireKvm();
        layout = CgroupLayout.detect();
        Prerequisites.require(layout.usable(), "cgroup quotas need root and the cpu, cpuacct and memory controllers: "
                + String.join("; ", layout.problems()));
        parent = TOP + "/node" + ThreadLocalRandom.current().nextInt(1 << 30);
    }

    /** A test's knob only (Aether leaves weights alone): the group gets its quota on a busy machine, so the test measures the quota. */
    private void favour(String vmId) throws IOException {
        Hierarchy cpu = ((CgroupLayout.Placement.Usable) layout.cpu()).hierarchy();
        Path path = cpu.mount();
        for (Path name : Path.of(parent, vmId)) {
            path = path.resolve(name);
            Files.writeString(path.resolve(cpu.unified() ? "cpu.weight" : "cpu.shares"), cpu.unified() ? "10000" : "102400", StandardOpenOption.WRITE);
        }
    }

    /**
     * The processes in {@code group}, KVM's kernel threads for its VM left out: Linux before 6.13
     * gives every VM one ("kvm-nx-lpage-recovery", a child of kthreadd) and puts it in the groups of
     * the process that made the VM, so on such a host it is in the monitor's group beside it.
     */
    static List<Long> processesIn(VmCgroup group) throws Exception {
        return processesIn(group.pids());
    }

    static List<Long> processesIn(List<Long> pids) {
        return pids.stream().filter(pid -> !kvmKernelThread(pid)).toList();
    }

    private static boolean kvmKernelThread(long pid) {
        try {
            String name = Files.readString(Path.of("/proc", Long.toString(pid), "comm")).strip();
            return name.startsWith("kvm") && ProcessHandle.of(pid).flatMap(ProcessHandle::parent).map(ProcessHandle::pid).orElse(-1L) == 2;
        } catch (IOException ended) {
            return false;
        }
    }

    @Test
    void aCpuBurningGuestCreatedWithAFractionOfACpuIsHeldToItAndItsGroupFollowsTheVm() throws Exception {
        requireCgroups();
        ApiClient api = startAgent();
        AgentClient node = new AgentClient(api);
        NodeInfo.Capabilities capabilities = node.node().capabilities();
        assertTrue(capabilities.quotas(), capabilities.toString());
        assertTrue(capabilities.cgroups().startsWith(layout.describe()), capabilities.cgroups());

        ApiClient.Reply created = api.post("/v1/vms", JSON.readTree(
                "{\"id\": \"burner\", \"resources\": {\"cpus\": 0.3}, \"spec\": " + NodeAgentTest.COUNTER + "}"));
        assertEquals(201, created.status(), created.text());
        VmInfo vm = created.json(VmInfo.class);
        // 16M of guest RAM plus the monitor's 96M
        assertEquals(new VmInfo.Quota(0.3, 112L << 20, true), vm.quota());
        assertNull(vm.usage(), "a create's answer leaves the just-started VM's usage to a GET");

        Cgroups cgroups = Cgroups.under(layout, parent);
        VmCgroup group = cgroups.find("burner").orElseThrow();
        assertEquals(List.of(vm.pid()), processesIn(group), "the monitor, and only it, is in the VM's group");
        assertEquals(0.3, group.limits().cpus(), 1e-9);
        assertEquals(112L << 20, group.limits().memory().bytes());
        favour("burner");

        CgroupUsage before = group.usage();
        long start = System.nanoTime();
        Thread.sleep(3000);
        CgroupUsage after = group.usage();
        double cpus = (double) after.cpuTime().minus(before.cpuTime()).toNanos() / (System.nanoTime() - start);
        System.out.printf("count stub guest through the API, quota 0.3 CPU: %.3f CPU over 3 s, %d periods throttled%n",
                cpus, after.throttledPeriods() - before.throttledPeriods());
        assertTrue(cpus <= 0.35, "a 0.3 CPU quota let the monitor use " + cpus + " CPU");
        assertTrue(after.throttledPeriods() > before.throttledPeriods(), "the monitor never ran out of its quota");

        VmInfo.Usage shown = node.get("burner").usage();
        assertNotNull(shown, "the VM's info shows its group's accounting");
        assertTrue(shown.cpuSeconds() >= after.cpuTime().toNanos() / 1e9, shown + " vs " + after);
        assertTrue(shown.throttledPeriods() >= after.throttledPeriods(), shown + " vs " + after);

        // A restarted agent finds the group again with the monitor it re-adopts.
        agent.close();
        api = startAgent();
        node = new AgentClient(api);
        VmInfo adopted = node.get("burner");
        assertEquals("running", adopted.state());
        assertNotNull(adopted.usage(), "the re-adopted VM's group is found again");
        assertTrue(adopted.usage().cpuSeconds() >= shown.cpuSeconds());

        node.delete("burner", true);
        for (Path path : group.paths()) assertFalse(Files.exists(path), path + " is left after the VM was deleted");
    }

    /** The groups of the standby monitors under the test's parent. */
    private List<String> standbyGroups() throws Exception {
        return Cgroups.under(layout, parent).vmIds().stream().filter(id -> id.startsWith("_standby-")).toList();
    }

    /** Polls until the pool has {@code ready} standbys and as many standby groups, for at most 60 s (each standby is a JVM starting). */
    private List<String> awaitStandbys(AgentClient node, int ready) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (node.node().pool().ready() != ready || standbyGroups().size() != ready) {
            assertTrue(System.nanoTime() < deadline, "the pool never had " + ready + " standbys in their groups: " + node.node().pool()
                    + ", " + standbyGroups());
            Thread.sleep(50);
        }
        return standbyGroups();
    }

    /**
     * Asserts that the kernel lists process {@code pid} in group {@code name} under the test's
     * parent for CPU and memory, as /proc/PID/cgroup says (read here, not through the cgroups module).
     */
    private void assertIn(long pid, String name) throws IOException {
        int checked = 0;
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "cgroup"))) {
            String[] fields = line.split(":", 3);
            List<String> controllers = List.of(fields[1].split(","));
            boolean used = controllers.stream().anyMatch(List.of("cpu", "cpuacct", "memory")::contains)
                    || fields[1].isEmpty() && layout.hierarchies().stream().anyMatch(Hierarchy::unified);
            if (!used) continue;
            assertTrue(fields[2].endsWith("/" + parent + "/" + name), "process " + pid + " is in " + line + ", not in " + name);
            checked++;
        }
        assertTrue(checked > 0, "process " + pid + " has no cpu or memory group");
    }

    @Test
    void aStandbyWaitsInItsOwnGroupWhichItsVmTakesOverAndWhichGoesWithTheStandbyOrTheAgent() throws Exception {
        requireCgroups();
        Cgroups cgroups = Cgroups.under(layout, parent);
        // The group of a standby whose agent was killed (the standby then ended itself).
        VmCgroup leftover = cgroups.create("_standby-1-0", new Quota(1, Quota.MONITOR_OVERHEAD));
        ApiClient api = startAgent(1);
        AgentClient node = new AgentClient(api);
        for (Path path : leftover.paths()) assertFalse(Files.exists(path), path + " is left from the agent before");
        String standby = awaitStandbys(node, 1).getFirst();
        VmCgroup waiting = cgroups.find(standby).orElseThrow();
        long standbyPid = processesIn(waiting).getFirst();
        assertIn(standbyPid, standby);
        int hostCpus = Runtime.getRuntime().availableProcessors();
        assertEquals(new Quota(hostCpus, Quota.MONITOR_OVERHEAD), waiting.limits(), "a standby is held to a monitor's memory");
        assertEquals(Optional.of(CpuWeight.LOWEST), waiting.weight(), "a ready standby waits at the lowest weight");
        // It was there from its spawn: its group was charged the CPU of its JVM's start and warm-up, seconds of it.
        Duration ownCpu = ProcessHandle.of(standbyPid).orElseThrow().info().totalCpuDuration().orElseThrow();
        Duration groupCpu = waiting.usage().cpuTime();
        assertTrue(ownCpu.toMillis() > 300 && groupCpu.toMillis() >= ownCpu.toMillis() * 9 / 10,
                "the standby used " + ownCpu + " of CPU, its group counted " + groupCpu);

        ApiClient.Reply created = api.post("/v1/vms", JSON.readTree(
                "{\"id\": \"warm\", \"resources\": {\"cpus\": 0.5}, \"spec\": " + NodeAgentTest.COUNTER + "}"));
        assertEquals(201, created.status(), created.text());
        VmInfo vm = created.json(VmInfo.class);
        assertEquals(standbyPid, vm.pid(), "the VM runs in the standby seen before");
        // Right after the answer: the guest has run since before it, in its own group, under its quota.
        assertIn(vm.pid(), "warm");
        VmCgroup group = cgroups.find("warm").orElseThrow();
        assertEquals(List.of(vm.pid()), processesIn(group), "the monitor, and only it, is in the VM's group");
        assertEquals(new Quota(0.5, new ByteSize(112L << 20)), group.limits());
        assertEquals(Optional.of(CpuWeight.NORMAL), group.weight(), "the VM's group weighs as any other");
        assertFalse(cgroups.find(standby).isPresent(), "the standby's group became the VM's");
        NodeSnapshotTest.awaitLog(node, "warm", 1000);
        node.snapshot("warm", "s", false); // left paused: it burns a CPU

        String next = awaitStandbys(node, 1).getFirst();
        long nextPid = processesIn(cgroups.find(next).orElseThrow()).getFirst();
        VmInfo copy = node.restore("warm", "s", false, "copy");
        assertEquals("running", copy.state());
        assertEquals(nextPid, copy.pid(), "the snapshot runs in the standby seen before");
        assertIn(copy.pid(), "copy");
        assertEquals(new Quota(Math.min(1.5, hostCpus), new ByteSize(112L << 20)), cgroups.find("copy").orElseThrow().limits(),
                "a restored VM's default quota: its vCPU and half a CPU for the monitor's threads");
        assertEquals("paused", node.pause("copy").state());

        // A standby that dies takes its group with it.
        String third = awaitStandbys(node, 1).getFirst();
        ProcessHandle killed = ProcessHandle.of(processesIn(cgroups.find(third).orElseThrow()).getFirst()).orElseThrow();
        killed.destroyForcibly();
        killed.onExit().get(30, TimeUnit.SECONDS);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (cgroups.find(third).isPresent()) {
            assertTrue(System.nanoTime() < deadline, "the group of the killed standby " + third + " is left");
            Thread.sleep(50);
        }
        String replaced = awaitStandbys(node, 1).getFirst();
        assertNotEquals(third, replaced);

        // An agent that stops takes its standbys' groups with it; its VMs keep theirs.
        agent.close();
        agent = null;
        assertEquals(List.of(), standbyGroups(), "standby groups left after the agent stopped");
        assertEquals(List.of("copy", "warm"), cgroups.vmIds());
    }

    @Test
    void aStandbyClaimedBesideTheFolderIsGivenBackWhenItsVmIsRefusedOrItsFolderFailsAndTheNextCreateRunsInIt() throws Exception {
        requireCgroups();
        // An unreadable folder where VM "taken" would be written: its create fails on the folder, after the claim.
        Files.createDirectories(dir.resolve("data/vms/taken"));
        Cgroups cgroups = Cgroups.under(layout, parent);
        // What an agent killed while it claimed a standby's group for a VM whose folder was not written yet leaves.
        VmCgroup leftover = cgroups.create("ghost", new Quota(1, Quota.MONITOR_OVERHEAD));
        int hostCpus = Runtime.getRuntime().availableProcessors();
        agent = NodeAgent.start(NodeAgent.Options.defaults(dir.resolve("data")).withCgroupParent(parent).withWarmPool(1)
                .withCapacity(hostCpus, 64L << 20, 1.0));
        ApiClient api = ApiClient.unix(agent.socket(), Duration.ofSeconds(90));
        AgentClient node = new AgentClient(api);
        for (Path path : leftover.paths()) assertFalse(Files.exists(path), path + " is left from the agent before");
        String standby = awaitStandbys(node, 1).getFirst();
        long standbyPid = processesIn(cgroups.find(standby).orElseThrow()).getFirst();

        for (String[] c : List.of(new String[] {"big", "{\"boot\": {\"stub\": \"count\"}, \"memory\": \"128M\"}", "does not fit: memory: 128M asked"},
                new String[] {"taken", NodeAgentTest.COUNTER, "a VM named taken exists"})) {
            ApiClient.Reply r = api.post("/v1/vms", JSON.readTree("{\"id\": \"" + c[0] + "\", \"start\": true, \"spec\": " + c[1] + "}"));
            assertEquals(409, r.status(), r.text());
            assertTrue(r.text().contains(c[2]), r.text());
            assertTrue(cgroups.find(c[0]).isEmpty(), "the group claimed for " + c[0] + " is left");
            assertEquals(List.of(standby), standbyGroups(), "the standby's group is back");
            VmCgroup back = cgroups.find(standby).orElseThrow();
            assertEquals(List.of(standbyPid), processesIn(back));
            assertEquals(new Quota(hostCpus, Quota.MONITOR_OVERHEAD), back.limits(), "the standby's limits are back");
            assertEquals(Optional.of(CpuWeight.LOWEST), back.weight(), "the standby's weight is back");
            NodeInfo.Pool pool = node.node().pool();
            assertEquals(1, pool.ready(), "the standby is ready again: " + pool);
            assertEquals(0, pool.starting(), "no standby replaced it: " + pool);
        }
        assertFalse(Files.exists(dir.resolve("data/vms/big")), "the refused VM's folder is left");

        ApiClient.Reply created = api.post("/v1/vms", JSON.readTree("{\"id\": \"next\", \"spec\": " + NodeAgentTest.COUNTER + "}"));
        assertEquals(201, created.status(), created.text());
        VmInfo vm = created.json(VmInfo.class);
        assertEquals(standbyPid, vm.pid(), "the next VM runs in the standby given back");
        assertIn(vm.pid(), "next");
        assertEquals("paused", node.pause("next").state()); // it burns a CPU
    }

    @Test
    void aQuotaThatCannotHoldTheVmIsRefusedNamingTheFieldAndLeavesNothing() throws Exception {
        requireCgroups();
        ApiClient api = startAgent();
        for (String[] c : List.of(new String[] {"{\"cpus\": 1000}", "resources.cpus", "1000 is more than this host's"},
                new String[] {"{\"memory\": \"32M\"}", "resources.memory", "32M is less than the VM's 16M of RAM plus 96M"},
                new String[] {"{\"cpus\": 0.001}", "resources.cpus", "0.001 is too small"},
                new String[] {"{\"cpus\": -1}", "resources.cpus", "-1.0 is not a positive number"})) {
            ApiClient.Reply r = api.post("/v1/vms", JSON.readTree("{\"id\": \"bad\", \"resources\": " + c[0] + ", \"spec\": " + NodeAgentTest.COUNTER + "}"));
            assertEquals(400, r.status(), r.text());
            JsonNode body = JSON.readTree(r.body());
            assertEquals(c[1], body.get("field").asText(), r.text());
            assertTrue(body.get("message").asText().contains(c[2]), r.text());
        }
        assertEquals(List.of(), new AgentClient(api).list().vms());
        assertTrue(Cgroups.under(layout, parent).find("bad").isEmpty(), "no group is left");
    }
}
