package io.aether.monitorapi;

import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.function.ToLongFunction;

/**
 * A node's VMs as Prometheus metrics: register it in the registry a daemon serves at
 * {@code /metrics} ({@code registry.register(new NodeMetrics(agent::metricsSample))}) and each
 * scrape asks the supplier for the node as it is then. Every per-VM series has the label
 * {@code vm}; monitor-api's README lists the families.
 */
public final class NodeMetrics implements MultiCollector {

    /** What the node offers VMs. */
    public record Capacity(int vcpus, long memoryBytes) {
        public Capacity {
            if (vcpus < 0 || memoryBytes < 0) throw new IllegalArgumentException("capacity cannot be negative: " + vcpus + " vCPUs, " + memoryBytes + " bytes");
        }
    }

    /**
     * One VM the node supervises.
     *
     * @param vcpus and {@code memoryBytes}: what its spec asks for
     * @param metrics what its monitor answered; empty when it could not be asked (stopped, not answering)
     */
    public record Vm(String id, VmState state, int vcpus, long memoryBytes, Optional<VmMetrics> metrics) {
        public Vm {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(state, "state");
            Objects.requireNonNull(metrics, "metrics");
        }

        /** Whether its vCPUs and memory are taken from the node: a VM that has not ended. */
        boolean holdsResources() {
            return state == VmState.CREATED || state == VmState.RUNNING || state == VmState.PAUSED;
        }
    }

    /** The node at one moment; each VM's id appears once (two would give Prometheus the same series twice). */
    public record Sample(Capacity capacity, List<Vm> vms) {
        public Sample {
            Objects.requireNonNull(capacity, "capacity");
            vms = List.copyOf(vms);
            Set<String> ids = new HashSet<>();
            for (Vm vm : vms) {
                if (!ids.add(vm.id())) throw new IllegalArgumentException("vms: " + ControlCodec.printable(vm.id()) + " appears twice");
            }
        }
    }

    private final Supplier<Sample> sample;

    public NodeMetrics(Supplier<Sample> sample) {
        this.sample = Objects.requireNonNull(sample, "sample");
    }

    @Override
    public MetricSnapshots collect() {
        return snapshots(sample.get());
    }

