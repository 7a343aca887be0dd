package io.aether.agent;

import io.aether.agentapi.NodeInfo;
import io.aether.agentapi.VmInfo;
import io.aether.monitorapi.MonitorClient;
import io.aether.monitorapi.NodeMetrics;
import io.aether.monitorapi.VmMetrics;
import io.aether.monitorapi.VmState;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

/**
 * The agent's {@code /metrics}: the monitor-api's {@link NodeMetrics} families, fed by asking every
 * running VM's monitor for its counters at once (each under {@link #MONITOR_DEADLINE}, so a slow
 * or stuck monitor costs a scrape that long and no more, and its VM's series are left out), plus
 * each VM's cgroup accounting, the warm pool, a count of the monitors that did not answer, and the
 * host's same-page merging ({@link Ksm}: whether it runs, each VM's monitor's pages merged).
 */
final class AgentMetrics implements MultiCollector {

    /** How long a scrape waits for the monitors' answers (Prometheus's own scrape timeout is 10 s by default). */
    static final Duration MONITOR_DEADLINE = Duration.ofSeconds(1);

    /**
     * A VM as a scrape sees it.
     *
     * @param socket its monitor's control socket, while it has a monitor
     * @param usage its cgroup's accounting, where it has a group
     * @param monitorPid its monitor's process, while it has one
     */
    record Subject(String id, VmState state, int vcpus, long memoryBytes, Optional<Path> socket, Optional<VmInfo.Usage> usage,
                   OptionalLong monitorPid) {
    }

    private final Supplier<List<Subject>> vms;
    private final NodeInfo.Capacity capacity;
    private final Supplier<NodeInfo.Pool> pool;
    private final Duration deadline;
    private final Ksm ksm;
    private final LongAdder unanswered = new LongAdder();

    AgentMetrics(Supplier<List<Subject>> vms, NodeInfo.Capacity capacity, Supplier<NodeInfo.Pool> pool, Duration deadline, Ksm ksm) {
        this.vms = vms;
        this.capacity = capacity;
        this.pool = pool;
        this.deadline = deadline;
        this.ksm = ksm;
    }

