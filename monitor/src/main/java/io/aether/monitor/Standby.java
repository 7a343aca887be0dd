package io.aether.monitor;

import io.aether.common.FieldException;
import io.aether.monitorapi.ControlCodec;
import io.aether.monitorapi.ControlRequest;
import io.aether.monitorapi.ControlResponse;
import io.aether.snapshot.SnapshotException;
import io.aether.sys.NativeCallException;
import io.aether.vmm.ConsoleSession;
import io.aether.vmm.KvmHost;
import io.aether.vmm.MicroVm;
import io.aether.vmm.VmCreationException;
import io.aether.vmm.VmShell;
import io.aether.vmm.VmSnapshot;
import io.aether.vmspec.VmSpec;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.invoke.MethodHandles;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * A standby monitor's control socket before and after its launch: until a
 * {@link ControlRequest.Launch} (a VM to boot) or {@link ControlRequest.Restore} (a snapshot)
 * is accepted it answers {@link ControlResponse.Standby} and refuses VM requests; the accepted
 * one makes a {@link Monitor} for the VM, which answers everything from then on. A refused
 * launch changes nothing: the monitor stays on standby.
 */
final class Standby {

    /**
     * What an accepted launch hands the run loop.
     *
     * @param vm the VM, built (or restored) and started by the launch: the run loop only waits for its end
     * @param restoreLock held while the restored VM runs; null for a boot or a clone
     */
    record Launched(VmSpec spec, Monitor monitor, ConsoleLog log, OutputStream console, MicroVm vm, FileChannel restoreLock) {
    }

    private final ConsoleRing ring;
    /** Where the console's bytes go: nowhere until a launch points it at the ring and the VM's log. */
    private final Redirectable consoleTarget = new Redirectable();
    /**
     * The VM's console, made on standby: its flusher thread's start was most of a launch's log
     * step (0.3 to 0.8 ms of the launching thread, traced).
     */
    private final OutputStream console = ConsoleSession.lineFlushing(consoleTarget);
    private final long consoleLogLimit;
    /** Whether this standby waits at {@link StandbyPriority#STANDBY_NICE}, which its launch undoes (with {@link #raiseAll}). */
    private final boolean niced;
    /** The launch, or empty when the standby was given up (its parent died, a signal). */
    private final CompletableFuture<Optional<Launched>> outcome = new CompletableFuture<>();
    private volatile Monitor monitor;
    /** The launch accepted, until its answer is written and the run loop is handed it ({@link #answered}). */
    private Launched accepted;
    private ControlServer server;
    /**
     * The launch's VM made ahead as far as no spec decides (see {@link VmShell}), or null where
     * the host makes none; a launch that used it and was refused makes the next one.
     */
    private VmShell shell;

    Standby(ConsoleRing ring, long consoleLogLimit, boolean niced, VmShell shell) {
        this.ring = ring;
        this.consoleLogLimit = consoleLogLimit;
        this.niced = niced;
        this.shell = shell;
        // Loaded on standby: the launch's first use of the record was about 0.5 ms of its answer (traced).
        try {
            MethodHandles.lookup().ensureInitialized(Launched.class);
        } catch (IllegalAccessException e) {
            throw new IllegalStateException("cannot load " + Launched.class.getName(), e);
        }
    }

    synchronized void serving(ControlServer server) {
        this.server = server;
        server.afterHandoverAnswered(this::answered);
    }

    /**
     * Hands the accepted launch, if any, to the run loop, once its answer is written: woken
     * before, the run loop's thread (which raises every thread's priority) ran beside the answer,
     * on a busy host in its place.
     */
    synchronized void answered() {
        if (accepted == null) return;
        outcome.complete(Optional.of(accepted));
        accepted = null;
    }

    ControlResponse handle(ControlRequest request) {
        Monitor launched = monitor;
        if (launched != null) return launched.handle(request);
        return switch (request) {
            case ControlRequest.State s -> new ControlResponse.Standby(ProcessHandle.current().pid());
            case ControlRequest.Handover h -> hand(h);
            default -> new ControlResponse.Refused(ControlResponse.Refused.CONFLICT,
                    "cannot " + ControlCodec.op(request) + ": the monitor is on standby (no VM yet; send launch)");
        };
    }