    /** The families of {@code node}. */
    static MetricSnapshots snapshots(Sample node) {
        List<MetricSnapshot> out = new ArrayList<>();
        List<Vm> holding = node.vms().stream().filter(Vm::holdsResources).toList();
        out.add(gauge("aether_node_vcpus_capacity", "vCPUs the node offers VMs.", List.of(point(Labels.EMPTY, node.capacity().vcpus()))));
        out.add(gauge("aether_node_memory_capacity_bytes", "Guest memory the node offers VMs.",
                List.of(point(Labels.EMPTY, node.capacity().memoryBytes()))));
        out.add(gauge("aether_node_vcpus_allocated", "vCPUs of the VMs that have not ended (created, running, paused).",
                List.of(point(Labels.EMPTY, holding.stream().mapToLong(Vm::vcpus).sum()))));
        out.add(gauge("aether_node_memory_allocated_bytes", "Guest memory of the VMs that have not ended.",
                List.of(point(Labels.EMPTY, holding.stream().mapToLong(Vm::memoryBytes).sum()))));
        Map<VmState, Long> byState = new EnumMap<>(VmState.class);
        for (VmState s : VmState.values()) byState.put(s, 0L);
        for (Vm vm : node.vms()) byState.merge(vm.state(), 1L, Long::sum);
        List<Series> states = new ArrayList<>();
        byState.forEach((s, n) -> states.add(point(Labels.of("state", s.id()), n)));
        out.add(gauge("aether_node_vms", "VMs on the node by state.", states));

        List<Vm> measured = node.vms().stream().filter(vm -> vm.metrics().isPresent()).toList();
        out.add(gauge("aether_vm_uptime_seconds", "How long the VM's monitor has run.",
                perVm(measured, m -> List.of(new Series(Labels.EMPTY, m.uptimeMillis() / 1e3)))));
        out.add(counter("aether_vm_vcpu_seconds", "CPU time of each vCPU's thread (guest and monitor work on it).",
                perVm(measured, m -> m.vcpus().stream().map(v -> new Series(Labels.of("vcpu", Integer.toString(v.id())), v.cpuNanos() / 1e9)).toList())));
        out.add(counter("aether_vm_exits", "vCPU exits to the monitor by reason.",
                perVm(measured, m -> m.vcpus().stream().flatMap(v -> v.exits().entrySet().stream()
                        .map(e -> new Series(Labels.of("vcpu", Integer.toString(v.id()), "reason", e.getKey()), e.getValue()))).toList())));
        out.add(gauge("aether_vm_monitor_rss_bytes", "Resident memory of the VM's monitor process (guest memory it touched included).",
                perVm(measured, m -> List.of(new Series(Labels.EMPTY, m.memory().rssBytes())))));
        out.add(gauge("aether_vm_monitor_pss_bytes", "Proportional set size of the VM's monitor process.",
                perVm(measured, m -> List.of(new Series(Labels.EMPTY, m.memory().pssBytes())))));
        out.add(gauge("aether_vm_monitor_private_bytes", "Memory only the VM's monitor process maps (USS).",
                perVm(measured, m -> List.of(new Series(Labels.EMPTY, m.memory().privateBytes())))));
        disk(out, measured, "aether_vm_disk_reads", "Read requests served.", VmMetrics.Disk::reads);
        disk(out, measured, "aether_vm_disk_writes", "Write requests served.", VmMetrics.Disk::writes);
        disk(out, measured, "aether_vm_disk_read_bytes", "Bytes read from the disk image into the guest.", VmMetrics.Disk::bytesRead);
        disk(out, measured, "aether_vm_disk_written_bytes", "Bytes written to the disk image.", VmMetrics.Disk::bytesWritten);
        disk(out, measured, "aether_vm_disk_flushes", "Flush requests served.", VmMetrics.Disk::flushes);
        disk(out, measured, "aether_vm_disk_throttled", "Times a request was held back by the disk's rate limit.", VmMetrics.Disk::throttled);
        nic(out, measured, "aether_vm_net_rx_packets", "Frames delivered to the guest.", VmMetrics.Nic::rxPackets);
        nic(out, measured, "aether_vm_net_rx_bytes", "Bytes delivered to the guest.", VmMetrics.Nic::rxBytes);
        nic(out, measured, "aether_vm_net_rx_dropped", "Frames for the guest dropped.", VmMetrics.Nic::rxDropped);
        nic(out, measured, "aether_vm_net_rx_throttled", "Times receive was held back by the NIC's rate limit.", VmMetrics.Nic::rxThrottled);
        nic(out, measured, "aether_vm_net_tx_packets", "Frames the guest sent.", VmMetrics.Nic::txPackets);
        nic(out, measured, "aether_vm_net_tx_bytes", "Bytes the guest sent.", VmMetrics.Nic::txBytes);
        nic(out, measured, "aether_vm_net_tx_dropped", "Frames from the guest dropped.", VmMetrics.Nic::txDropped);
        nic(out, measured, "aether_vm_net_tx_throttled", "Times a frame from the guest was held back by the NIC's rate limit.", VmMetrics.Nic::txThrottled);
        out.add(counter("aether_vm_device_faults", "Device faults by device and kind (malformed requests, bad register accesses, host I/O errors, ...).",
                perVm(measured, m -> m.faults().stream()
                        .map(f -> new Series(Labels.of("device", f.device(), "kind", f.kind()), f.count())).toList())));
        return new MetricSnapshots(out);
    }

    /** One series of a VM, before its {@code vm} label is added. */
    private record Series(Labels labels, double value) {
    }

    private static List<Series> perVm(List<Vm> vms, Function<VmMetrics, List<Series>> series) {
        List<Series> all = new ArrayList<>();
        for (Vm vm : vms) {
            for (Series s : series.apply(vm.metrics().orElseThrow())) all.add(new Series(Labels.of("vm", vm.id()).merge(s.labels()), s.value()));
        }
        return all;
    }

    private static void disk(List<MetricSnapshot> out, List<Vm> vms, String name, String help, ToLongFunction<VmMetrics.Disk> value) {
        out.add(counter(name, help, perVm(vms, m -> m.disks().stream().map(d -> new Series(Labels.of("disk", d.device()), value.applyAsLong(d))).toList())));
    }

    private static void nic(List<MetricSnapshot> out, List<Vm> vms, String name, String help, ToLongFunction<VmMetrics.Nic> value) {
        out.add(counter(name, help, perVm(vms, m -> m.nics().stream().map(n -> new Series(Labels.of("nic", n.device()), value.applyAsLong(n))).toList())));
    }

    private static Series point(Labels labels, double value) {
        return new Series(labels, value);
    }

    private static GaugeSnapshot gauge(String name, String help, List<Series> series) {
        GaugeSnapshot.Builder b = GaugeSnapshot.builder().name(name).help(help);
        for (Series s : series) b.dataPoint(GaugeDataPointSnapshot.builder().labels(s.labels()).value(s.value()).build());
        return b.build();
    }

    /** A counter family; its name is written with {@code _total}. */
    private static CounterSnapshot counter(String name, String help, List<Series> series) {
        CounterSnapshot.Builder b = CounterSnapshot.builder().name(name).help(help);
        for (Series s : series) b.dataPoint(CounterDataPointSnapshot.builder().labels(s.labels()).value(s.value()).build());
        return b.build();
    }
}
