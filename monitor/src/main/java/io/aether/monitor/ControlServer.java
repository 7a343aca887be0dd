package io.aether.monitor;

import io.aether.common.Watchdog;
import io.aether.monitorapi.ControlCodec;
import io.aether.monitorapi.ControlRequest;
import io.aether.monitorapi.ControlResponse;
import io.aether.vmm.VmSnapshot;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * The control socket: a Unix socket (mode 0600 from the moment it exists) on which each
 * connection carries one request line and its answer, or a console stream. Every client is
 * hostile: a request line is bounded in length and in time, connections are capped, and a
 * refused request changes nothing.
 */
final class ControlServer implements AutoCloseable {

    /** Connections served at once; more are answered busy. */
    static final int MAX_CONNECTIONS = 16;
    /** A client must send its request line within this time. */
    static final long REQUEST_MILLIS = 5_000;
    /** How long a connection over the cap is given to take its busy answer. */
    static final long BUSY_MILLIS = 1_000;

    /** Where the socket is now: a launch may move it. */
    private volatile Path path;
    /** The socket file's identity (device and inode), so that close removes it only if it is still ours. */
    private final Object fileKey;
    private final ServerSocketChannel server;
    private final Function<ControlRequest, ControlResponse> handler;
    private final ConsoleRing console;
    private final Semaphore slots = new Semaphore(MAX_CONNECTIONS);
    /** Connections over the cap being told so; beyond these they are closed unanswered. */
    private final Semaphore busySlots = new Semaphore(MAX_CONNECTIONS);
    private final Set<SocketChannel> open = ConcurrentHashMap.newKeySet();
    private final AtomicLong refused = new AtomicLong();
    private final Thread acceptor;
    /** The acceptor's thread id in the kernel, known once it runs (the threads it starts inherit its priority). */
    private final CompletableFuture<Integer> acceptorTid = new CompletableFuture<>();
    private volatile boolean closing;
    /** Run once a handover's answer has been written (or could not be). */
    private volatile Runnable afterHandover = () -> { };

    private ControlServer(Path path, ServerSocketChannel server, Function<ControlRequest, ControlResponse> handler, ConsoleRing console)
            throws IOException {
        this.path = path;
        this.fileKey = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
        this.server = server;
        this.handler = handler;
        this.console = console;
        this.acceptor = Thread.ofPlatform().name("control-accept").daemon().unstarted(this::acceptLoop);
    }

    /** What to do once each handover's answer is written: work that must not hold the answer up. */
    void afterHandoverAnswered(Runnable action) {
        afterHandover = action;
    }

    /**
     * Binds the socket at {@code path} and serves {@code handler} there.
     *
     * @throws IOException naming the path: its directory is missing, a monitor already answers
     *     there, or something that is not a socket is in the way
     */
    static ControlServer start(Path path, Function<ControlRequest, ControlResponse> handler, ConsoleRing console) throws IOException {
        ServerSocketChannel channel = bind(path);
        try {
            ControlServer s = new ControlServer(path, channel, handler, console);
            s.acceptor.start();
            return s;
        } catch (IOException e) {
            channel.close();
            throw e;
        }
    }

    /** Requests refused for being malformed, late or over the connection cap. */
    long refused() {
        return refused.get();
    }

