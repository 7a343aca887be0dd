package io.aether.monitor;

import io.aether.monitorapi.ControlRequest;
import io.aether.monitorapi.ControlResponse;
import io.aether.monitorapi.VmState;
import io.aether.vmm.Device;
import io.aether.vmm.MicroVm;
import io.aether.vmm.RunState;
import io.aether.vmm.StopReason;
import io.aether.vmm.VcpuStats;
import io.aether.vmm.VmSnapshot;
import io.aether.vmspec.VmSpec;
import java.io.IOException;
import java.lang.reflect.RecordComponent;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The VM as its control socket sees it: the VM running now (a reboot with restart replaces it),
 * and, once the monitor is done with it, why it ended. Answers each {@link ControlRequest}.
 */
final class Monitor {

    private final VmSpec spec;
    private final ConsoleRing console;
    /** The console log, or null without --console-log. */
    private final ConsoleLog log;
    private final long startNanos = System.nanoTime();
    private final AtomicLong pauses = new AtomicLong();
    private final AtomicLong restarts = new AtomicLong();
    private final AtomicLong snapshots = new AtomicLong();
    private final AtomicLong failedSnapshots = new AtomicLong();
    /** One snapshot at a time: two would pause, write and resume over each other. */
    private final Object snapshotting = new Object();
    private final AtomicLong memoryReadFailures = new AtomicLong();
    /** Completed by the run loop once the last VM is closed, with why it stopped. */
    private final CompletableFuture<StopReason> finished = new CompletableFuture<>();
    /** Completed once the first VM has started (or the run loop is done): what await-started waits for. */
    private final CompletableFuture<Void> started = new CompletableFuture<>();
    private volatile MicroVm current;
    /** A stop asked for while no VM existed yet (a signal during start-up): the next VM gets it. */
    private volatile StopReason pendingStop;
    private volatile ControlServer server;
    /** Set by a graceful stop: the guest's reboot (Linux's answer to Ctrl-Alt-Del) then ends the VM. */
    private volatile boolean shuttingDown;

    Monitor(VmSpec spec, ConsoleRing console, ConsoleLog log) {
        this.spec = spec;
        this.console = console;
        this.log = log;
    }

    void serving(ControlServer server) {
        this.server = server;
    }

    /** The VM the requests act on from now (the first one, or the one a reboot rebuilt). */
    void running(MicroVm vm, boolean restarted) {
        if (restarted) restarts.incrementAndGet();
        current = vm;
        StopReason pending = pendingStop;
        if (pending != null) vm.requestStop(pending);
    }

    /** The VM's vCPUs run (or it was restored paused, as asked): a client waiting for it is answered. */
    void started() {
        started.complete(null);
    }

    /** The run loop is done: the last VM is closed. */
    void finished(StopReason reason) {
        finished.complete(reason);
        started.complete(null);
    }

    /** Whether a graceful stop asked the guest to shut down: a reboot must not restart the VM. */
    boolean shuttingDown() {
        return shuttingDown;
    }

    /** Stops whatever runs now (a signal, the monitor shutting down). */
    void requestStop(StopReason reason) {
        pendingStop = reason;
        MicroVm vm = current;
        if (vm != null) vm.requestStop(reason);
    }

