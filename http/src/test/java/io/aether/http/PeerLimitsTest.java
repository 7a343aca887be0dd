package io.aether.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Slow peers, connection caps and idle connections, over a real Unix socket. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PeerLimitsTest {

    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final Duration ONE_BYTE_EVERY = Duration.ofMillis(200);
    private static final ObjectMapper PEER = new ObjectMapper();

    @TempDir
    Path dir;
    private HttpServer server;
    private Path socket;

    private void start(Limits limits) throws Exception {
        socket = dir.resolve("api.sock");
        server = HttpServer.start(List.of(new Listener.UnixSocket(socket)), new Router()
                .get("/v1/hello", req -> Response.ok(Map.of("hello", "world")))
                .get("/v1/think", req -> {
                    Thread.sleep(1500); // computing, not waiting on the peer
                    return Response.ok(Map.of("thought", "long"));
                })
                .post("/v1/echo", req -> Response.ok(req.body(Map.class))), limits);
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    @Test
    void aPeerTricklingItsRequestHeadIsCutOffByTheDefaultRate() throws Exception {
        start(Limits.DEFAULTS);
        long t0 = System.nanoTime();
        try (Raw raw = new Raw(socket)) {
            boolean sentAll = raw.trickle("GET /v1/hello HTTP/1.1\r\nHost: localhost\r\nUser-Agent: slowloris\r\nAccept: */*\r\n\r\n",
                    ONE_BYTE_EVERY);
            String answer = raw.readToEnd(WAIT);
            long seconds = (System.nanoTime() - t0) / 1_000_000_000L;
            assertFalse(sentAll, "the server closed the connection before the head was complete");
            assertEquals("", answer, "a head cut off gets no answer");
            assertTrue(seconds < 10, "cut off after the 2 s grace, long before the 30 s idle timeout; took " + seconds + " s");
        }
        assertEquals(1, server.stats().refused(Stats.Refusal.SLOW_PEER));
        assertEquals(0, server.stats().requests());
    }

    @Test
    void aPeerTricklingItsBodyIsAnswered408() throws Exception {
        start(Limits.DEFAULTS);
        String body = "{\"pad\":\"" + "x".repeat(100) + "\"}";
        try (Raw raw = new Raw(socket)) {
            raw.send("POST /v1/echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: " + body.length() + "\r\n\r\n");
            assertFalse(raw.trickle(body, ONE_BYTE_EVERY), "cut off mid-body");
            Raw.Answer a = Raw.parse(raw.readToEnd(WAIT));
            assertEquals(408, a.status());
            assertEquals("close", a.headers().get("connection"));
            assertEquals(Map.of("error", "request_timeout", "message", "request body arrived slower than 1024 bytes/s"),
                    PEER.readValue(a.body(), Map.class));
        }
        assertEquals(1, server.stats().refused(Stats.Refusal.SLOW_PEER));
    }

    @Test
    void aSmallRequestSplitWithinTheGraceIsServed() throws Exception {
        start(Limits.DEFAULTS.withMinDataRate(1024, Duration.ofSeconds(3)));
        try (Raw raw = new Raw(socket)) {
            raw.send("GET /v1/hel");
            Thread.sleep(400);
            raw.send("lo HTTP/1.1\r\nHost: local");
            Thread.sleep(400);
            raw.send("host\r\nConnection: close\r\n\r\n");
            assertEquals(200, Raw.parse(raw.readToEnd(WAIT)).status());
        }
        assertEquals(0, server.stats().refused(Stats.Refusal.SLOW_PEER));
    }

    @Test
    void anIdleKeepAliveConnectionIsNotMistakenForASlowOne() throws Exception {
        start(Limits.DEFAULTS.withMinDataRate(1024, Duration.ofMillis(200)));
        try (Raw raw = new Raw(socket)) {
            raw.send("GET /v1/hello HTTP/1.1\r\nHost: localhost\r\n\r\n");
            assertEquals(200, raw.readAnswer(WAIT).status());
            Thread.sleep(1000); // five grace periods without a byte: idle, not slow
            raw.send("GET /v1/hello HTTP/1.1\r\nHost: localhost\r\n\r\n");
            assertEquals(200, raw.readAnswer(WAIT).status());
        }
        assertEquals(0, server.stats().refused(Stats.Refusal.SLOW_PEER));
    }

    @Test
    void connectionsOverTheTotalCapAreAnswered503AndClosed() throws Exception {
        start(Limits.DEFAULTS.withMaxConnections(2, 2));
        try (Raw first = new Raw(socket); Raw second = new Raw(socket)) {
            for (Raw r : List.of(first, second)) {
                r.send("GET /v1/hello HTTP/1.1\r\nHost: localhost\r\n\r\n");
                assertEquals(200, r.readAnswer(WAIT).status());
            }
            try (Raw third = new Raw(socket)) {
                third.send("GET /v1/hello HTTP/1.1\r\nHost: localhost\r\n\r\n");
                Raw.Answer a = Raw.parse(third.readToEnd(WAIT));
                assertEquals(503, a.status());
                assertEquals("1", a.headers().get("retry-after"));
                assertEquals("close", a.headers().get("connection"));
                assertEquals(Map.of("error", "unavailable", "message", "server busy: 2 connections open (limit 2)"),
                        PEER.readValue(a.body(), Map.class));
            }
            assertEquals(2, server.stats().connections());
        }
        assertEquals(1, server.stats().refused(Stats.Refusal.CONNECTIONS));
        // The two closed: a new connection is served again.
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (server.stats().connections() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(200, ApiClient.unix(socket, WAIT).get("/v1/hello").status());
    }

    @Test
    void anIdleConnectionIsClosedAfterTheIdleTimeout() throws Exception {
        start(Limits.DEFAULTS.withHeartbeat(Duration.ofMillis(100)).withIdleTimeout(Duration.ofMillis(500)));
        long t0 = System.nanoTime();
        try (Raw raw = new Raw(socket)) {
            assertEquals("", raw.readToEnd(WAIT));
        }
        long millis = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(millis >= 400 && millis < 5000, "closed after about 500 ms, took " + millis + " ms");
    }

    @Test
    void aHandlerComputingLongerThanTheIdleTimeoutIsAnswered() throws Exception {
        // The idle timeout is the peer's: nothing is read or written while the handler works, and the deadline bounds that.
        start(Limits.DEFAULTS.withHeartbeat(Duration.ofMillis(100)).withIdleTimeout(Duration.ofMillis(300)));
        ApiClient.Reply reply = ApiClient.unix(socket, WAIT).get("/v1/think");
        assertEquals(200, reply.status());
        assertEquals(Map.of("thought", "long"), reply.json(Map.class));
    }
}
