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
    private final PrintStream trace;
    private final Consumer<StopReason> onStop;
    private RunState state = RunState.CREATED;
    private boolean parked;

    VcpuRunner(Vcpu vcpu, Bus io, Bus mmio, boolean haltStops, PrintStream trace, Consumer<StopReason> onStop) {
        this.vcpu = vcpu;
        this.io = io;
        this.mmio = mmio;
        this.haltStops = haltStops;
        this.trace = trace;
        this.onStop = onStop;
    }

    int id() {
        return vcpu.id();
    }

    synchronized RunState state() {
        return state;
    }

    private synchronized boolean moveTo(RunState target) {
        if (!state.canMoveTo(target)) return false;
        state = target;
        notifyAll();
        return true;
    }

    /** Asks the vCPU to stop; returns at once (join the thread to wait). */
    void stop() {
        if (moveTo(RunState.STOPPED)) vcpu.kick();
    }

    /** Pauses the vCPU and waits until it is out of the guest. */
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
            if (!moveTo(RunState.RUNNING)) return;
            while (awaitRunnable()) {
                VcpuExit exit = vcpu.run();
                switch (ExitHandler.handle(vcpu.id(), exit, io, mmio, haltStops, trace)) {
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