    @Override
    public MetricSnapshots collect() {
        List<Subject> subjects = vms.get();
        List<NodeMetrics.Vm> measured = ask(subjects);
        NodeMetrics.Capacity offered = new NodeMetrics.Capacity(capacity.cpus(), capacity.memoryBytes());
        List<MetricSnapshot> out = new ArrayList<>();
        new NodeMetrics(() -> new NodeMetrics.Sample(offered, measured)).collect().forEach(out::add);
        List<Subject> grouped = subjects.stream().filter(s -> s.usage().isPresent()).toList();
        out.add(counter("aether_vm_cgroup_cpu_seconds", "CPU time charged to the VM's cgroup since its monitor started (the kernel's accounting).",
                grouped, u -> u.cpuSeconds()));
        out.add(counter("aether_vm_cgroup_throttled_periods", "Scheduling periods in which the VM's cgroup ran out of its CPU quota.",
                grouped, u -> u.throttledPeriods()));
        out.add(gauge("aether_vm_cgroup_memory_bytes", "Memory charged to the VM's cgroup now.", grouped, u -> u.memoryBytes()));
        out.add(counter("aether_vm_cgroup_oom_kills", "Processes of the VM's cgroup the kernel's OOM killer ended.", grouped, u -> u.oomKills()));
        NodeInfo.Pool p = pool.get();
        out.add(single("aether_node_pool_size", "Standby monitors the agent keeps (--warm-pool).", p.size()));
        out.add(single("aether_node_pool_ready", "Standby monitors ready to take a VM now.", p.ready()));
        out.add(single("aether_node_pool_memory_bytes", "Private memory of the ready standby monitors.", p.memoryBytes()));
        ksmRunning().ifPresent(running -> out.add(single("aether_node_ksm_running",
                "Whether the host's same-page merging runs (/sys/kernel/mm/ksm/run is 1; aether node --ksm starts it).", running ? 1 : 0)));
        GaugeSnapshot.Builder merged = GaugeSnapshot.builder().name("aether_vm_monitor_merged_pages")
                .help("Pages of the VM's monitor process shared with identical pages elsewhere by the host's same-page merging (never the guest's).");
        for (Subject s : subjects) {
            OptionalLong pages = s.monitorPid().isPresent() ? ksm.mergingPages(s.monitorPid().getAsLong()) : OptionalLong.empty();
            pages.ifPresent(n -> merged.dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder().labels(Labels.of("vm", s.id())).value(n).build()));
        }
        out.add(merged.build());
        out.add(CounterSnapshot.builder().name("aether_node_monitors_unanswered")
                .help("Monitors that did not answer a scrape within its deadline, or answered something unreadable.")
                .dataPoint(CounterSnapshot.CounterDataPointSnapshot.builder().value(unanswered.sum()).build()).build());
        return new MetricSnapshots(out);
    }

    /** Whether the host's merging runs; empty where the kernel has no KSM or its setting cannot be read. */
    private Optional<Boolean> ksmRunning() {
        try {
            return ksm.run().map(r -> r == Ksm.Run.RUNNING);
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** Every VM with what its monitor answered in time; a VM without a monitor, or whose monitor did not answer, without metrics. */
    private List<NodeMetrics.Vm> ask(List<Subject> subjects) {
        long until = System.nanoTime() + deadline.toNanos();
        ExecutorService askers = Executors.newVirtualThreadPerTaskExecutor();
        try {
            List<Optional<Future<VmMetrics>>> answers = subjects.stream().map(s -> s.socket()
                    .map(socket -> askers.submit(() -> VmMetrics.of(new MonitorClient(socket, deadline).metrics())))).toList();
            List<NodeMetrics.Vm> out = new ArrayList<>();
            for (int i = 0; i < subjects.size(); i++) {
                Subject s = subjects.get(i);
                Optional<VmMetrics> metrics = answers.get(i).flatMap(f -> answer(f, until));
                out.add(new NodeMetrics.Vm(s.id(), s.state(), s.vcpus(), s.memoryBytes(), metrics));
            }
            return out;
        } finally {
            askers.shutdownNow(); // a late asker's client gives up at its own deadline: nothing waits for it here
        }
    }

    private Optional<VmMetrics> answer(Future<VmMetrics> asked, long until) {
        try {
            return Optional.of(asked.get(Math.max(0, until - System.nanoTime()), TimeUnit.NANOSECONDS));
        } catch (TimeoutException | ExecutionException e) {
            // Stuck, gone between the listing and the question, or answering nonsense (VmMetrics refuses it): counted, left out.
            unanswered.increment();
            asked.cancel(true);
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }

    private static GaugeSnapshot single(String name, String help, double value) {
        return GaugeSnapshot.builder().name(name).help(help).dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder().value(value).build()).build();
    }

    private static GaugeSnapshot gauge(String name, String help, List<Subject> vms, ToDoubleFunction<VmInfo.Usage> value) {
        GaugeSnapshot.Builder b = GaugeSnapshot.builder().name(name).help(help);
        for (Subject s : vms) {
            b.dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder().labels(Labels.of("vm", s.id())).value(value.applyAsDouble(s.usage().orElseThrow())).build());
        }
        return b.build();
    }

    private static CounterSnapshot counter(String name, String help, List<Subject> vms, ToDoubleFunction<VmInfo.Usage> value) {
        CounterSnapshot.Builder b = CounterSnapshot.builder().name(name).help(help);
        for (Subject s : vms) {
            b.dataPoint(CounterSnapshot.CounterDataPointSnapshot.builder().labels(Labels.of("vm", s.id())).value(value.applyAsDouble(s.usage().orElseThrow())).build());
        }
        return b.build();
    }
}
