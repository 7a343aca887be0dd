package io.aether.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.aether.agent.NodeAgent;
import io.aether.agentapi.AgentClient;
import io.aether.agentapi.RestartPolicy;
import io.aether.agentapi.StopVm;
import io.aether.http.ApiClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The node agent's {@code GET /metrics} with a real monitor (a counting stub guest on this host's KVM), read by a parser of its own. */
@Timeout(60)
class NodeScrapeTest {

    @TempDir
    Path dir;

    private NodeAgent agent;

    @AfterEach
    void stop() {
        if (agent != null) agent.close();
        NodeAgentTest.killProcessesUnder(dir);
    }

    /** One line of the text format: {@code name{k="v",...} value}. */
    record Sample(String name, Map<String, String> labels, double value) {
    }

    private static final Pattern LINE = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\\{(.*)\\})? ([-+0-9.eE]+|NaN|[-+]Inf)");
    private static final Pattern PAIR = Pattern.compile("\\G([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\",?");

    /** The samples of a scrape; a line the format does not allow, or a sample of a family with no TYPE line, fails the test. */
    static List<Sample> parse(String text) {
        Set<String> typed = new HashSet<>();
        List<Sample> samples = new ArrayList<>();
        for (String line : text.lines().toList()) {
            if (line.isEmpty() || line.startsWith("# HELP ")) continue;
            if (line.startsWith("# TYPE ")) {
                typed.add(line.split(" ")[2]);
                continue;
            }
            Matcher m = LINE.matcher(line);
            if (!m.matches()) fail("not a sample line: " + line);
            Map<String, String> labels = new HashMap<>();
            if (m.group(2) != null) {
                Matcher p = PAIR.matcher(m.group(2));
                int end = 0;
                while (p.find()) {
                    labels.put(p.group(1), p.group(2).replace("\\\"", "\"").replace("\\n", "\n").replace("\\\\", "\\"));
                    end = p.end();
                }
                assertEquals(m.group(2).length(), end, "labels of " + line);
            }
            String family = m.group(1).endsWith("_total") ? m.group(1).substring(0, m.group(1).length() - 6) : m.group(1);
            assertTrue(typed.contains(family) || typed.contains(m.group(1)), "no TYPE line before " + line);
            samples.add(new Sample(m.group(1), labels, Double.parseDouble(m.group(3))));
        }
        return samples;
    }

    /** The sum of {@code name}'s samples whose labels include {@code labels}. */
    static double sum(List<Sample> samples, String name, Map<String, String> labels) {
        return samples.stream().filter(s -> s.name().equals(name) && s.labels().entrySet().containsAll(labels.entrySet()))
                .mapToDouble(Sample::value).sum();
    }

    private static List<Sample> scrape(ApiClient api) throws Exception {
        ApiClient.Reply r = api.get("/metrics");
        assertEquals(200, r.status(), r.text());
        assertTrue(r.headers().get("content-type").startsWith("text/plain; version=0.0.4"), r.headers().toString());
        return parse(r.text());
    }

    @Test
    void aRunningVmsExitsGrowBetweenScrapesBesideTheNodesCapacityAndItsCgroup() throws Exception {
        VmRunCommandTest.requireKvm();
        agent = NodeAgent.start(NodeAgentTest.options(dir.resolve("data")).withCapacity(3, 3L << 30, 1.0));
        ApiClient api = ApiClient.unix(agent.socket(), Duration.ofSeconds(30));
        AgentClient node = new AgentClient(api);
        node.create(NodeAgentTest.counter(), Map.of(), RestartPolicy.NEVER, "c", true);
        Map<String, String> c = Map.of("vm", "c");

        // A scrape waits a second for each monitor's answer, and leaves out (and counts) a VM whose
        // monitor did not answer in time: a monitor that has just started, on a slow (emulated)
        // host, can miss the first scrapes.
        List<Sample> first = scrape(api);
        int missed = 0;
        long answered = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (first.stream().noneMatch(x -> x.name().equals("aether_vm_monitor_rss_bytes") && "c".equals(x.labels().get("vm")))) {
            assertTrue(System.nanoTime() < answered, "the monitor never answered a scrape: " + first);
            missed++;
            Thread.sleep(200);
            first = scrape(api);
        }
        assertEquals(3, sum(first, "aether_node_vcpus_capacity", Map.of()));
        assertEquals(3L << 30, sum(first, "aether_node_memory_capacity_bytes", Map.of()));
        assertEquals(1, sum(first, "aether_node_vcpus_allocated", Map.of()));
        assertEquals(16L << 20, sum(first, "aether_node_memory_allocated_bytes", Map.of()));
        assertEquals(1, sum(first, "aether_node_vms", Map.of("state", "running")));
        assertTrue(sum(first, "aether_vm_monitor_rss_bytes", c) > 16 << 20, "a monitor holds its JVM and the guest's touched pages: " + first);
        double unanswered = sum(first, "aether_node_monitors_unanswered_total", Map.of());
        assertTrue(unanswered <= missed, unanswered + " unanswered in " + missed + " scrapes without the VM's metrics");
        double exits = sum(first, "aether_vm_exits_total", c);
        Thread.sleep(300);
        List<Sample> second = scrape(api);
        assertTrue(sum(second, "aether_vm_exits_total", c) > exits, "the counting guest's port writes exit to its monitor");
        assertTrue(sum(second, "aether_vm_exits_total", Map.of("vm", "c", "vcpu", "0", "reason", "io_out")) > 0, second.toString());
        if (node.node().capabilities().quotas()) {
            assertTrue(sum(second, "aether_vm_cgroup_cpu_seconds_total", c) > 0, "the guest burns CPU in its group");
            assertTrue(sum(second, "aether_vm_cgroup_memory_bytes", c) > 0);
        }

        node.stop("c", StopVm.forced());
        List<Sample> stopped = scrape(api);
        assertEquals(1, sum(stopped, "aether_node_vms", Map.of("state", "stopped")));
        assertEquals(0, sum(stopped, "aether_node_vcpus_allocated", Map.of()));
        assertTrue(stopped.stream().noneMatch(s -> s.name().startsWith("aether_vm_") && "c".equals(s.labels().get("vm"))),
                "a stopped VM has no monitor to report");
    }
}