    /**
     * Gives the standby up unless a launch came first; returns the launched VM's monitor, or null
     * when the standby is given up.
     */
    synchronized Monitor giveUp() {
        if (monitor == null) outcome.complete(Optional.empty());
        return monitor;
    }

    /** Waits for the launch; empty when the standby was given up. */
    Optional<Launched> await() throws InterruptedException {
        try {
            return outcome.get();
        } catch (ExecutionException e) {
            throw new IllegalStateException("the standby's outcome failed", e.getCause());
        }
    }

    /** Every thread back to nice 0 after a launch, if this standby had lowered them. */
    void raiseAll() {
        if (niced) StandbyPriority.raiseAll();
    }

    boolean waiting() {
        return !outcome.isDone();
    }

    /**
     * Takes the VM to boot, or the snapshot to restore, that {@code handover} brings. Everything
     * is checked, opened and built before the socket moves; a refusal undoes what was done, so
     * the standby stays as it was. Once the socket has moved the VM starts on this thread, before
     * the answer: the launch is answered with the VM running, and no other thread has to wake up
     * first (on a loaded host each wake-up costs milliseconds).
     */
    private synchronized ControlResponse hand(ControlRequest.Handover handover) {
        if (monitor != null || outcome.isDone()) {
            return new ControlResponse.Refused(ControlResponse.Refused.CONFLICT, "cannot launch: the standby monitor is ending");
        }
        // At the normal priority from the launch's first step, not from its VM's build: on a busy
        // host each step at nice 10 waits for a core about ten times as long. Also before the
        // VM's threads are made: they inherit this thread's priority. A refusal lowers it again,
        // and any thread it started (a JDK helper started on first use), but for the acceptor
        // (see MonitorCommand.runStandby).
        if (niced) StandbyPriority.raiseCaller();
        ControlResponse response = launch(handover);
        if (niced && monitor == null) {
            StandbyPriority.lower();
            StandbyPriority.raise(server.acceptorTid());
        }
        return response;
    }

