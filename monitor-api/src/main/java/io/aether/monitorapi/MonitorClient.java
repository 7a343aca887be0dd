package io.aether.monitorapi;

import io.aether.common.Watchdog;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The client of one VM's monitor, over its control socket: one connection per request, each
 * bounded by the timeout (a console stream excepted: it lasts until detached).
 *
 * <pre>
 *   MonitorClient monitor = new MonitorClient(Path.of("/run/aether/vm1.sock"), Duration.ofSeconds(5));
 *   monitor.pause();
 *   VmState state = monitor.state().state();
 *   try (MonitorClient.Console console = monitor.attachConsole(true)) { console.output().read(...); }
 * </pre>
 */
public final class MonitorClient {

    private final Path socket;
    private final Duration timeout;

    public MonitorClient(Path socket, Duration timeout) {
        this.socket = socket;
        this.timeout = timeout;
    }

    /** A request the monitor refused: {@link #code()} is one of {@link ControlResponse.Refused}'s. */
    public static final class RefusedException extends IOException {
        private final String code;
        private final String reason;

        RefusedException(ControlResponse.Refused refused) {
            super(refused.code() + ": " + refused.message());
            this.code = refused.code();
            this.reason = refused.message();
        }

        public String code() {
            return code;
        }

        /** The monitor's one line saying why, without the code. */
        public String reason() {
            return reason;
        }
    }

    /** The VM's state; a standby monitor, which has none yet, answers {@link ControlResponse.Standby} (see {@link #call}). */
    public ControlResponse.Status state() throws IOException {
        return expect(call(new ControlRequest.State()), ControlResponse.Status.class);
    }

    /**
     * Waits up to {@code wait} for the VM to start (or end) and returns its state then: no polling
     * while a VM is built.
     */
    public ControlResponse.Status awaitStarted(Duration wait) throws IOException {
        return expect(call(new ControlRequest.AwaitStarted(wait)), ControlResponse.Status.class);
    }

    /** Pauses the VM; returns once it holds still. */
    public ControlResponse.Status pause() throws IOException {
        return expect(call(new ControlRequest.Pause()), ControlResponse.Status.class);
    }

    public ControlResponse.Status resume() throws IOException {
        return expect(call(new ControlRequest.Resume()), ControlResponse.Status.class);
    }

    /** Stops the VM and returns its final state; the monitor then exits. */
    public ControlResponse.Status stop(boolean graceful, Duration stopTimeout) throws IOException {
        return expect(call(new ControlRequest.Stop(graceful, stopTimeout)), ControlResponse.Status.class);
    }

    /** The longest a snapshot may take beyond the client's timeout: its memory is written to disk. */
    public static final Duration SNAPSHOT_TIME = Duration.ofMinutes(5);

    /**
     * Snapshots the VM into {@code directory} (see {@link ControlRequest.Snapshot}); {@code progress},
     * if not null, is told how far the memory file is as the monitor reports it.
     */
    public ControlResponse.SnapshotTaken snapshot(Path directory, boolean resume, Consumer<ControlResponse.Progress> progress) throws IOException {
        return expect(snapshot(new ControlRequest.Snapshot(directory, resume, progress != null), progress), ControlResponse.SnapshotTaken.class);
    }

    /** The snapshot's answer, after the progress lines (each given to {@code progress}). */
    private ControlResponse snapshot(ControlRequest.Snapshot request, Consumer<ControlResponse.Progress> progress) throws IOException {
        byte[] line = encode(request);
        try (SocketChannel channel = connect(); Deadline deadline = Deadline.start(channel, timeout.plus(SNAPSHOT_TIME))) {
            try {
                InputStream in = lines(channel);
                ControlResponse response = exchange(channel, line, in);
                while (response instanceof ControlResponse.Progress p) {
                    if (progress != null) progress.accept(p);
                    response = readAnswer(in);
                }
                return response;
            } catch (IOException e) {
                deadline.check();
                throw e;
            }
        }
    }

    public Map<String, Long> metrics() throws IOException {
        return expect(call(new ControlRequest.Metrics()), ControlResponse.Metrics.class).values();
    }