    ControlResponse handle(ControlRequest request) {
        try {
            return switch (request) {
                case ControlRequest.State s -> status();
                case ControlRequest.AwaitStarted a -> {
                    try {
                        started.get(a.timeout().toMillis(), TimeUnit.MILLISECONDS);
                    } catch (TimeoutException | java.util.concurrent.ExecutionException e) {
                        // Not started in time: the state says what it is.
                    }
                    yield status();
                }
                case ControlRequest.Pause p -> {
                    vm("pause").pause();
                    pauses.incrementAndGet();
                    yield status();
                }
                case ControlRequest.Resume r -> {
                    vm("resume").resume();
                    yield status();
                }
                case ControlRequest.Stop stop -> stop(stop);
                case ControlRequest.Snapshot snapshot -> snapshot(snapshot);
                case ControlRequest.Metrics m -> new ControlResponse.Metrics(metrics());
                case ControlRequest.ConsoleAttach a -> throw new IllegalStateException("the server streams the console itself");
                case ControlRequest.ConsoleDetach d -> throw new IllegalStateException("the server streams the console itself");
                case ControlRequest.Go g -> throw new IllegalStateException("the server reads a go after its handover itself");
                case ControlRequest.Handover h -> throw new IllegalStateException("cannot launch: this monitor already runs a VM");
            };
        } catch (IllegalStateException e) {
            return new ControlResponse.Refused(ControlResponse.Refused.CONFLICT, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new ControlResponse.Refused(ControlResponse.Refused.FAILED, "interrupted; the VM runs on");
        }
    }

    private MicroVm vm(String action) {
        MicroVm vm = current;
        if (finished.isDone()) throw new IllegalStateException("cannot " + action + ": the VM is stopped");
        if (vm == null) throw new IllegalStateException("cannot " + action + ": the VM is still being built");
        return vm;
    }

    /**
     * A forced stop ends the VM at once. A graceful one types Ctrl-Alt-Del on the guest's i8042
     * keyboard and waits up to the request's timeout for the guest to reboot or power off (a
     * reboot then ends the VM whatever the spec's reboot action), then forces the stop.
     */
    private ControlResponse stop(ControlRequest.Stop stop) throws InterruptedException {
        MicroVm vm = vm("stop");
        if (stop.graceful()) {
            // Before the keys: the guest may reboot before pressCtrlAltDel returns.
            shuttingDown = true;
            boolean asked;
            try {
                asked = vm.pressCtrlAltDel();
            } catch (IllegalStateException e) {
                if (vm.state() == RunState.STOPPED) return awaitFinished();
                shuttingDown = false;
                throw e;
            }
            if (asked && finishedWithin(stop.timeout().toMillis())) return status();
            vm.requestStop(new StopReason.Requested(asked
                    ? "control socket: the guest did not shut down within " + stop.timeout().toMillis() + " ms of Ctrl-Alt-Del"
                    : "control socket: the guest's keyboard took no Ctrl-Alt-Del"));
        } else {
            vm.requestStop(new StopReason.Requested("control socket"));
        }
        return awaitFinished();
    }

    private ControlResponse awaitFinished() throws InterruptedException {
        if (!finishedWithin(10_000)) {
            return new ControlResponse.Refused(ControlResponse.Refused.FAILED, "the VM was told to stop but has not finished after 10 s");
        }
        return status();
    }

    /**
     * Pauses the VM if it runs, writes the snapshot, and leaves it paused unless asked to resume.
     * A failed snapshot resumes a VM it paused: a request that fails changes nothing.
     */
    private ControlResponse snapshot(ControlRequest.Snapshot request) throws InterruptedException {
        MicroVm vm = vm("snapshot");
        long start = System.nanoTime();
        synchronized (snapshotting) {
            boolean pausedHere = false;
            if (vm.state() == RunState.RUNNING) {
                vm.pause();
                pauses.incrementAndGet();
                pausedHere = true;
            }
            VmSnapshot.Written written;
            try {
                written = vm.snapshot(request.directory(), ControlServer.progress());
            } catch (IOException | RuntimeException e) {
                failedSnapshots.incrementAndGet();
                if (pausedHere) vm.resume();
                if (e instanceof IllegalStateException conflict) throw conflict;
                return new ControlResponse.Refused(ControlResponse.Refused.FAILED, "snapshot: " + (e.getMessage() != null ? e.getMessage() : e.toString()));
            }
            snapshots.incrementAndGet();
            if (request.resume()) vm.resume();
            return new ControlResponse.SnapshotTaken(written.memoryBytes(), written.memoryDataBytes(), written.stateBytes(),
                    (System.nanoTime() - start) / 1_000_000);
        }
    }

    private boolean finishedWithin(long millis) throws InterruptedException {
        try {
            finished.get(millis, TimeUnit.MILLISECONDS);
            return true;
        } catch (TimeoutException e) {
            return false;
        } catch (java.util.concurrent.ExecutionException e) {
            return true;
        }
    }

    ControlResponse.Status status() {
        StopReason reason = finished.getNow(null);
        MicroVm vm = current;
        VmState state;
        if (reason != null) {
            state = failure(reason) ? VmState.FAILED : VmState.STOPPED;
        } else {
            RunState run = vm == null ? RunState.CREATED : vm.state();
            state = switch (run) {
                case CREATED -> VmState.CREATED;
                case RUNNING -> VmState.RUNNING;
                case PAUSED -> VmState.PAUSED;
                // Stopped but not yet closed (or being rebuilt after a reboot): still this VM's run.
                case STOPPED -> VmState.RUNNING;
            };
        }
        return new ControlResponse.Status(state, Optional.ofNullable(reason).map(StopReason::message), spec, ProcessHandle.current().pid());
    }

    static boolean failure(StopReason reason) {
        return reason instanceof StopReason.GuestCrash || reason instanceof StopReason.HostError;
    }

    /** The monitor's counters and every device's, as {@code device.counter}. */
    /**
     * The VM's counters by name; {@code VmMetrics} in monitor-api reads them and its README lists
     * the names: the monitor's own ({@code monitor.*}), its memory ({@code memory.*}), each vCPU's
     * ({@code vcpu.N.*}), each device's ({@code <device>.<counter>}), each virtio device's
     * transport ({@code <device>.transport.<counter>}) and queue faults
     * ({@code <device>.queueN.fault.<kind>}).
     */
    Map<String, Long> metrics() {
        Map<String, Long> values = new LinkedHashMap<>();
        values.put("monitor.uptimeMillis", (System.nanoTime() - startNanos) / 1_000_000);
        values.put("monitor.consoleBytes", console.total());
        values.put("monitor.pauses", pauses.get());
        values.put("monitor.restarts", restarts.get());
        values.put("monitor.snapshots", snapshots.get());
        values.put("monitor.failedSnapshots", failedSnapshots.get());
        values.put("monitor.consoleLogLostBytes", log == null ? 0 : log.lostBytes());
        ControlServer s = server;
        values.put("monitor.refusedRequests", s == null ? 0 : s.refused());
        try {
            ProcessMemory memory = ProcessMemory.read(ProcessMemory.SELF);
            values.put("memory.rssBytes", memory.rssBytes());
            values.put("memory.pssBytes", memory.pssBytes());
            values.put("memory.privateBytes", memory.privateBytes());
        } catch (IOException e) {
            memoryReadFailures.incrementAndGet(); // the rest still answers; the gap is counted
        }
        values.put("monitor.memoryReadFailures", memoryReadFailures.get());
        MicroVm vm = current;
        if (vm != null) {
            for (VcpuStats vcpu : vm.vcpuStats()) {
                String prefix = "vcpu." + vcpu.id() + ".";
                values.put(prefix + "cpuNanos", vcpu.cpuNanos());
                vcpu.exits().forEach((reason, n) -> values.put(prefix + "exits." + reason, n));
            }
            for (Device device : vm.devices().devices()) {
                device.counterValues().forEach((name, n) -> values.put(device.name() + "." + name, n));
            }
        }
        return values;
    }
}
