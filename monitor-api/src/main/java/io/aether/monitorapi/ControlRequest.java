package io.aether.monitorapi;

import io.aether.vmspec.VmSpec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/** What a client may ask a VM's monitor over its control socket. */
public sealed interface ControlRequest {

    /** The longest a stop may wait for the VM to end before it is forced. */
    Duration MAX_STOP_TIMEOUT = Duration.ofMinutes(10);

    /** The VM's state, its spec and the monitor's process id. Answered with {@link ControlResponse.Status}. */
    record State() implements ControlRequest {
    }

    /** The longest an {@link AwaitStarted} may wait. */
    Duration MAX_START_WAIT = Duration.ofMinutes(1);

    /**
     * Answered with the VM's {@link ControlResponse.Status} as soon as the VM has started (running,
     * or paused when restored so), has ended, or {@code timeout} has passed, whichever comes
     * first: the monitor says when its VM runs, so that a client need not poll its state.
     */
    record AwaitStarted(Duration timeout) implements ControlRequest {
        public AwaitStarted {
            if (timeout == null || timeout.isNegative() || timeout.compareTo(MAX_START_WAIT) > 0) {
                throw new IllegalArgumentException("timeout: " + timeout + " is out of range (0 to " + MAX_START_WAIT.toSeconds() + " s)");
            }
        }
    }

    /** Pauses the whole VM; answered once it holds still. */
    record Pause() implements ControlRequest {
    }

    /** Lets a paused VM go on. */
    record Resume() implements ControlRequest {
    }

    /**
     * Stops the VM; the monitor then removes its socket and exits. A graceful stop asks the guest
     * to shut down (Ctrl-Alt-Del on its i8042 keyboard; a guest reboot then ends the VM) and
     * forces the stop after {@code timeout}; a forced one (graceful false) stops it at once,
     * whatever the timeout. A paused VM is refused a graceful stop: its guest could not react.
     */
    record Stop(boolean graceful, Duration timeout) implements ControlRequest {
        public Stop {
            if (timeout == null || timeout.isNegative() || timeout.compareTo(MAX_STOP_TIMEOUT) > 0) {
                throw new IllegalArgumentException("timeout: " + timeout + " is out of range (0 to " + MAX_STOP_TIMEOUT.toMinutes() + " minutes)");
            }
        }
    }

    /** The VM's counters now. Answered with {@link ControlResponse.Metrics}. */
    record Metrics() implements ControlRequest {
    }

    /**
     * Turns the connection into the guest's console output: after {@link ControlResponse.ConsoleAttached},
     * the recent output the monitor kept (when {@code replay}), then what the guest prints, as raw bytes,
     * until the client sends {@link ConsoleDetach} or closes the connection. The guest is not disturbed.
     */
    record ConsoleAttach(boolean replay) implements ControlRequest {
    }

    /** Sent on an attached connection: the monitor ends the stream and closes it. */
    record ConsoleDetach() implements ControlRequest {
    }

    /**
     * Writes a snapshot of the VM into {@code directory} (created if missing): the monitor pauses
     * the VM if it runs, writes the {@code memory} and {@code state} files and syncs them, then
     * leaves the VM paused, or lets it go on when {@code resume}. Answered with
     * {@link ControlResponse.SnapshotTaken}; with {@code progress}, {@link ControlResponse.Progress}
     * lines come first while guest memory is written. A snapshot that fails resumes a VM it paused
     * and changes neither the VM nor the snapshot already in the directory.
     *
     * @param directory an absolute path on the monitor's host
     */
    record Snapshot(Path directory, boolean resume, boolean progress) implements ControlRequest {
        public Snapshot {
            if (directory == null || !directory.isAbsolute()) throw new IllegalArgumentException("directory: " + directory + " is not an absolute path");
        }
    }