    /**
     * Hands a VM to a standby monitor and returns its status: {@code running}, the standby builds
     * and starts the VM before it answers. When {@code launch} moves the socket, later requests go
     * to a client of the new path.
     */
    public ControlResponse.Status launch(ControlRequest.Launch launch) throws IOException {
        return hand(launch);
    }

    /** Hands a VM to boot or a snapshot to restore to a standby monitor and returns the VM's status, as {@link #launch} does. */
    public ControlResponse.Status hand(ControlRequest.Handover handover) throws IOException {
        return expect(call(handover), ControlResponse.Status.class);
    }

    /**
     * Sends one request and reads its answer, a {@link ControlResponse.Refused} included.
     * A stop waits for the VM to end, so its time limit is the client's plus the stop's (an
     * await-started's: plus its wait); a
     * snapshot's is the client's plus {@link #SNAPSHOT_TIME}, and its progress lines are skipped.
     *
     * @throws IOException if the monitor cannot be reached, or does not answer in time
     */
    public ControlResponse call(ControlRequest request) throws IOException {
        if (request instanceof ControlRequest.ConsoleAttach || request instanceof ControlRequest.ConsoleDetach) {
            throw new IllegalArgumentException("the console is attached with attachConsole");
        }
        if (request instanceof ControlRequest.Snapshot s) return snapshot(s, null);
        Duration limit = switch (request) {
            case ControlRequest.Stop stop -> timeout.plus(stop.timeout());
            case ControlRequest.AwaitStarted wait -> timeout.plus(wait.timeout());
            default -> timeout;
        };
        byte[] line = encode(request);
        try (SocketChannel channel = connect(); Deadline deadline = Deadline.start(channel, limit)) {
            try {
                return exchange(channel, line, lines(channel));
            } catch (IOException e) {
                deadline.check();
                throw e;
            }
        }
    }

    /**
     * Sends {@code handover} {@linkplain ControlRequest.Handover#awaitGo awaiting its go} and
     * returns once it is written: the standby prepares the VM while the caller gets the VM's
     * folder ready; {@link Prepared#go} then lets it run and reads the answer, and closing a
     * {@link Prepared} without its go undoes the preparation. The client's time limit runs from now.
     */
    public Prepared prepare(ControlRequest.Handover handover) throws IOException {
        byte[] line = encode(handover.awaitingGo());
        SocketChannel channel = connect();
        Deadline deadline = Deadline.start(channel, timeout);
        try {
            OutputStream out = Channels.newOutputStream(channel);
            out.write(line);
            out.flush();
            return new Prepared(channel, deadline);
        } catch (IOException | RuntimeException e) {
            deadline.close();
            channel.close();
            if (e instanceof IOException) deadline.check();
            throw e;
        }
    }

    /** A handover sent and being prepared by the standby: {@link #go} once, or {@link #close} to give it up. */
    public static final class Prepared implements AutoCloseable {
        private final SocketChannel channel;
        private final Deadline deadline;

        private Prepared(SocketChannel channel, Deadline deadline) {
            this.channel = channel;
            this.deadline = deadline;
        }

        /**
         * Lets the prepared VM run and returns its status (running); a standby that refused the
         * handover while preparing it answers the refusal here.
         *
         * @throws RefusedException when the standby refused the handover (it stays on standby)
         * @throws IOException if the standby cannot be reached or does not answer within the client's time
         */
        public ControlResponse.Status go() throws IOException {
            try (channel; deadline) {
                InputStream in = lines(channel);
                IOException notSent = null;
                try {
                    OutputStream out = Channels.newOutputStream(channel);
                    out.write(encode(new ControlRequest.Go()));
                    out.flush();
                } catch (IOException e) {
                    notSent = e; // a standby that refused while preparing may have answered and closed: its answer is read below
                }
                try {
                    return expect(readAnswer(in), ControlResponse.Status.class);
                } catch (RefusedException e) {
                    throw e;
                } catch (IOException e) {
                    if (notSent != null) e.addSuppressed(notSent);
                    deadline.check();
                    throw e;
                }
            }
        }

        /** Gives the handover up, unless {@link #go} ended it already: the standby undoes what it prepared. */
        @Override
        public void close() throws IOException {
            deadline.close();
            channel.close();
        }
    }

