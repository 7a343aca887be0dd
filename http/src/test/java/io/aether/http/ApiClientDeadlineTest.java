package io.aether.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The client's deadline against a server that accepts and then says nothing, or answers slowly within it. */
@Timeout(60)
class ApiClientDeadlineTest {

    @TempDir
    Path dir;

    /** A Unix socket server that accepts every connection, reads the request, and answers {@code answer} after {@code delay} (null: never). */
    private Thread server(Path socket, String answer, Duration delay, List<SocketChannel> held) throws IOException {
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        return Thread.ofPlatform().daemon().start(() -> {
            try (server) {
                while (true) {
                    SocketChannel c = server.accept();
                    held.add(c);
                    c.read(ByteBuffer.allocate(4096));
                    if (answer != null) {
                        Thread.sleep(delay);
                        c.write(ByteBuffer.wrap(answer.getBytes(StandardCharsets.US_ASCII)));
                        c.close();
                    }
                }
            } catch (IOException | InterruptedException e) {
                // the test ended
            }
        });
    }

    @Test
    void aServerThatNeverAnswersIsCutOffAtTheDeadline() throws Exception {
        Path socket = dir.resolve("silent.sock");
        List<SocketChannel> held = new ArrayList<>();
        server(socket, null, null, held);
        ApiClient client = ApiClient.unix(socket, Duration.ofMillis(300));
        long t0 = System.nanoTime();
        IOException e = assertThrows(IOException.class, () -> client.get("/v1/node"));
        long took = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertTrue(e.getMessage().contains("no answer within the time allowed"), e.getMessage());
        assertTrue(took >= 300, "not before the deadline: " + took + " ms");
    }

    @Test
    void anAnswerWithinTheDeadlineIsReadAndLaterRequestsAreNotCutOff() throws Exception {
        Path socket = dir.resolve("slow.sock");
        List<SocketChannel> held = new ArrayList<>();
        String body = "{\"ok\":true}";
        server(socket, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + body.length() + "\r\n\r\n" + body,
                Duration.ofMillis(150), held);
        ApiClient client = ApiClient.unix(socket, Duration.ofMillis(600));
        // Each request's deadline is disarmed with its answer: ten in a row, each well within its own 600 ms, all answered.
        for (int i = 0; i < 10; i++) {
            ApiClient.Reply reply = client.get("/v1/node");
            assertEquals(200, reply.status());
            assertEquals(body, new String(reply.body(), StandardCharsets.UTF_8));
        }
    }
}
