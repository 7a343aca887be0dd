package io.aether.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.agent.NodeAgent;
import io.aether.agentapi.AgentClient;
import io.aether.agentapi.NodeInfo;
import io.aether.agentapi.RestartPolicy;
import io.aether.agentapi.VmInfo;
import io.aether.http.ApiClient;
import io.aether.monitor.PageMerging;
import io.aether.testkit.ProcessMappings;
import io.aether.vmspec.VmSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The node agent's monitors and the host's same-page merging: each monitor offers its own memory
 * (a standby's and a cold one's alike) unless the agent runs with {@code --no-page-merging}, and
 * {@code /metrics} reports each monitor's merged pages and whether the host merges, as the kernel
 * reports them ({@code /proc/PID/ksm_stat}, {@code /proc/PID/ksm_merging_pages}, {@code /sys/kernel/mm/ksm/run}).
 */
@Timeout(180)
class NodePageMergingTest {

    @TempDir
    Path dir;

    private NodeAgent agent;

    @AfterEach
    void stop() {
        if (agent != null) agent.close();
        NodeAgentTest.killProcessesUnder(dir);
    }

    private static VmSpec echo() {
        return VmSpec.stub(VmSpec.StubProgram.ECHO);
    }

    @Test
    void everyMonitorOffersItsMemoryAndTheMetricsSayHowMuchOfItIsMerged() throws Exception {
        VmRunCommandTest.requireKvm();
        agent = NodeAgent.start(NodeAgentTest.options(dir.resolve("data")).withWarmPool(1));
        ApiClient api = ApiClient.unix(agent.socket(), Duration.ofSeconds(90));
        AgentClient node = new AgentClient(api);
        List<VmInfo> vms = startFromPoolThenCold(node);
        // A kernel before 6.4 (the nested test host's 6.1) merges no whole process: the monitors run unmerged.
        String offered = ProcessMappings.kernelMergesWholeProcesses() ? "yes" : null;
        for (VmInfo vm : vms) assertEquals(offered, mergeAny(vm.pid()), vm.id() + "'s monitor");

        VmInfo warm = vms.getFirst();
        // A scrape leaves out a VM whose monitor did not answer within its second: on a slow
        // (emulated) host a monitor that has just started may miss the first scrapes.
        long answered = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        long before;
        long after;
        List<NodeScrapeTest.Sample> samples;
        List<Double> merged;
        do {
            before = mergingPages(warm.pid());
            samples = scrape(api);
            after = mergingPages(warm.pid());
            merged = samples.stream()
                    .filter(s -> s.name().equals("aether_vm_monitor_merged_pages") && warm.id().equals(s.labels().get("vm"))).map(NodeScrapeTest.Sample::value).toList();
        } while (merged.isEmpty() && System.nanoTime() < answered);
        assertEquals(1, merged.size(), "one gauge for " + warm.id() + ": " + merged);
        // Equal to the kernel's figure; only a running KSM moves it between the two reads.
        assertTrue(merged.getFirst() >= Math.min(before, after) && merged.getFirst() <= Math.max(before, after),
                merged.getFirst() + " merged pages reported, the kernel's " + before + " then " + after);
        String run = Files.readString(Path.of("/sys/kernel/mm/ksm/run")).strip();
        assertEquals(run.equals("1") ? 1.0 : 0.0, NodeScrapeTest.sum(samples, "aether_node_ksm_running", Map.of()), "run = " + run);
        assertTrue(samples.stream().anyMatch(s -> s.name().equals("aether_node_ksm_running")), "the host's KSM is reported");
    }

    @Test
    void noPageMergingReachesTheStandbysAndTheColdMonitors() throws Exception {
        VmRunCommandTest.requireKvm();
        NodeAgent.Options options = NodeAgentTest.options(dir.resolve("data")).withWarmPool(1).withoutPageMerging();
        assertEquals(PageMerging.OFF_OPTION, options.monitorCommand().getLast(), () -> "the monitor command ends: " + options.monitorCommand().reversed().subList(0, 3).reversed());
        agent = NodeAgent.start(options);
        AgentClient node = new AgentClient(ApiClient.unix(agent.socket(), Duration.ofSeconds(90)));
        String offered = ProcessMappings.kernelMergesWholeProcesses() ? "no" : null;
        for (VmInfo vm : startFromPoolThenCold(node)) {
            assertEquals(offered, mergeAny(vm.pid()), vm.id() + "'s monitor");
            assertTrue(NodeAgentTest.arguments(ProcessHandle.of(vm.pid()).orElseThrow()).contains(PageMerging.OFF_OPTION), vm.id() + "'s monitor has no " + PageMerging.OFF_OPTION);
        }
    }

    /** A VM given to the pool's standby, then one that finds the pool empty (its refill takes a JVM's start). */
    private static List<VmInfo> startFromPoolThenCold(AgentClient node) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        NodeInfo.Pool pool;
        while ((pool = node.node().pool()).ready() < 1) {
            assertTrue(System.nanoTime() < deadline, "the pool never had a ready standby: " + pool);
            Thread.sleep(50);
        }
        VmInfo warm = node.create(echo(), Map.of(), RestartPolicy.NEVER, "warm", true);
        VmInfo cold = node.create(echo(), Map.of(), RestartPolicy.NEVER, "cold", true);
        assertEquals("running", warm.state());
        assertEquals("running", cold.state());
        assertTrue(isStandby(warm.pid()), "the first VM runs in a standby monitor");
        assertNotEquals(true, isStandby(cold.pid()), "the second VM runs in a cold monitor");
        return List.of(warm, cold);
    }

    private static boolean isStandby(long pid) {
        return ProcessHandle.of(pid).map(NodeAgentTest::arguments).orElseThrow().contains("--standby");
    }

    private static List<NodeScrapeTest.Sample> scrape(ApiClient api) throws Exception {
        ApiClient.Reply r = api.get("/metrics");
        assertEquals(200, r.status(), r.text());
        return NodeScrapeTest.parse(r.text());
    }

    /** {@code ksm_merge_any} of the process, or null where the kernel reports no such field. */
    private static String mergeAny(long pid) throws IOException {
        return ProcessMappings.kernelMergesWholeProcesses() ? ProcessMappings.ksmStat(pid, "ksm_merge_any") : null;
    }

    private static long mergingPages(long pid) throws IOException {
        return Long.parseLong(Files.readString(Path.of("/proc/" + pid + "/ksm_merging_pages")).strip());
    }
}
