package io.aether.sync;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A TCP relay in front of a server that drops a client's connection once it has carried more
 * than a byte budget in one direction: a network failure in the middle of a transfer, below TLS.
 *
 * <p>The server's end of the cut connection ends as it would for a client that vanished: its
 * input reaches end-of-stream after every byte relayed so far, and what it still sends is read
 * and dropped until it closes the connection. {@link #close} waits for every relayed connection
 * to end that way. So after closing the proxy, a test finds the server done with the cut request:
 * the client sees the cut at once, while the server may still be reading and storing what
 * arrived before it (under load, megabytes sit in socket buffers).
 */
final class CuttingProxy implements AutoCloseable {

    /** A liveness guard for {@link #close}, far above the milliseconds a server takes to end a connection. */
    private static final Duration END_LIMIT = Duration.ofMinutes(2);

    private final ServerSocket listener;
    private final int backendPort;
    private final long cutAfter;
    private final boolean cutDownstream;
    private final AtomicBoolean cut = new AtomicBoolean();
    private final Thread acceptor;
    private final List<Thread> pumps = new CopyOnWriteArrayList<>();

    /**
     * @param cutAfter       bytes after which the connection carrying them is cut (once)
     * @param cutDownstream  count server-to-client bytes (a download) or client-to-server (an upload)
     */
    CuttingProxy(int backendPort, long cutAfter, boolean cutDownstream) throws IOException {
        this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        this.backendPort = backendPort;
        this.cutAfter = cutAfter;
        this.cutDownstream = cutDownstream;
        this.acceptor = Thread.ofVirtual().start(this::acceptLoop);
    }

    int port() {
        return listener.getLocalPort();
    }

    /** Whether a connection has been cut. */
    boolean didCut() {
        return cut.get();
    }

    private void acceptLoop() {
        while (!listener.isClosed()) {
            try {
                Socket client = listener.accept();
                Socket server = new Socket();
                server.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), backendPort));
                AtomicLong counted = new AtomicLong();
                // Both directions' streams now: a cut may close the client before a pump starts.
                InputStream fromClient = client.getInputStream();
                OutputStream toClient = client.getOutputStream();
                InputStream fromServer = server.getInputStream();
                OutputStream toServer = server.getOutputStream();
                pumps.add(Thread.ofVirtual().start(() -> upstream(fromClient, toServer, client, server, counted)));
                pumps.add(Thread.ofVirtual().start(() -> downstream(fromServer, toClient, client, server, counted)));
            } catch (IOException e) {
                return;
            }
        }
    }

    /** Client to server; at its end (the client closed, or was cut off) the server's input ends. */
    private void upstream(InputStream in, OutputStream out, Socket client, Socket server, AtomicLong counted) {
        byte[] buf = new byte[8192];
        try {
            int n;
            while ((n = in.read(buf)) > 0) {
                int keep = cutDownstream ? n : allowance(counted, n);
                out.write(buf, 0, keep);
                out.flush();
                if (keep < n) {
                    client.close();
                    return;
                }
            }
        } catch (IOException e) {
            // The client went away, or the server did: nothing more goes up.
        } finally {
            try {
                server.shutdownOutput();
            } catch (IOException e) {
                // The server's end is already closed.
            }
        }
    }

    /** Server to client, until the server closes; after a cut its output is read and dropped. */
    private void downstream(InputStream in, OutputStream out, Socket client, Socket server, AtomicLong counted) {
        byte[] buf = new byte[8192];
        boolean clientGone = false;
        try {
            int n;
            while ((n = in.read(buf)) > 0) {
                if (clientGone) {
                    continue;
                }
                int keep = cutDownstream ? allowance(counted, n) : n;
                try {
                    out.write(buf, 0, keep);
                    out.flush();
                } catch (IOException e) {
                    clientGone = true;  // cut off upstream, or closed by the client
                }
                if (keep < n) {
                    client.close();
                    clientGone = true;
                }
            }
        } catch (IOException e) {
            // The server closed or reset the connection: it is over.
        } finally {
            closeQuietly(client);
            closeQuietly(server);
        }
    }

    /** How many of {@code n} more counted bytes may pass; fewer than {@code n} means: cut here. */
    private int allowance(AtomicLong counted, int n) {
        if (cut.get()) {
            return n;
        }
        long total = counted.addAndGet(n);
        if (total <= cutAfter || !cut.compareAndSet(false, true)) {
            return n;
        }
        return (int) Math.max(0, n - (total - cutAfter));
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException e) {
            // Already closed.
        }
    }

    /** Stops accepting, then waits until the server has ended every relayed connection. */
    @Override
    public void close() throws IOException {
        listener.close();
        long deadline = System.nanoTime() + END_LIMIT.toNanos();
        try {
            acceptor.join();
            for (Thread pump : pumps) {
                if (!pump.join(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())))) {
                    throw new IOException("a relayed connection was still open " + END_LIMIT + " after closing the proxy");
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for relayed connections to end");
        }
    }
}
