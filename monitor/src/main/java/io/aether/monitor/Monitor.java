package io.aether.monitor;

import io.aether.monitorapi.ControlRequest;
import io.aether.monitorapi.ControlResponse;
import io.aether.monitorapi.VmState;
import io.aether.vmm.Device;
import io.aether.vmm.MicroVm;
import io.aether.vmm.RunState;
import io.aether.vmm.StopReason;
import io.aether.vmspec.VmSpec;
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
    /** Completed by the run loop once the last VM is closed, with why it stopped. */
    private final CompletableFuture<StopReason> finished = new CompletableFuture<>();
    private volatile MicroVm current;
    /** A stop asked for while no VM existed yet (a signal during start-up): the next VM gets it. */
    private volatile StopReason pendingStop;
    private volatile ControlServer server;

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

    /** The run loop is done: the last VM is closed. */
    void finished(StopReason reason) {
        finished.complete(reason);
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
                case ControlRequest.Metrics m -> new ControlResponse.Metrics(metrics());
                case ControlRequest.ConsoleAttach a -> throw new IllegalStateException("the server streams the console itself");
                case ControlRequest.ConsoleDetach d -> throw new IllegalStateException("the server streams the console itself");
                case ControlRequest.Launch l -> throw new IllegalStateException("cannot launch: this monitor already runs a VM");
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

    private ControlResponse stop(ControlRequest.Stop stop) throws InterruptedException {
        if (stop.graceful()) {
            // The device models have no way yet to ask a guest to shut down (an ACPI power button
            // event or Ctrl-Alt-Del through the i8042); saying so beats waiting out the timeout.
            return new ControlResponse.Refused(ControlResponse.Refused.FAILED,
                    "a graceful stop needs an ACPI power button, which this monitor does not have yet; stop with graceful false");
        }
        vm("stop").requestStop(new StopReason.Requested("control socket"));
        try {
            finished.get(10, TimeUnit.SECONDS);
        } catch (TimeoutException | java.util.concurrent.ExecutionException e) {
            return new ControlResponse.Refused(ControlResponse.Refused.FAILED, "the VM was told to stop but has not finished after 10 s");
        }
        return status();
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
    Map<String, Long> metrics() {
        Map<String, Long> values = new LinkedHashMap<>();
        values.put("monitor.uptimeMillis", (System.nanoTime() - startNanos) / 1_000_000);
        values.put("monitor.consoleBytes", console.total());
        values.put("monitor.pauses", pauses.get());
        values.put("monitor.restarts", restarts.get());
        values.put("monitor.consoleLogLostBytes", log == null ? 0 : log.lostBytes());
        ControlServer s = server;
        values.put("monitor.refusedRequests", s == null ? 0 : s.refused());
        MicroVm vm = current;
        if (vm != null) {
            for (Device device : vm.devices().devices()) {
                Record counters = device.counters();
                for (RecordComponent c : counters.getClass().getRecordComponents()) {
                    if (c.getType() != long.class) continue;
                    try {
                        values.put(device.name() + "." + c.getName(), (Long) c.getAccessor().invoke(counters));
                    } catch (ReflectiveOperationException e) {
                        throw new IllegalStateException("counter " + device.name() + "." + c.getName() + " is unreadable", e);
                    }
                }
            }
        }
        return values;
    }
}
