package io.aether.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The client keeps a Unix-socket connection for the next request, and never reuses one that the
 * server closed, asked to close, or left with an answer it could not delimit. A scripted server
 * (raw HTTP/1.1 on a socket) records on which connection each request came.
 */
@Timeout(60)
class ApiClientKeepAliveTest {

    @TempDir
    Path dir;

    /** One request as the server read it: the connection's number (from 0), its head's lines, its body. */
    record Seen(int connection, List<String> head, String body) {
        String requestLine() {
            return head.getFirst();
        }

        boolean hasHeader(String name, String value) {
            return head.stream().anyMatch(h -> h.toLowerCase(Locale.ROOT).equals(name.toLowerCase(Locale.ROOT) + ": " + value.toLowerCase(Locale.ROOT)));
        }
    }

    /** What the server does with a request: the bytes to answer (null: close without answering), then whether to close. */
    record Answer(String bytes, boolean close) { }

    private final List<Seen> seen = new CopyOnWriteArrayList<>();
    /** Connections that ended (the client closed them: end of stream), by number. */
    private final List<Integer> ended = new CopyOnWriteArrayList<>();
    private ServerSocketChannel server;

    private static String ok(String body) {
        return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + body.length() + "\r\n\r\n" + body;
    }

    /** Serves {@code script(connection, request number on it)} on a socket; returns the client. */
    private ApiClient serve(BiFunction<Integer, Integer, Answer> script) throws IOException {
        Path socket = dir.resolve("api.sock");
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        Thread.ofPlatform().daemon().start(() -> {
            for (int n = 0; ; n++) {
                SocketChannel c;
                try {
                    c = server.accept();
                } catch (IOException closed) {
                    return;
                }
                int connection = n;
                Thread.ofPlatform().daemon().start(() -> connection(c, connection, script));
            }
        });
        return ApiClient.unix(socket, Duration.ofSeconds(10));
    }

    private void connection(SocketChannel c, int connection, BiFunction<Integer, Integer, Answer> script) {
        try (c) {
            InputStream in = Channels.newInputStream(c);
            OutputStream out = Channels.newOutputStream(c);
            for (int i = 0; ; i++) {
                List<String> head = new java.util.ArrayList<>();
                for (String line = line(in); ; line = line(in)) {
                    if (line == null) {
                        ended.add(connection);
                        return;
                    }
                    if (line.isEmpty()) break;
                    head.add(line);
                }
                int length = head.stream().filter(h -> h.toLowerCase(Locale.ROOT).startsWith("content-length:"))
                        .mapToInt(h -> Integer.parseInt(h.substring(15).strip())).findFirst().orElse(0);
                String body = new String(in.readNBytes(length), StandardCharsets.UTF_8);
                seen.add(new Seen(connection, head, body));
                Answer a = script.apply(connection, i);
                if (a.bytes() == null) return;
                out.write(a.bytes().getBytes(StandardCharsets.UTF_8));
                out.flush();
                if (a.close()) return;
            }
        } catch (IOException e) {
            // the client went away
        }
    }

    private static String line(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (int c; (c = in.read()) >= 0; ) {
            if (c == '\n') {
                String s = b.toString(StandardCharsets.US_ASCII);
                return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
            }
            b.write(c);
        }
        return null;
    }

    @AfterEach
    void stop() throws IOException {
        if (server != null) server.close();
    }

    @Test
    void requestsGoOutOnOneConnectionEachWithItsBodyInOneWrite() throws Exception {
        ApiClient client = serve((conn, i) -> new Answer(ok("{\"n\":" + i + "}"), false));
        assertEquals("{\"n\":0}", client.get("/v1/a").text());
        assertEquals("{\"n\":1}", client.post("/v1/b", Map.of("name", "x")).text());
        assertEquals("{\"n\":2}", client.get("/v1/c").text());
        assertEquals(3, seen.size());
        for (Seen s : seen) {
            assertEquals(0, s.connection(), "every request on the first connection: " + seen);
            assertFalse(s.hasHeader("connection", "close"), s.head().toString());
            assertTrue(s.hasHeader("host", "localhost"), s.head().toString());
        }
        assertEquals("POST /v1/b HTTP/1.1", seen.get(1).requestLine());
        assertEquals("{\"name\":\"x\"}", seen.get(1).body());
    }

    @Test
    void aConnectionTheServerClosedIsNotReused() throws Exception {
        // Answers, then closes as an idle timeout would (no Connection: close said).
        ApiClient client = serve((conn, i) -> new Answer(ok("{}"), true));
        client.get("/v1/a");
        // The server's close reaches the client's end before its next request: it connects anew.
        Thread.sleep(100);
        assertEquals(200, client.get("/v1/b").status());
        assertEquals(List.of(0, 1), seen.stream().map(Seen::connection).toList());
    }

