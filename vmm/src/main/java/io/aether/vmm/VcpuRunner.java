package io.aether.vmm;

import io.aether.kvm.Vcpu;
import io.aether.kvm.VcpuExit;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * One vCPU's platform thread: enters the guest, hands each exit to {@link ExitHandler}, and
 * obeys run-state requests (pause, resume, stop) that other threads make through a kick.
 */
final class VcpuRunner implements Runnable {

    private final Vcpu vcpu;
    private final Bus io;
    private final Bus mmio;
    private final boolean haltStops;
    private final Arch arch;
    private final PrintStream trace;
    private final Consumer<StopReason> onStop;
    private RunState state = RunState.CREATED;
    /** The thread waits in {@link #awaitRunnable}: out of the guest, and done with its last exit. */
    private boolean parked;
    /** Work for the parked thread (vCPU ioctls belong to it), and what came of it. */
    private Function<Vcpu, ?> task;
    private Object taskResult;
    private RuntimeException taskFailure;
    /** By {@link ExitReason} ordinal; written by the vCPU's thread, read by anyone. */
    private final AtomicLongArray exits = new AtomicLongArray(ExitReason.values().length);
    private volatile Thread thread;
    /** The thread's CPU time when it ended; -1 while it runs. */
    private volatile long finalCpuNanos = -1;

    /** Linked on first use: java.management costs start-up time that a VM's start should not pay. */
    private static final class Cpu {
        static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    }

    VcpuRunner(Vcpu vcpu, Bus io, Bus mmio, boolean haltStops, Arch arch, PrintStream trace, Consumer<StopReason> onStop) {
        this.vcpu = vcpu;
        this.io = io;
        this.mmio = mmio;
        this.haltStops = haltStops;
        this.arch = arch;
        this.trace = trace;
        this.onStop = onStop;
    }

    int id() {
        return vcpu.id();
    }

    private synchronized boolean moveTo(RunState target) {
        if (!state.canMoveTo(target)) return false;
        state = target;
        notifyAll();
        return true;
    }

    /**
     * Starts the vCPU's thread, already RUNNING (or PAUSED: it parks before it first enters the
     * guest) so that a pause from now on holds even before the thread first enters the guest;
     * null if the vCPU was stopped before it started.
     */
    Thread start(boolean paused) {
        if (!moveTo(RunState.RUNNING)) return null;
        if (paused) moveTo(RunState.PAUSED);
        thread = Thread.ofPlatform().name("vcpu-" + vcpu.id()).daemon().unstarted(this);
        thread.start();
        return thread;
    }

    /** Exits so far by reason, and the thread's CPU time (0 before it started). */
    VcpuStats stats() {
        Map<String, Long> byReason = new LinkedHashMap<>();
        for (ExitReason r : ExitReason.values()) byReason.put(r.label(), exits.get(r.ordinal()));
        long cpu = finalCpuNanos;
        Thread t = thread;
        if (cpu < 0) cpu = t == null ? 0 : Cpu.THREADS.getThreadCpuTime(t.threadId());
        if (cpu < 0) cpu = finalCpuNanos; // it ended between the two reads
        return new VcpuStats(vcpu.id(), Math.max(0, cpu), byReason);
    }

    /** Asks the vCPU to stop; returns at once (join the thread to wait). */
    void stop() {
        if (moveTo(RunState.STOPPED)) vcpu.kick();
    }

    /**
     * Pauses the vCPU and waits until its thread is out of the guest and done with the exit it
     * was handling (or has stopped). An exit being handled finishes first: a device access is
     * never cut in half.
     */
    synchronized void pause() throws InterruptedException {
        if (!moveTo(RunState.PAUSED)) return;
        vcpu.kick();
        while (state == RunState.PAUSED && !parked) wait();
    }

    void resume() {
        moveTo(RunState.RUNNING);
    }

    /**
     * Runs {@code work} on the vCPU's own thread while it is paused and parked (the vCPU's
     * ioctls belong to that thread), and returns what it gave.
     *
     * @throws IllegalStateException if the vCPU is not parked in a pause
     */
    synchronized <T> T whileParked(Function<Vcpu, T> work) throws InterruptedException {
        while (state == RunState.PAUSED && !parked) wait(); // a VM started paused: its thread is on its way
        if (state != RunState.PAUSED) throw new IllegalStateException("vCPU " + vcpu.id() + " is not paused");
        task = work;
        taskResult = null;
        taskFailure = null;
        notifyAll();
        while (task != null && state == RunState.PAUSED) wait();
        if (task != null) {
            task = null;
            throw new IllegalStateException("vCPU " + vcpu.id() + " stopped");
        }
        if (taskFailure != null) throw taskFailure;
        @SuppressWarnings("unchecked")
        T result = (T) taskResult;
        return result;
    }

    @Override
    public void run() {
        try {
            vcpu.bindToCurrentThread();
            boolean first = true;
            while (awaitRunnable()) {
                if (first) {
                    first = false;
                    BootTrace.mark("first-kvm-run");
                }
                VcpuExit exit = vcpu.run();
                exits.incrementAndGet(ExitReason.of(exit).ordinal());
                // Ifs, not a pattern switch, which would spin a class (no AOT cache holds it) on the guest's
                // first exit; CheckState has nothing to do here (the loop's condition checks the state).
                ExitHandler.Action action = ExitHandler.handle(vcpu.id(), exit, io, mmio, haltStops, arch, trace);
                if (action instanceof ExitHandler.Action.Resume) {
                    vcpu.complete(exit);
                } else if (action instanceof ExitHandler.Action.AnswerHypercall h) {
                    if (!arch.answerHypercall(vcpu, h.call())) {
                        moveTo(RunState.STOPPED);
                        onStop.accept(new StopReason.GuestCrash(vcpu.id(), "a call the monitor never took over, " + h.call().describe()));
                        return;
                    }
                } else if (action instanceof ExitHandler.Action.Stop s) {
                    moveTo(RunState.STOPPED);
                    onStop.accept(s.reason());
                    return;
                }
            }
        } catch (RuntimeException e) {
            moveTo(RunState.STOPPED);
            onStop.accept(new StopReason.HostError("vCPU " + vcpu.id() + ": " + e.getMessage()));
        } finally {
            finalCpuNanos = Cpu.THREADS.getCurrentThreadCpuTime();
        }
    }

    /** Blocks while paused; false once stopped. */
    private synchronized boolean awaitRunnable() {
        while (state == RunState.PAUSED) {
            parked = true;
            notifyAll();
            if (task != null) {
                try {
                    taskResult = task.apply(vcpu);
                } catch (RuntimeException e) {
                    taskFailure = e;
                }
                task = null;
                continue;
            }
            try {
                wait();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                state = RunState.STOPPED;
            }
        }
        parked = false;
        return state == RunState.RUNNING;
    }
}
