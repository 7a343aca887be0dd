package io.aether.sync;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A TCP relay in front of a server that drops a connection once it has carried more than a
 * byte budget in one direction: a network failure in the middle of a transfer, below TLS.
 */
final class CuttingProxy implements AutoCloseable {

    private final ServerSocket listener;
    private final int backendPort;
    private final long cutAfter;
    private final boolean cutDownstream;
    private final AtomicBoolean cut = new AtomicBoolean();
    private final AtomicLong carried = new AtomicLong();

    /**
     * @param cutAfter       bytes after which the connection carrying them is closed (once)
     * @param cutDownstream  count server-to-client bytes (a download) or client-to-server (an upload)
     */
    CuttingProxy(int backendPort, long cutAfter, boolean cutDownstream) throws IOException {
        this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        this.backendPort = backendPort;
        this.cutAfter = cutAfter;
        this.cutDownstream = cutDownstream;
        Thread.ofVirtual().start(this::acceptLoop);
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
                AtomicLong count = new AtomicLong();
                Thread.ofVirtual().start(() -> pump(client, server, !cutDownstream, count));
                Thread.ofVirtual().start(() -> pump(server, client, cutDownstream, count));
            } catch (IOException e) {
                return;
            }
        }
    }

    private void pump(Socket from, Socket to, boolean counted, AtomicLong count) {
        byte[] buf = new byte[8192];
        try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
            int n;
            while ((n = in.read(buf)) > 0) {
                if (counted && !cut.get() && count.addAndGet(n) > cutAfter) {
                    int keep = (int) Math.max(0, n - (count.get() - cutAfter));
                    out.write(buf, 0, keep);
                    out.flush();
                    cut.set(true);
                    from.close();
                    to.close();
                    return;
                }
                out.write(buf, 0, n);
                out.flush();
                carried.addAndGet(n);
            }
        } catch (IOException e) {
            // One side closed: close the other too.
        } finally {
            try {
                from.close();
                to.close();
            } catch (IOException e) {
                // Already closed.
            }
        }
    }

    @Override
    public void close() throws IOException {
        listener.close();
    }
}
