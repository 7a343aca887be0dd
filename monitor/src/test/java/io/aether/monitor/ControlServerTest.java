package io.aether.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.monitorapi.ControlRequest;
import io.aether.monitorapi.ControlResponse;
import io.aether.monitorapi.MonitorClient;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The control socket against hostile and ordinary clients, with a made-up handler (no VM). */
@Timeout(60)
class ControlServerTest {

    @TempDir
    Path dir;

    private final List<ControlRequest> seen = new CopyOnWriteArrayList<>();

    private ControlResponse handle(ControlRequest request) {
        seen.add(request);
        return new ControlResponse.Metrics(Map.of("answered", (long) seen.size()));
    }

    private static String raw(Path socket, String request) throws IOException {
        try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            channel.connect(UnixDomainSocketAddress.of(socket));
            channel.write(ByteBuffer.wrap(request.getBytes(StandardCharsets.UTF_8)));
            return new String(Channels.newInputStream(channel).readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void servesRequestsOnA0600SocketAndRemovesItOnClose() throws IOException {
        Path socket = dir.resolve("vm.sock");
        ConsoleRing ring = new ConsoleRing(64);
        try (ControlServer server = ControlServer.start(socket, this::handle, ring)) {
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket, LinkOption.NOFOLLOW_LINKS)));
            assertEquals(Map.of("answered", 1L), new MonitorClient(socket, Duration.ofSeconds(5)).metrics());
            assertEquals("{\"ok\":\"metrics\",\"values\":{\"answered\":2}}\n", raw(socket, "{\"op\":\"pause\"}\n"));
            assertEquals(List.of(new ControlRequest.Metrics(), new ControlRequest.Pause()), seen);
            assertEquals("{\"error\":\"bad_request\",\"message\":\"op: expected a string\"}\n", raw(socket, "{\"op\":1}\n"));
            assertEquals(1, server.refused());
            assertEquals(2, seen.size(), "a refused request reaches no handler");
            try (var files = Files.list(dir)) {
                assertEquals(List.of(socket), files.toList(), "no staging directory is left beside the socket");
            }
        }
        assertFalse(Files.exists(socket, LinkOption.NOFOLLOW_LINKS));
    }

    @Test
    void aStaleSocketIsReplacedButALiveOneOrAFileIsLeftAlone() throws IOException {
        Path socket = dir.resolve("vm.sock");
        try (ServerSocketChannel dead = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            dead.bind(UnixDomainSocketAddress.of(socket)); // closed below without removing its file
        }
        assertTrue(Files.exists(socket, LinkOption.NOFOLLOW_LINKS));
        try (ControlServer server = ControlServer.start(socket, this::handle, new ConsoleRing(64))) {
            assertEquals(Map.of("answered", 1L), new MonitorClient(socket, Duration.ofSeconds(5)).metrics());
            IOException live = assertThrows(IOException.class, () -> ControlServer.start(socket, this::handle, new ConsoleRing(64)));
            assertEquals(socket + ": another monitor answers on this socket", live.getMessage());
            assertEquals(Map.of("answered", 2L), new MonitorClient(socket, Duration.ofSeconds(5)).metrics(), "the first still serves");
        }
        Path file = Files.writeString(dir.resolve("file.sock"), "data");
        IOException notSocket = assertThrows(IOException.class, () -> ControlServer.start(file, this::handle, new ConsoleRing(64)));
        assertEquals(file + ": exists and is not a socket", notSocket.getMessage());
        assertEquals("data", Files.readString(file));
        IOException noDir = assertThrows(IOException.class, () -> ControlServer.start(dir.resolve("no/vm.sock"), this::handle, new ConsoleRing(64)));
        assertEquals(dir.resolve("no/vm.sock") + ": no such directory", noDir.getMessage());
    }

    @Test
    void closeLeavesAFileThatIsNoLongerItsSocket() throws IOException {
        Path socket = dir.resolve("vm.sock");
        ControlServer server = ControlServer.start(socket, this::handle, new ConsoleRing(64));
        Files.delete(socket);
        Files.writeString(socket, "someone else's");
        server.close();
        assertEquals("someone else's", Files.readString(socket));
    }

    @Test
    void aSilentClientIsCutOffAndTheConnectionCapAnswersBusy() throws Exception {
        Path socket = dir.resolve("vm.sock");
        try (ControlServer server = ControlServer.start(socket, this::handle, new ConsoleRing(64))) {
            List<SocketChannel> silent = new ArrayList<>();
            for (int i = 0; i < ControlServer.MAX_CONNECTIONS; i++) {
                SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX);
                c.connect(UnixDomainSocketAddress.of(socket));
                silent.add(c);
            }
            Thread.sleep(200); // every silent connection accepted and holding its place
            assertEquals("{\"error\":\"busy\",\"message\":\"the monitor serves 16 connections at once; try again\"}\n",
                    raw(socket, "{\"op\":\"state\"}\n"));
            long start = System.nanoTime();
            for (SocketChannel c : silent) {
                assertEquals(-1, c.read(ByteBuffer.allocate(16)), "closed by the server without an answer");
                c.close();
            }
            long waited = (System.nanoTime() - start) / 1_000_000;
            // Generous for a loaded machine: what matters is a cut-off by the request deadline, not never.
            assertTrue(waited < ControlServer.REQUEST_MILLIS + 20_000, "cut off after about " + ControlServer.REQUEST_MILLIS + " ms, took " + waited);
            assertEquals(Map.of("answered", 1L), new MonitorClient(socket, Duration.ofSeconds(5)).metrics(), "served again");
            // A silent client is counted by its serving thread once the deadline closed its channel,
            // which the client may see first.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (server.refused() < 1 + ControlServer.MAX_CONNECTIONS && System.nanoTime() < deadline) Thread.sleep(10);
            assertEquals(1 + ControlServer.MAX_CONNECTIONS, server.refused(), "the busy answer and each silent client");
        }
    }

    @Test
    void anAttachedConsoleReplaysFollowsAndEndsOnDetachOrWhenTheRingCloses() throws Exception {
        Path socket = dir.resolve("vm.sock");
        ConsoleRing ring = new ConsoleRing(8);
        ring.write("0123456789".getBytes(StandardCharsets.US_ASCII));
        try (ControlServer server = ControlServer.start(socket, this::handle, ring)) {
            MonitorClient client = new MonitorClient(socket, Duration.ofSeconds(5));
            try (MonitorClient.Console console = client.attachConsole(true)) {
                assertEquals("23456789", new String(console.output().readNBytes(8), StandardCharsets.US_ASCII), "the ring's last 8 bytes");
                ring.write("ab".getBytes(StandardCharsets.US_ASCII));
                assertEquals("ab", new String(console.output().readNBytes(2), StandardCharsets.US_ASCII));
            }
            MonitorClient.Console live = client.attachConsole(false);
            ring.write("cd".getBytes(StandardCharsets.US_ASCII));
            assertEquals("cd", new String(live.output().readNBytes(2), StandardCharsets.US_ASCII), "no replay: from now on");
            ring.close();
            assertEquals(-1, live.output().read(), "the VM's end ends the stream");
            live.close();
            assertTrue(seen.isEmpty(), "console streams reach no handler");
        }
    }
}