    @Test
    void aKeptConnectionClosedJustAsTheRequestGoesOutIsRetriedOnANewOne() throws Exception {
        // The first connection's second request is read and dropped: as if the server closed it then.
        ApiClient client = serve((conn, i) -> conn == 0 && i == 1 ? new Answer(null, true) : new Answer(ok("{\"c\":" + conn + "}"), false));
        assertEquals("{\"c\":0}", client.get("/v1/a").text());
        assertEquals("{\"c\":1}", client.get("/v1/b").text());
        assertEquals(List.of(0, 0, 1), seen.stream().map(Seen::connection).toList());
    }

    @Test
    void anAnswerThatSaysCloseIsNotKept() throws Exception {
        // The server says close but leaves its end open: the client must close it, not send on it.
        ApiClient client = serve((conn, i) -> new Answer("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}", false));
        client.get("/v1/a");
        client.get("/v1/b");
        assertEquals(List.of(0, 1), seen.stream().map(Seen::connection).toList());
        waitFor(() -> ended.contains(0) ? ended : null, "the client's close of connection 0");
    }

    @Test
    void anAnswerWithoutALengthIsReadToItsEndAndNotKept() throws Exception {
        ApiClient client = serve((conn, i) -> new Answer("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"to\":\"end\"}", true));
        assertEquals("{\"to\":\"end\"}", client.get("/v1/a").text());
        assertEquals("{\"to\":\"end\"}", client.get("/v1/b").text());
        assertEquals(List.of(0, 1), seen.stream().map(Seen::connection).toList());
    }

    @Test
    void noContentHasNoBodyToWaitFor() throws Exception {
        // A 204 carries no length and no body; the connection stays open: reading to its end would hang.
        ApiClient client = serve((conn, i) -> new Answer(i == 0 ? "HTTP/1.1 204 No Content\r\n\r\n" : ok("{}"), false));
        assertEquals(204, client.send("DELETE", "/v1/a", null).status());
        assertEquals(200, client.get("/v1/b").status());
        assertEquals(List.of(0, 0), seen.stream().map(Seen::connection).toList());
    }

    @Test
    void aChunkedAnswerReadToItsLastChunkKeepsTheConnection() throws Exception {
        ApiClient client = serve((conn, i) -> new Answer("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n4\r\n\":1}\r\n0\r\n\r\n", false));
        assertEquals("{\"a\":1}", client.get("/v1/a").text());
        assertEquals("{\"a\":1}", client.get("/v1/b").text());
        assertEquals(List.of(0, 0), seen.stream().map(Seen::connection).toList());
    }

    @Test
    void aKeptConnectionIsClosedOnceItHasIdled() throws Exception {
        ApiClient client = serve((conn, i) -> new Answer(ok("{}"), false));
        client.get("/v1/a");
        long t0 = System.nanoTime();
        CountDownLatch closed = new CountDownLatch(1);
        Thread.ofPlatform().daemon().start(() -> {
            while (!ended.contains(0)) Thread.onSpinWait();
            closed.countDown();
        });
        assertTrue(closed.await(ApiClient.KEEP_IDLE.toMillis() + 5_000, TimeUnit.MILLISECONDS), "the idle connection was never closed");
        long after = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertTrue(after >= ApiClient.KEEP_IDLE.toMillis() - 100, "closed after " + after + " ms, before its idle time");
    }

    @Test
    void concurrentRequestsKeepAtMostTheCapOfConnections() throws Exception {
        CountDownLatch all = new CountDownLatch(4);
        ApiClient client = serve((conn, i) -> {
            all.countDown();
            try {
                all.await(10, TimeUnit.SECONDS); // four requests in flight at once, on four connections
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return new Answer(ok("{}"), false);
        });
        List<Thread> threads = new java.util.ArrayList<>();
        for (int t = 0; t < 4; t++) threads.add(Thread.ofPlatform().start(() -> {
            try {
                client.get("/v1/a");
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }));
        for (Thread t : threads) t.join();
        // Two of the four are closed at once, two are kept.
        waitFor(() -> ended.size() == 4 - ApiClient.MAX_KEPT ? ended : null, "the closes beyond the cap");
        Thread.sleep(100);
        assertEquals(4 - ApiClient.MAX_KEPT, ended.size(), "connections closed at once: " + ended);
    }

    private static <T> T waitFor(java.util.function.Supplier<T> check, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            T t = check.get();
            if (t != null) return t;
            Thread.sleep(5);
        }
        throw new AssertionError("timed out waiting for " + what);
    }
}
