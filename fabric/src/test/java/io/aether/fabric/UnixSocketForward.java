package io.aether.fabric;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Path;

/**
 * A loopback TCP port whose connections go on to a Unix socket, as an operator's
 * {@code socat TCP-LISTEN:...,bind=127.0.0.1,fork UNIX-CONNECT:...} or {@code ssh -L} does: a
 * browser can open the controller's socket through it.
 */
final class UnixSocketForward implements AutoCloseable {

    private final ServerSocketChannel listener;
    private final Path socket;

    UnixSocketForward(Path socket) throws IOException {
        this.socket = socket;
        this.listener = ServerSocketChannel.open().bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        Thread.ofVirtual().name("forward-accept").start(this::accept);
    }

    int port() throws IOException {
        return ((InetSocketAddress) listener.getLocalAddress()).getPort();
    }

    private void accept() {
        while (listener.isOpen()) {
            try {
                SocketChannel browser = listener.accept();
                Thread.ofVirtual().start(() -> connect(browser));
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    private void connect(SocketChannel browser) {
        try (browser; SocketChannel controller = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            Thread answers = Thread.ofVirtual().start(() -> pump(controller, browser));
            pump(browser, controller);
            answers.join();
        } catch (IOException | InterruptedException e) {
            // the connection ends with the browser's or the controller's side
        }
    }

    /** Copies {@code from} to {@code to} until {@code from} ends, then ends {@code to}'s output; on a failure closes both. */
    private static void pump(SocketChannel from, SocketChannel to) {
        ByteBuffer buffer = ByteBuffer.allocate(16 * 1024);
        try {
            while (from.read(buffer) >= 0) {
                buffer.flip();
                while (buffer.hasRemaining()) to.write(buffer);
                buffer.clear();
            }
            to.shutdownOutput();
        } catch (IOException e) {
            closeQuietly(from);
            closeQuietly(to);
        }
    }

    private static void closeQuietly(SocketChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // already gone
        }
    }

    @Override
    public void close() throws IOException {
        listener.close();
    }
}