    /**
     * Attaches to the guest's console: what {@link Console#output()} reads is the recent output
     * the monitor kept (when {@code replay}), then the guest's output as it comes.
     */
    public Console attachConsole(boolean replay) throws IOException {
        byte[] line = encode(new ControlRequest.ConsoleAttach(replay));
        SocketChannel channel = connect();
        try (Deadline deadline = Deadline.start(channel, timeout)) {
            try {
                // Unbuffered: the console's bytes follow the answer's line on this connection, and are the Console's to read.
                expect(exchange(channel, line, Channels.newInputStream(channel)), ControlResponse.ConsoleAttached.class);
            } catch (IOException e) {
                deadline.check();
                throw e;
            }
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
        return new Console(channel);
    }

    /** An attached console; closing it detaches. */
    public static final class Console implements AutoCloseable {
        private final SocketChannel channel;
        private final InputStream output;

        Console(SocketChannel channel) {
            this.channel = channel;
            this.output = Channels.newInputStream(channel);
        }

        /** The guest's console output, raw; ends when the VM stops or the console is detached. */
        public InputStream output() {
            return output;
        }

        /** Asks the monitor to end the stream, then closes the connection. */
        @Override
        public void close() throws IOException {
            try {
                if (channel.isOpen()) {
                    channel.write(java.nio.ByteBuffer.wrap(ControlCodec.write(new ControlRequest.ConsoleDetach()).getBytes(StandardCharsets.UTF_8)));
                }
            } catch (IOException e) {
                // The monitor already ended the stream.
            } finally {
                channel.close();
            }
        }
    }

    private SocketChannel connect() throws IOException {
        SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            channel.connect(UnixDomainSocketAddress.of(socket));
            return channel;
        } catch (IOException e) {
            channel.close();
            throw new IOException("cannot reach the monitor at " + socket + ": " + e.getMessage(), e);
        }
    }

    /**
     * The request's line, made before connecting: the monitor gives a connection 5 s to send its
     * request, and a client JVM's first encoding (Jackson's start) took longer than that in the
     * nested test host, which cut the connection off before the request was written.
     */
    private static byte[] encode(ControlRequest request) {
        return ControlCodec.write(request).getBytes(StandardCharsets.UTF_8);
    }

    /** Writes the request's line and reads one answer line from {@code in}; a channel blocked by a slow monitor is closed by its deadline. */
    private static ControlResponse exchange(SocketChannel channel, byte[] request, InputStream in) throws IOException {
        OutputStream out = Channels.newOutputStream(channel);
        out.write(request);
        out.flush();
        return readAnswer(in);
    }

    /** The answers' lines, buffered: a line is read a byte at a time, and each byte unbuffered is a read(2). One per connection, or buffered bytes are lost. */
    private static InputStream lines(SocketChannel channel) {
        return new BufferedInputStream(Channels.newInputStream(channel));
    }

    private static ControlResponse readAnswer(InputStream in) throws IOException {
        String line = ControlCodec.readLine(in, ControlCodec.MAX_RESPONSE_LINE);
        if (line == null) throw new IOException("the monitor closed the connection without an answer");
        try {
            return ControlCodec.readResponse(line);
        } catch (IllegalArgumentException e) {
            throw new IOException("the monitor's answer is malformed: " + e.getMessage(), e);
        }
    }

    private static <T extends ControlResponse> T expect(ControlResponse response, Class<T> type) throws IOException {
        if (response instanceof ControlResponse.Refused refused) throw new RefusedException(refused);
        if (!type.isInstance(response)) throw new IOException("the monitor answered " + response + " where " + type.getSimpleName() + " was due");
        return type.cast(response);
    }

    /** Closes the channel when the time is up, so that a blocked read or write ends. */
    private static final class Deadline implements AutoCloseable {
        private final Watchdog.Armed armed;
        private final Duration limit;

        private Deadline(SocketChannel channel, Duration limit) {
            this.limit = limit;
            this.armed = Watchdog.arm(channel, limit);
        }

        static Deadline start(SocketChannel channel, Duration limit) {
            return new Deadline(channel, limit);
        }

        /** Throws the timeout if it passed (a failed read or write was then its doing). */
        void check() throws IOException {
            armed.close();
            if (armed.expired()) throw new IOException("the monitor did not answer within " + limit.toMillis() + " ms");
        }

        @Override
        public void close() {
            armed.close();
        }
    }
}
