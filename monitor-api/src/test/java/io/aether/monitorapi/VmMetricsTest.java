package io.aether.monitorapi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class VmMetricsTest {

    /** A monitor's answer as the monitor-api README names its counters. */
    private static Map<String, Long> answer() {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("monitor.uptimeMillis", 1500L);
        m.put("monitor.consoleBytes", 7L);
        m.put("memory.rssBytes", 30_000_000L);
        m.put("memory.pssBytes", 20_000_000L);
        m.put("memory.privateBytes", 12_000_000L);
        m.put("vcpu.0.cpuNanos", 2_500_000_000L);
        m.put("vcpu.0.exits.io_out", 48L);
        m.put("vcpu.0.exits.hlt", 1L);
        m.put("vcpu.1.cpuNanos", 1_000_000L);
        m.put("serial.bytesOut", 48L);
        m.put("serial.outputErrors", 2L);
        m.put("virtio-blk10.reads", 1L);
        m.put("virtio-blk2.reads", 5L);
        m.put("virtio-blk2.bytesRead", 2560L);
        m.put("virtio-blk2.writes", 3L);
        m.put("virtio-blk2.bytesWritten", 1536L);
        m.put("virtio-blk2.flushes", 1L);
        m.put("virtio-blk2.throttled", 4L);
        m.put("virtio-blk2.faults", 1L);
        m.put("virtio-blk2.ioErrors", 0L);
        m.put("virtio-blk2.transport.ignoredAccesses", 3L);
        m.put("virtio-blk2.transport.notifications", 9L);
        m.put("virtio-blk2.queue0.fault.head_out_of_range", 2L);
        m.put("virtio-net0.rxPackets", 10L);
        m.put("virtio-net0.rxBytes", 600L);
        m.put("virtio-net0.txPackets", 4L);
        m.put("virtio-net0.txBytes", 240L);
        m.put("virtio-net0.txThrottled", 6L);
        m.put("virtio-net0.someFutureCounter", 99L);
        m.put("nonsense", 1L);
        return m;
    }

    @Test
    void theAnswerIsReadIntoVcpusMemoryDisksNicsAndFaults() {
        VmMetrics m = VmMetrics.of(answer());
        assertEquals(1500, m.uptimeMillis());
        assertEquals(List.of(new VmMetrics.Vcpu(0, 2_500_000_000L, Map.of("io_out", 48L, "hlt", 1L)),
                new VmMetrics.Vcpu(1, 1_000_000L, Map.of())), m.vcpus());
        assertEquals(new VmMetrics.Memory(30_000_000L, 20_000_000L, 12_000_000L), m.memory());
        assertEquals(List.of(new VmMetrics.Disk("virtio-blk2", 5, 3, 2560, 1536, 1, 4), new VmMetrics.Disk("virtio-blk10", 1, 0, 0, 0, 0, 0)),
                m.disks(), "in the VM's order, numbers compared as numbers");
        assertEquals(List.of(new VmMetrics.Nic("virtio-net0", 10, 600, 0, 0, 4, 240, 0, 6)), m.nics());
        assertEquals(List.of(new VmMetrics.DeviceFault("serial", "console_output_error", 2),
                new VmMetrics.DeviceFault("virtio-blk2", "bad_register_access", 3),
                new VmMetrics.DeviceFault("virtio-blk2", "malformed_request", 1),
                new VmMetrics.DeviceFault("virtio-blk2", "queue_head_out_of_range", 2)), m.faults(), "kinds counted at least once");
    }

    @Test
    void aNegativeCounterOrATwiceListedVmIsRefusedNamingIt() {
        Map<String, Long> bad = answer();
        bad.put("virtio-blk2.reads", -5L);
        assertEquals("virtio-blk2.reads: -5 is negative",
                assertThrows(IllegalArgumentException.class, () -> VmMetrics.of(bad)).getMessage());
        NodeMetrics.Vm vm = new NodeMetrics.Vm("web", VmState.RUNNING, 1, 1 << 20, Optional.empty());
        assertEquals("vms: web appears twice", assertThrows(IllegalArgumentException.class,
                () -> new NodeMetrics.Sample(new NodeMetrics.Capacity(1, 1 << 20), List.of(vm, vm))).getMessage());
    }

    @Test
    void aNodeAndItsVmsBecomePrometheusFamiliesLabelledByVm() throws IOException {
        NodeMetrics.Sample node = new NodeMetrics.Sample(new NodeMetrics.Capacity(16, 64L << 30), List.of(
                new NodeMetrics.Vm("web", VmState.RUNNING, 2, 1L << 30, Optional.of(VmMetrics.of(answer()))),
                new NodeMetrics.Vm("db", VmState.PAUSED, 4, 2L << 30, Optional.empty()),
                new NodeMetrics.Vm("old", VmState.STOPPED, 8, 8L << 30, Optional.empty())));
        PrometheusRegistry registry = new PrometheusRegistry();
        registry.register(new NodeMetrics(() -> node));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrometheusTextFormatWriter.create().write(out, registry.scrape());
        List<String> lines = out.toString(StandardCharsets.UTF_8).lines().toList();
        // Lines written by hand from the sample above, in the text format 0.0.4 (labels sorted by name).
        for (String expected : List.of(
                "# TYPE aether_node_vcpus_capacity gauge",
                "aether_node_vcpus_capacity 16.0",
                "aether_node_memory_capacity_bytes 6.8719476736E10",
                "aether_node_vcpus_allocated 6.0",
                "aether_node_memory_allocated_bytes 3.221225472E9",
                "aether_node_vms{state=\"running\"} 1.0",
                "aether_node_vms{state=\"paused\"} 1.0",
                "aether_node_vms{state=\"stopped\"} 1.0",
                "aether_node_vms{state=\"failed\"} 0.0",
                "aether_vm_uptime_seconds{vm=\"web\"} 1.5",
                "# TYPE aether_vm_vcpu_seconds_total counter",
                "aether_vm_vcpu_seconds_total{vcpu=\"0\",vm=\"web\"} 2.5",
                "aether_vm_exits_total{reason=\"io_out\",vcpu=\"0\",vm=\"web\"} 48.0",
                "aether_vm_monitor_pss_bytes{vm=\"web\"} 2.0E7",
                "aether_vm_disk_read_bytes_total{disk=\"virtio-blk2\",vm=\"web\"} 2560.0",
                "aether_vm_disk_throttled_total{disk=\"virtio-blk2\",vm=\"web\"} 4.0",
                "aether_vm_net_tx_throttled_total{nic=\"virtio-net0\",vm=\"web\"} 6.0",
                "aether_vm_net_rx_packets_total{nic=\"virtio-net0\",vm=\"web\"} 10.0",
                "aether_vm_device_faults_total{device=\"virtio-blk2\",kind=\"queue_head_out_of_range\",vm=\"web\"} 2.0")) {
            assertTrue(lines.contains(expected), expected + " in\n" + String.join("\n", lines));
        }
        assertTrue(lines.stream().noneMatch(l -> l.contains("vm=\"db\"") || l.contains("vm=\"old\"")), "no series for VMs not measured");
    }
}
