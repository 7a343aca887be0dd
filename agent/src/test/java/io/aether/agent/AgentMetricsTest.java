package io.aether.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.agentapi.NodeInfo;
import io.aether.agentapi.VmInfo;
import io.aether.monitorapi.VmState;
import io.prometheus.metrics.model.snapshots.DataPointSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(10)
class AgentMetricsTest {

    private static MetricSnapshot family(MetricSnapshots all, String name) {
        return all.stream().filter(s -> s.getMetadata().getName().equals(name)).findFirst().orElseThrow(() -> new AssertionError("no " + name));
    }

    /** The value of {@code name}'s one point labelled {@code vm} (or unlabelled when null); empty when there is none. */
    private static Optional<Double> value(MetricSnapshots all, String name, String vm) {
        for (DataPointSnapshot p : family(all, name).getDataPoints()) {
            if (vm == null ? p.getLabels().isEmpty() : vm.equals(p.getLabels().get("vm"))) {
                return Optional.of(p instanceof CounterSnapshot.CounterDataPointSnapshot c ? c.getValue() : ((GaugeSnapshot.GaugeDataPointSnapshot) p).getValue());
            }
        }
        return Optional.empty();
    }

    @Test
    void aMonitorThatDoesNotAnswerCostsOneDeadlineAndIsCountedAndLeftOut(@TempDir Path dir) throws Exception {
        Path socket = dir.resolve("stuck.sock");
        try (ServerSocketChannel stuck = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            stuck.bind(UnixDomainSocketAddress.of(socket)); // connections are queued, never answered
            VmInfo.Usage usage = new VmInfo.Usage(1.5, 7, 40 << 20, 0, 0);
            List<AgentMetrics.Subject> vms = List.of(
                    new AgentMetrics.Subject("stuck", VmState.RUNNING, 2, 64 << 20, Optional.of(socket), Optional.of(usage), OptionalLong.empty()),
                    new AgentMetrics.Subject("off", VmState.STOPPED, 1, 16 << 20, Optional.empty(), Optional.empty(), OptionalLong.empty()));
            AgentMetrics metrics = new AgentMetrics(() -> vms, new NodeInfo.Capacity(8, 1L << 30, 1.0),
                    () -> new NodeInfo.Pool(2, 1, 1, 0, 30 << 20), Duration.ofMillis(300), new Ksm(dir.resolve("no-ksm"), dir.resolve("no-proc")));

            long start = System.nanoTime();
            MetricSnapshots first = metrics.collect();
            long millis = (System.nanoTime() - start) / 1_000_000;
            assertTrue(millis >= 250 && millis < 3000, "one deadline of 300 ms, not more: " + millis + " ms");
            assertEquals(Optional.of(1.0), value(first, "aether_node_monitors_unanswered", null));
            assertEquals(Optional.empty(), value(first, "aether_vm_exits", "stuck"), "no counters without an answer");
            assertEquals(Optional.empty(), value(first, "aether_vm_monitor_rss_bytes", "stuck"));
            assertEquals(Optional.of(2.0), value(first, "aether_node_vcpus_allocated", null), "the stopped VM holds nothing");
            assertEquals(Optional.of(8.0), value(first, "aether_node_vcpus_capacity", null));
            assertEquals(Optional.of(1.5), value(first, "aether_vm_cgroup_cpu_seconds", "stuck"));
            assertEquals(Optional.of(7.0), value(first, "aether_vm_cgroup_throttled_periods", "stuck"));
            assertEquals(Optional.of((double) (40 << 20)), value(first, "aether_vm_cgroup_memory_bytes", "stuck"));
            assertEquals(Optional.empty(), value(first, "aether_vm_cgroup_memory_bytes", "off"));
            assertEquals(Optional.of(1.0), value(first, "aether_node_pool_ready", null));
            assertEquals(Optional.of((double) (30 << 20)), value(first, "aether_node_pool_memory_bytes", null));

            assertTrue(first.stream().noneMatch(f -> f.getMetadata().getName().equals("aether_node_ksm_running")), "no KSM, no gauge of it");
            assertEquals(List.of(), family(first, "aether_vm_monitor_merged_pages").getDataPoints());

            assertEquals(Optional.of(2.0), value(metrics.collect(), "aether_node_monitors_unanswered", null), "counted at each scrape");
        }
    }

    private static AgentMetrics.Subject running(String id, long pid) {
        return new AgentMetrics.Subject(id, VmState.RUNNING, 1, 16 << 20, Optional.empty(), Optional.empty(), OptionalLong.of(pid));
    }

    @Test
    void eachMonitorsMergedPagesAndWhetherTheHostMergesAreReadFromTheKernelsFiles(@TempDir Path dir) throws Exception {
        Path sys = Files.createDirectories(dir.resolve("sys"));
        Path proc = dir.resolve("proc");
        Files.writeString(sys.resolve("run"), "1\n");
        Files.writeString(Files.createDirectories(proc.resolve("4242")).resolve("ksm_merging_pages"), "1234\n");
        Files.writeString(Files.createDirectories(proc.resolve("4243")).resolve("ksm_merging_pages"), "12x\n");
        List<AgentMetrics.Subject> vms = List.of(running("merged", 4242), running("garbled", 4243), running("gone", 4244));
        AgentMetrics metrics = new AgentMetrics(() -> vms, new NodeInfo.Capacity(8, 1L << 30, 1.0),
                () -> new NodeInfo.Pool(0, 0, 0, 0, 0), Duration.ofMillis(300), new Ksm(sys, proc));
        MetricSnapshots snapshot = metrics.collect();
        assertEquals(Optional.of(1234.0), value(snapshot, "aether_vm_monitor_merged_pages", "merged"));
        assertEquals(Optional.empty(), value(snapshot, "aether_vm_monitor_merged_pages", "garbled"), "not the kernel's: left out");
        assertEquals(Optional.empty(), value(snapshot, "aether_vm_monitor_merged_pages", "gone"));
        assertEquals(Optional.of(1.0), value(snapshot, "aether_node_ksm_running", null));
        Files.writeString(sys.resolve("run"), "2\n");
        assertEquals(Optional.of(0.0), value(metrics.collect(), "aether_node_ksm_running", null), "unmerging is not running");

        // A real process, read as the kernel has it: this JVM's.
        long self = ProcessHandle.current().pid();
        AgentMetrics host = new AgentMetrics(() -> List.of(running("self", self)), new NodeInfo.Capacity(8, 1L << 30, 1.0),
                () -> new NodeInfo.Pool(0, 0, 0, 0, 0), Duration.ofMillis(300), Ksm.HOST);
        long before = Long.parseLong(Files.readString(Path.of("/proc/" + self + "/ksm_merging_pages")).strip());
        double reported = value(host.collect(), "aether_vm_monitor_merged_pages", "self").orElseThrow();
        long after = Long.parseLong(Files.readString(Path.of("/proc/" + self + "/ksm_merging_pages")).strip());
        assertTrue(reported >= Math.min(before, after) && reported <= Math.max(before, after), reported + ", the kernel's " + before + " then " + after);
    }
}