    /**
     * Binds in a fresh 0700 directory beside {@code path}, sets the socket to 0600 and renames it
     * into place, so that no other user can connect in between; a stale socket (nobody answers)
     * is replaced, anything else is left alone.
     */
    private static ServerSocketChannel bind(Path path) throws IOException {
        Path dir = requireFree(path);
        Path staging = Files.createTempDirectory(dir, ".monitor-", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Path temporary = staging.resolve("s");
        ServerSocketChannel channel = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            channel.bind(UnixDomainSocketAddress.of(temporary));
            Files.setPosixFilePermissions(temporary, PosixFilePermissions.fromString("rw-------"));
            Files.move(temporary, path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return channel;
        } catch (IOException | RuntimeException e) {
            channel.close();
            Files.deleteIfExists(temporary);
            throw new IOException(path + ": cannot serve the control socket: " + e.getMessage(), e);
        } finally {
            Files.deleteIfExists(staging);
        }
    }

    /**
     * Checks that the socket may be put at {@code path}, and returns its directory: a stale socket
     * there (nobody answers: left by a monitor that died) is replaced by the rename that follows,
     * anything else is left alone.
     */
    private static Path requireFree(Path path) throws IOException {
        Path dir = path.toAbsolutePath().getParent();
        if (!Files.isDirectory(dir)) throw new IOException(path + ": no such directory");
        if (Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            BasicFileAttributes a = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            if (!a.isOther()) throw new IOException(path + ": exists and is not a socket");
            if (answers(path)) throw new IOException(path + ": another monitor answers on this socket");
        }
        return dir;
    }

    /**
     * Moves the socket to {@code target} by renaming it, so that it keeps serving (connections
     * made since included) and never is absent. The same rules as for binding hold at the
     * target; on a refusal the socket stays where it was.
     *
     * @throws IOException naming the target: missing directory, something in the way, another
     *     file system
     */
    synchronized void moveTo(Path target) throws IOException {
        requireFree(target);
        try {
            Files.move(path, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException(target + ": not on the file system of " + path + " (the socket is moved by renaming it)", e);
        } catch (IOException e) {
            throw new IOException(target + ": cannot move the socket there: " + e.getMessage(), e);
        }
        path = target;
    }

    private static boolean answers(Path socket) {
        try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            probe.connect(UnixDomainSocketAddress.of(socket));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** The acceptor's thread id in the kernel, waited for until it has started. */
    int acceptorTid() {
        try {
            return acceptorTid.join();
        } catch (CompletionException e) {
            throw new IllegalStateException("the acceptor's thread id is unknown: " + e.getCause().getMessage(), e.getCause());
        }
    }

    private void acceptLoop() {
        try {
            acceptorTid.complete(StandbyPriority.callerTid());
        } catch (RuntimeException e) {
            acceptorTid.completeExceptionally(e);
        }
        while (!closing) {
            SocketChannel client;
            try {
                client = server.accept();
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                continue;
            }
            if (!slots.tryAcquire()) {
                refused.incrementAndGet();
                if (!busySlots.tryAcquire()) {
                    closeQuietly(client); // a flood: not even an answer
                    continue;
                }
                // Platform threads, not virtual ones: a virtual thread would start the JDK's
                // virtual-thread scheduler in every monitor a client ever reached (its carriers, its
                // unparker and the master poller, five threads and ~35 classes kept for the
                // process's life: docs/BENCHMARKS.md (d)).
                Thread.ofPlatform().name("control-busy").daemon().start(() -> {
                    Watchdog.Armed deadline = Watchdog.arm(client, Duration.ofMillis(BUSY_MILLIS));
                    try {
                        refuse(client, Channels.newInputStream(client), ControlResponse.Refused.BUSY,
                                "the monitor serves " + MAX_CONNECTIONS + " connections at once; try again");
                    } finally {
                        deadline.close();
                        closeQuietly(client);
                        busySlots.release();
                    }
                });
                continue;
            }
            open.add(client);
            Thread.ofPlatform().name("control-client").daemon().start(() -> {
                try {
                    serve(client);
                } finally {
                    open.remove(client);
                    slots.release();
                    closeQuietly(client);
                }
            });
        }
    }

    private void serve(SocketChannel client) {
        long accepted = LaunchTrace.now();
        // Buffered: the request's line is read a byte at a time, and each byte unbuffered is a read(2) (0.2 to 2 ms a line here).
        InputStream in = new BufferedInputStream(Channels.newInputStream(client));
        ControlRequest request;
        long read;
        // A client that sends nothing, or trickles, is cut off: the read ends when the channel closes.
        Watchdog.Armed deadline = Watchdog.arm(client, Duration.ofMillis(REQUEST_MILLIS));
        try {
            String line = ControlCodec.readLine(in, ControlCodec.MAX_REQUEST_LINE);
            if (line == null) return;
            request = ControlCodec.readRequest(line);
            read = LaunchTrace.now();
        } catch (IOException e) {
            refused.incrementAndGet();
            refuse(client, in, ControlResponse.Refused.BAD_REQUEST, "request: " + e.getMessage());
            return;
        } catch (IllegalArgumentException e) {
            refused.incrementAndGet();
            refuse(client, in, ControlResponse.Refused.BAD_REQUEST, e.getMessage());
            return;
        } finally {
            deadline.close();
        }
        if (request instanceof ControlRequest.ConsoleAttach attach) {
            streamConsole(client, in, attach.replay());
        } else if (request instanceof ControlRequest.ConsoleDetach) {
            answer(client, new ControlResponse.Refused(ControlResponse.Refused.BAD_REQUEST, "op: console-detach is sent on an attached console"));
        } else if (request instanceof ControlRequest.Snapshot snapshot && snapshot.progress()) {
            // Progress lines go out on this connection while the handler works; the answer follows them.
            VmSnapshot.Progress progress = (done, total) -> answer(client, new ControlResponse.Progress(done, total));
            answer(client, ScopedValue.where(PROGRESS, progress).call(() -> handler.apply(request)));
        } else if (request instanceof ControlRequest.Go) {
            refused.incrementAndGet();
            answer(client, new ControlResponse.Refused(ControlResponse.Refused.BAD_REQUEST, "op: go is sent on a handover's connection, after it"));
        } else if (request instanceof ControlRequest.Handover handover) {
            LaunchTrace.begin(accepted, read);
            boolean[] goRead = {false};
            if (handover.awaitGo()) {
                GO.set(() -> {
                    goRead[0] = true;
                    return readGo(client, in);
                });
            }
            try {
                ControlResponse response = handler.apply(request);
                GO.remove();
                answer(client, response);
                // Refused before its go was read: the go the client sends next is read before the
                // connection closes, or closing with it unread would reset the connection under
                // the refusal (a Unix socket closed with unread data errs its peer's reads).
                if (handover.awaitGo() && !goRead[0]) readGo(client, in);
                LaunchTrace.end("answer-written");
            } finally {
                GO.remove();
                afterHandover.run();
            }
        } else {
            answer(client, handler.apply(request));
        }
    }

    /**
     * The go of the handover being prepared on this thread, if it awaits one: reads its line. A
     * thread-local, not a scoped value: the first scoped value of a standby's life loaded its
     * classes on the launch's path (1.5 ms).
     */
    private static final ThreadLocal<java.util.function.BooleanSupplier> GO = new ThreadLocal<>();

    /**
     * For the handover handled on this thread: whether it may go on now. A handover that awaits
     * its go waits here for the go line (within {@link #REQUEST_MILLIS}); false when its client
     * gave it up (the connection ended, or sent something else). Any other handover goes on at once.
     */
    static boolean awaitGo() {
        java.util.function.BooleanSupplier go = GO.get();
        return go == null || go.getAsBoolean();
    }

    /** Reads the line after a handover: true for a go, false for anything else, the end of the connection, or none in time. */
    private boolean readGo(SocketChannel client, InputStream in) {
        Watchdog.Armed deadline = Watchdog.arm(client, Duration.ofMillis(REQUEST_MILLIS));
        try {
            String line = ControlCodec.readLine(in, ControlCodec.MAX_REQUEST_LINE);
            if (line == null) return false; // given up: not a fault
            if (ControlCodec.readRequest(line) instanceof ControlRequest.Go) return true;
        } catch (IOException | IllegalArgumentException e) {
            // Late, broken or malformed: counted below.
        } finally {
            deadline.close();
        }
        refused.incrementAndGet();
        return false;
    }

    /** Where the request being handled on this thread reports progress, if its client asked for it. */
    private static final ScopedValue<VmSnapshot.Progress> PROGRESS = ScopedValue.newInstance();

    /** The progress listener of the request this thread handles, or null if its client did not ask for progress. */
    static VmSnapshot.Progress progress() {
        return PROGRESS.isBound() ? PROGRESS.get() : null;
    }

    /**
     * Answers a refusal, then reads (a bounded amount of) what the client still sends before
     * closing: closing with unread bytes would reset the connection and lose the answer. The
     * caller's deadline bounds the time.
     */
    private static void refuse(SocketChannel client, InputStream in, String code, String why) {
        if (!answer(client, new ControlResponse.Refused(code, why))) return;
        try {
            client.shutdownOutput();
            byte[] sink = new byte[4096];
            long left = 16L * ControlCodec.MAX_REQUEST_LINE;
            int n;
            while (left > 0 && (n = in.read(sink, 0, (int) Math.min(sink.length, left))) > 0) left -= n;
        } catch (IOException e) {
            // The client went away, or its deadline closed the connection.
        }
    }

    /** Sends the ring's output from its oldest byte (or from now) until detach, close, or the VM's end. */
    private void streamConsole(SocketChannel client, InputStream in, boolean replay) {
        // The position is fixed before the client hears it is attached: output written once it
        // knows is never missed.
        long position = replay ? console.oldest() : console.total();
        if (!answer(client, new ControlResponse.ConsoleAttached())) return;
        Thread detacher = Thread.ofPlatform().name("console-detach").daemon().start(() -> {
            // Whatever the client sends next (a detach, or its end of the connection) ends the stream.
            try {
                ControlCodec.readLine(in, ControlCodec.MAX_REQUEST_LINE);
            } catch (IOException e) {
                // The client went away.
            }
            closeQuietly(client);
        });
        byte[] chunk = new byte[8192];
        try {
            while (client.isOpen()) {
                int n = console.read(position, chunk, 200);
                if (n < 0) break;
                position += n;
                ByteBuffer buffer = ByteBuffer.wrap(chunk, 0, n);
                while (buffer.hasRemaining()) client.write(buffer);
            }
        } catch (ConsoleRing.Overrun e) {
            refused.incrementAndGet();
        } catch (IOException | InterruptedException e) {
            // Detached, or the client stopped reading.
        } finally {
            detacher.interrupt();
        }
    }

    private static boolean answer(SocketChannel client, ControlResponse response) {
        try {
            ByteBuffer buffer = ByteBuffer.wrap(ControlCodec.write(response).getBytes(StandardCharsets.UTF_8));
            while (buffer.hasRemaining()) client.write(buffer);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static void closeQuietly(SocketChannel channel) {
        try {
            channel.close();
        } catch (IOException e) {
            // Closing a connection that failed: nothing left to do.
        }
    }

    /**
     * Stops accepting and removes the socket file, gives answers in flight up to {@code graceMillis}
     * to be written, then closes every connection.
     */
    void close(long graceMillis) {
        Path path = this.path;
        closing = true;
        try {
            server.close();
        } catch (IOException e) {
            // Closing the listener cannot fail in a way that matters here.
        }
        try {
            Object now = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
            if (now != null && now.equals(fileKey)) Files.delete(path);
        } catch (IOException e) {
            // Gone already, or left for the next monitor at this path, which replaces a stale socket.
        }
        try {
            if (slots.tryAcquire(MAX_CONNECTIONS, graceMillis, TimeUnit.MILLISECONDS)) slots.release(MAX_CONNECTIONS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        open.forEach(ControlServer::closeQuietly);
    }

    @Override
    public void close() {
        close(2_000);
    }
}
