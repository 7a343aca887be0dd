package io.aether.vmm;

import io.aether.kvm.Vcpu;
import io.aether.kvm.VcpuExit;
import java.io.PrintStream;
import java.util.function.Consumer;

/**
 * One vCPU's platform thread: enters the guest, hands each exit to {@link ExitHandler}, and
 * obeys run-state requests (pause, resume, stop) that other threads make through a kick.
 */
final class VcpuRunner implements Runnable {

    private final Vcpu vcpu;
    private final Bus io;
    private final Bus mmio;
    private final boolean haltStops;
    private final ExitDecoding decoding;
    private final PrintStream trace;
    private final Consumer<StopReason> onStop;
    private RunState state = RunState.CREATED;
    /** The thread waits in {@link #awaitRunnable}: out of the guest, and done with its last exit. */
    private boolean parked;

    VcpuRunner(Vcpu vcpu, Bus io, Bus mmio, boolean haltStops, ExitDecoding decoding, PrintStream trace, Consumer<StopReason> onStop) {
        this.vcpu = vcpu;
        this.io = io;
        this.mmio = mmio;
        this.haltStops = haltStops;
        this.decoding = decoding;
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
     * Starts the vCPU's thread, already RUNNING so that a pause from now on holds even before the
     * thread first enters the guest; null if the vCPU was stopped before it started.
     */
    Thread start() {
        if (!moveTo(RunState.RUNNING)) return null;
        return Thread.ofPlatform().name("vcpu-" + vcpu.id()).daemon().start(this);
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

    @Override
    public void run() {
        try {
            vcpu.bindToCurrentThread();
            while (awaitRunnable()) {
                VcpuExit exit = vcpu.run();
                switch (ExitHandler.handle(vcpu.id(), exit, io, mmio, haltStops, decoding, trace)) {
                    case ExitHandler.Action.Resume r -> vcpu.complete(exit);
                    case ExitHandler.Action.CheckState c -> { }
                    case ExitHandler.Action.Stop s -> {
                        moveTo(RunState.STOPPED);
                        onStop.accept(s.reason());
                        return;
                    }
                }
            }
        } catch (RuntimeException e) {
            moveTo(RunState.STOPPED);
            onStop.accept(new StopReason.HostError("vCPU " + vcpu.id() + ": " + e.getMessage()));
        }
    }

    /** Blocks while paused; false once stopped. */
    private synchronized boolean awaitRunnable() {
        while (state == RunState.PAUSED) {
            parked = true;
            notifyAll();
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
