package io.aether.testhost;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * L1's own channel in a nested run: its second serial port (ttyS1), which carries L1's kernel
 * messages and the heartbeat of its {@code /init}, apart from the scenario's console on ttyS0.
 * QEMU connects to a Unix socket that this side listens on ({@code -serial unix:PATH}), bound
 * before QEMU starts, so that nothing L1 writes is lost.
 */
final class L1Channel implements AutoCloseable {

    /** A longer line is cut: a kernel message is far shorter, and memory stays bounded. */
    static final int MAX_LINE = 4096;

    private final Path directory;
    private final Path socket;
    private final ServerSocketChannel server;

    private L1Channel(Path directory, Path socket, ServerSocketChannel server) {
        this.directory = directory;
        this.socket = socket;
        this.server = server;
    }

    /** Listens on a socket in a new private temporary directory. */
    static L1Channel open() throws IOException {
        Path dir = Files.createTempDirectory("aether-l1-");
        Path socket = dir.resolve("ttyS1.sock");
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            server.bind(UnixDomainSocketAddress.of(socket));
        } catch (IOException | RuntimeException e) {
            server.close();
            JdkImage.deleteTree(dir);
            throw new IOException("cannot listen on " + socket + " for L1's serial port: " + e.getMessage(), e);
        }
        return new L1Channel(dir, socket, server);
    }

    /** QEMU's {@code -serial} value that connects L1's second serial port here. */
    String serialArgument() {
        return "unix:" + socket;
    }

    /**
     * Accepts QEMU's connection and hands each line to {@code lines} until QEMU closes it (or
     * {@link #close()} ends the wait for it).
     *
     * @return the reading thread, which ends then
     */
    Thread start(Consumer<String> lines) {
        return Thread.ofPlatform().daemon().name("testhost-l1-channel").start(() -> {
            try (SocketChannel peer = server.accept()) {
                read(peer, lines);
            } catch (IOException e) {
                // Closed before QEMU connected, or QEMU went away: the console tells why the run ended.
            }
        });
    }

    /**
     * Splits what {@code peer} sends into non-empty lines (LF ends one, CR is dropped), each at
     * most {@link #MAX_LINE} bytes.
     */
    static void read(ReadableByteChannel peer, Consumer<String> lines) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(8192);
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        while (peer.read(buffer.clear()) >= 0) {
            buffer.flip();
            while (buffer.hasRemaining()) {
                byte b = buffer.get();
                if ((b == '\n' && line.size() > 0) || line.size() == MAX_LINE) {
                    lines.accept(line.toString(StandardCharsets.UTF_8));
                    line.reset();
                }
                if (b != '\n' && b != '\r') {
                    line.write(b);
                }
            }
        }
        if (line.size() > 0) {
            lines.accept(line.toString(StandardCharsets.UTF_8));
        }
    }

    @Override
    public void close() throws IOException {
        try {
            server.close();
        } finally {
            JdkImage.deleteTree(directory);
        }
    }
}