    /**
     * Sent to a standby monitor ({@code aether vm monitor --standby}): it becomes {@code spec}'s
     * monitor, as if it had been started with {@code --spec}, and answers the VM's
     * {@link ControlResponse.Status} (state {@code created} while the VM is built). A spec the
     * host cannot run, a console log that cannot be opened or a socket path that cannot be taken
     * is refused, and the monitor stays on standby, unchanged. A console attached to a standby
     * monitor before its launch streams the VM's output from its first byte.
     *
     * @param consoleLog as {@code --console-log}: the console also appended to this file
     * @param socket where the control socket moves (it is renamed: the same directory tree and
     *     file system as the standby socket), so that each VM's folder holds its own; empty keeps
     *     the standby path
     * @param awaitGo see {@link Handover#awaitGo}
     */
    record Launch(VmSpec spec, Optional<Path> consoleLog, Optional<Path> socket, boolean awaitGo) implements Handover {
        public Launch {
            Objects.requireNonNull(spec, "spec");
            Handover.checkPaths(consoleLog, socket);
        }

        /** A launch that goes on at once. */
        public Launch(VmSpec spec, Optional<Path> consoleLog, Optional<Path> socket) {
            this(spec, consoleLog, socket, false);
        }

        @Override
        public Launch awaitingGo() {
            return new Launch(spec, consoleLog, socket, true);
        }
    }

    /**
     * Sent to a standby monitor: it restores the snapshot in {@code snapshot} as if started with
     * {@code --restore} (the memory file mapped copy-on-write, every state checked, the restore
     * lock taken unless {@code allowClone}) and answers the VM's {@link ControlResponse.Status}.
     * A snapshot that is missing, truncated, corrupt, of another version or host, whose disks
     * changed, or already restored and running is refused with the reason, and the monitor stays
     * on standby, unchanged. {@code consoleLog} and {@code socket} are {@link Launch}'s.
     */
    record Restore(Path snapshot, boolean allowClone, Optional<Path> consoleLog, Optional<Path> socket, boolean awaitGo) implements Handover {
        public Restore {
            if (snapshot == null || !snapshot.isAbsolute()) throw new IllegalArgumentException("snapshot: " + snapshot + " is not an absolute path");
            Handover.checkPaths(consoleLog, socket);
        }

        /** A restore that goes on at once. */
        public Restore(Path snapshot, boolean allowClone, Optional<Path> consoleLog, Optional<Path> socket) {
            this(snapshot, allowClone, consoleLog, socket, false);
        }

        @Override
        public Restore awaitingGo() {
            return new Restore(snapshot, allowClone, consoleLog, socket, true);
        }
    }

    /**
     * The second line of a handover sent with {@link Handover#awaitGo}, on the same connection:
     * the VM prepared may take its console log and socket and run. Anywhere else it is refused.
     */
    record Go() implements ControlRequest {
    }

    /** What hands a standby monitor its VM: one to boot, or a snapshot to restore. */
    sealed interface Handover extends ControlRequest permits Launch, Restore {
        Optional<Path> consoleLog();

        Optional<Path> socket();

        /**
         * Whether the standby prepares the VM (every check, the restore lock, the VM built or
         * restored) and then waits, on the same connection, for a {@link Go} before it touches the
         * console log's and the socket's directory and starts the VM: the agent sends the handover
         * while it still writes that directory, and the two overlap. A connection that ends (or
         * sends anything else) before its go undoes the preparation; the standby stays on standby.
         */
        boolean awaitGo();

        /** The same handover, awaiting its {@link Go}. */
        Handover awaitingGo();

        private static void checkPaths(Optional<Path> consoleLog, Optional<Path> socket) {
            Objects.requireNonNull(consoleLog, "consoleLog");
            Objects.requireNonNull(socket, "socket");
            // The monitor's working directory is not the client's: a relative path would land elsewhere.
            consoleLog.filter(p -> !p.isAbsolute()).ifPresent(p -> {
                throw new IllegalArgumentException("consoleLog: " + ControlCodec.printable(p.toString()) + " is not an absolute path");
            });
            socket.filter(p -> !p.isAbsolute()).ifPresent(p -> {
                throw new IllegalArgumentException("socket: " + ControlCodec.printable(p.toString()) + " is not an absolute path");
            });
        }
    }
}
