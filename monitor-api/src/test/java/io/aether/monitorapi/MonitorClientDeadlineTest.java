package io.aether.monitorapi;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A monitor that takes the request and never answers: the client gives up at its deadline with a clear error. */
@Timeout(60)
class MonitorClientDeadlineTest {

    @TempDir
    Path dir;

    @Test
    void aMonitorThatNeverAnswersIsCutOffAtTheDeadline() throws Exception {
        Path socket = dir.resolve("monitor.sock");
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        List<SocketChannel> held = new ArrayList<>();
        Thread.ofPlatform().daemon().start(() -> {
            try (server) {
                while (true) {
                    SocketChannel c = server.accept();
                    held.add(c);
                    c.read(ByteBuffer.allocate(4096));
                }
            } catch (IOException e) {
                // the test ended
            }
        });
        MonitorClient client = new MonitorClient(socket, Duration.ofMillis(300));
        long t0 = System.nanoTime();
        IOException e = assertThrows(IOException.class, client::state);
        long took = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertTrue(e.getMessage().contains("the monitor did not answer within 300 ms"), e.getMessage());
        assertTrue(took >= 300 && took < 10_000, "at the deadline: " + took + " ms");
        server.close();
    }
}