    /** {@link #hand}'s work, at the normal priority. */
    private ControlResponse launch(ControlRequest.Handover handover) {
        VmSpec spec = null;
        if (handover instanceof ControlRequest.Launch launch) {
            try {
                spec = launch.spec().withMacsFor(UUID.randomUUID().toString());
                spec.checkHost(VmSpec.MAX_VCPUS);
                LaunchTrace.mark("spec-checked");
            } catch (FieldException e) {
                return new ControlResponse.Refused(ControlResponse.Refused.BAD_REQUEST, "spec." + e.getMessage());
            }
            try {
                KvmHost.requireLinuxBootable(spec, Path.of("/"));
                LaunchTrace.mark("host-checked");
            } catch (VmCreationException e) {
                return new ControlResponse.Refused(ControlResponse.Refused.FAILED, e.getMessage());
            }
        }
        FileChannel lock = null;
        if (handover instanceof ControlRequest.Restore restore && !restore.allowClone()) {
            try {
                lock = RestoreLock.acquire(restore.snapshot());
            } catch (IOException e) {
                return new ControlResponse.Refused(ControlResponse.Refused.CONFLICT, "snapshot: " + e.getMessage());
            }
            LaunchTrace.mark("restore-locked");
        }
        // Built before the console log and the socket are touched: a handover that awaits its go
        // is prepared up to here while the agent still writes the folder that holds them.
        MicroVm vm = null;
        ControlResponse.Refused refused = null;
        try {
            if (handover instanceof ControlRequest.Restore restore) {
                vm = VmSnapshot.restore(restore.snapshot(), console, null, System.err, shell);
                spec = vm.spec();
                KvmHost.requireLinuxBootable(spec, Path.of("/"));
                LaunchTrace.mark("snapshot-restored");
            } else {
                vm = MicroVm.create(spec, console, null, shell);
                LaunchTrace.mark("vm-built");
            }
        } catch (SnapshotException e) {
            refused = new ControlResponse.Refused(ControlResponse.Refused.BAD_REQUEST, "snapshot: " + e.getMessage());
        } catch (IllegalArgumentException e) {
            refused = new ControlResponse.Refused(ControlResponse.Refused.BAD_REQUEST, "spec." + e.getMessage());
        } catch (VmCreationException | NativeCallException e) {
            refused = new ControlResponse.Refused(ControlResponse.Refused.FAILED, e.getMessage());
        }
        if (refused != null) return undone(vm, lock, refused);
        if (!ControlServer.awaitGo()) {
            return undone(vm, lock, new ControlResponse.Refused(ControlResponse.Refused.CONFLICT, "the launch was given up before its go"));
        }
        ConsoleLog log = null;
        Path logFile = handover.consoleLog().orElse(null);
        boolean logExisted = logFile != null && Files.exists(logFile, LinkOption.NOFOLLOW_LINKS);
        try {
            if (logFile != null) log = new ConsoleLog(logFile, consoleLogLimit);
        } catch (IOException e) {
            return undone(vm, lock, new ControlResponse.Refused(ControlResponse.Refused.BAD_REQUEST,
                    "consoleLog: " + logFile + ": cannot open: " + e.getMessage()));
        }
        consoleTarget.to(MonitorCommand.consoleTarget(ring, log));
        LaunchTrace.mark("log-opened");
        if (handover.socket().isPresent()) {
            try {
                server.moveTo(handover.socket().get());
            } catch (IOException e) {
                undo(vm, log, logFile, logExisted, lock);
                renewShell();
                return new ControlResponse.Refused(ControlResponse.Refused.BAD_REQUEST, "socket: " + e.getMessage());
            }
            LaunchTrace.mark("socket-moved");
        }
        Monitor m = new Monitor(spec, ring, log);
        m.serving(server);
        monitor = m;
        m.running(vm, false);
        vm.start(false);
        m.started();
        LaunchTrace.mark("vm-started");
        // The run loop's thread, handed this once the answer is written, brings the other threads
        // back to nice 0: off the answer's path (a thread each, a millisecond or two here).
        accepted = new Launched(spec, m, log, console, vm, lock);
        ControlResponse.Status status = m.status();
        LaunchTrace.mark("handed-over");
        return status;
    }

    /**
     * A new shell for the next launch if the refused one's VM took this one (closed with that VM);
     * without one if the host refuses it now: the next launch then builds its whole VM.
     */
    private void renewShell() {
        if (shell == null || !shell.taken()) return;
        shell = null;
        try {
            shell = VmShell.prebuild().orElse(null);
        } catch (RuntimeException e) {
            System.err.println("aether vm monitor: standby: cannot make the next VM's shell: " + e.getMessage());
        }
    }

    /** {@code refusal}, once what the handover made before its console log goes (the VM, the restore lock) and a new shell is made. */
    private ControlResponse.Refused undone(MicroVm vm, FileChannel lock, ControlResponse.Refused refusal) {
        undo(vm, null, null, false, lock);
        renewShell();
        return refusal;
    }

    /** What a refused handover had made goes: the VM, the log (the file too, if it made it), the restore lock. */
    private void undo(MicroVm vm, ConsoleLog log, Path logFile, boolean logExisted, FileChannel lock) {
        if (vm != null) vm.close();
        consoleTarget.to(OutputStream.nullOutputStream());
        if (log != null) {
            log.close();
            if (!logExisted) deleteQuietly(logFile);
        }
        RestoreLock.release(lock);
    }

    /** An output stream whose bytes go where it was last pointed. */
    private static final class Redirectable extends OutputStream {
        private volatile OutputStream target = OutputStream.nullOutputStream();

        void to(OutputStream next) {
            target = next;
        }

        @Override
        public void write(int b) throws IOException {
            target.write(b);
        }

        @Override
        public void write(byte[] data, int offset, int length) throws IOException {
            target.write(data, offset, length);
        }

        @Override
        public void flush() throws IOException {
            target.flush();
        }
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            // An empty log file left behind is all this costs.
        }
    }
}
