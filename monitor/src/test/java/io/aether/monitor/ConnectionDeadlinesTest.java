package io.aether.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(30)
class ConnectionDeadlinesTest {

    @TempDir
    Path dir;

    @Test
    void dueConnectionsAreClosedCancelledOnesKeptWithOneThreadForAll() throws Exception {
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(dir.resolve("s")));
            List<SocketChannel> clients = new ArrayList<>();
            for (int i = 0; i < 3; i++) clients.add(SocketChannel.open(server.getLocalAddress()));
            try (ConnectionDeadlines deadlines = new ConnectionDeadlines()) {
                int threadsBefore = Thread.activeCount();
                deadlines.closeAfter(clients.get(0), 100);
                ConnectionDeadlines.Deadline kept = deadlines.closeAfter(clients.get(1), 150);
                deadlines.closeAfter(clients.get(2), 50);
                kept.cancel();
                assertEquals(threadsBefore + 1, Thread.activeCount(), "one watchdog thread for every deadline");
                long deadline = System.nanoTime() + 5_000_000_000L;
                while ((clients.get(0).isOpen() || clients.get(2).isOpen()) && System.nanoTime() < deadline) Thread.sleep(10);
                assertFalse(clients.get(0).isOpen(), "closed at its deadline");
                assertFalse(clients.get(2).isOpen(), "closed at its deadline");
                Thread.sleep(300);
                assertTrue(clients.get(1).isOpen(), "a cancelled deadline leaves the connection open");
                deadlines.close();
                while (Thread.getAllStackTraces().keySet().stream().anyMatch(t -> t.getName().equals("control-deadlines"))
                        && System.nanoTime() < deadline) {
                    Thread.sleep(10);
                }
                assertFalse(Thread.getAllStackTraces().keySet().stream().anyMatch(t -> t.getName().equals("control-deadlines")),
                        "close ends the watchdog");
                // After close, a new deadline closes its connection at once rather than start a thread.
                deadlines.closeAfter(clients.get(1), 60_000);
                assertFalse(clients.get(1).isOpen());
            } finally {
                for (SocketChannel c : clients) c.close();
            }
        }
    }
}
