package io.aether.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Stopping a server with requests in flight, over a real Unix socket. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class GracefulStopTest {

    private static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;
    /** Own threads: the common pool may have a single worker here, which a blocked client would hold. */
    private final ExecutorService background = Executors.newVirtualThreadPerTaskExecutor();

    @AfterEach
    void shutdown() {
        background.shutdownNow();
    }

    @Test
    void requestsInFlightFinishWithinTheGraceWhileNewOnesAreRefused() throws Exception {
        Path socket = dir.resolve("api.sock");
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        HttpServer server = HttpServer.start(List.of(new Listener.UnixSocket(socket)), new Router()
                .get("/v1/slow", req -> {
                    entered.countDown();
                    release.await();
                    return Response.ok(Map.of("finished", true));
                })
                .get("/v1/fast", req -> Response.ok(Map.of())), Limits.DEFAULTS);
        try (Raw keptAlive = new Raw(socket)) {
            keptAlive.send("GET /v1/fast HTTP/1.1\r\nHost: localhost\r\n\r\n");
            assertEquals(200, keptAlive.readAnswer(WAIT).status());

            CompletableFuture<ApiClient.Reply> inFlight = CompletableFuture.supplyAsync(() -> {
                try {
                    return ApiClient.unix(socket, WAIT).get("/v1/slow");
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            }, background);
            assertTrue(entered.await(10, TimeUnit.SECONDS));
            long t0 = System.nanoTime();
            CompletableFuture<Void> stopping = CompletableFuture.runAsync(() -> server.stop(Duration.ofSeconds(10)), background);

            // While the slow request runs: no new connections, and a new request on an open one is 503.
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (Files.exists(socket) && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertFalse(Files.exists(socket), "the socket file goes at once");
            assertThrows(IOException.class, () -> ApiClient.unix(socket, WAIT).get("/v1/fast"));
            keptAlive.send("GET /v1/fast HTTP/1.1\r\nHost: localhost\r\n\r\n");
            Raw.Answer refused = Raw.parse(keptAlive.readToEnd(WAIT));
            assertEquals(503, refused.status());
            assertEquals(Map.of("error", "unavailable", "message", "server is stopping"), new ObjectMapper().readValue(refused.body(), Map.class));
            assertFalse(stopping.isDone(), "the stop waits for the request in flight");
            Thread.sleep(300);
            release.countDown();
            ApiClient.Reply reply = inFlight.get(10, TimeUnit.SECONDS);
            assertEquals(200, reply.status());
            assertEquals(Map.of("finished", true), reply.json(Map.class));
            stopping.get(10, TimeUnit.SECONDS);
            long millis = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(millis >= 300 && millis < 5000, "stopped once the request finished, well within the grace; took " + millis + " ms");
        }
        assertEquals(1, server.stats().refused(Stats.Refusal.STOPPING));
        assertEquals(0, server.stats().inFlight());
    }

    @Test
    void aRequestOutlastingTheGraceIsCutAndTheStopReturns() throws Exception {
        Path socket = dir.resolve("api.sock");
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch interrupted = new CountDownLatch(1);
        HttpServer server = HttpServer.start(List.of(new Listener.UnixSocket(socket)), new Router().get("/v1/forever", req -> {
            entered.countDown();
            try {
                Thread.sleep(Duration.ofMinutes(5));
            } catch (InterruptedException e) {
                interrupted.countDown();
                throw e;
            }
            return Response.ok(Map.of());
        }), Limits.DEFAULTS);
        CompletableFuture<ApiClient.Reply> inFlight = CompletableFuture.supplyAsync(() -> {
            try {
                return ApiClient.unix(socket, WAIT).get("/v1/forever");
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        }, background);
        assertTrue(entered.await(10, TimeUnit.SECONDS));
        long t0 = System.nanoTime();
        server.stop(Duration.ofMillis(300));
        long millis = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(millis >= 300 && millis < 5000, "stopped after the grace; took " + millis + " ms");
        assertTrue(interrupted.await(10, TimeUnit.SECONDS), "the handler was interrupted");
        assertThrows(Exception.class, () -> inFlight.get(10, TimeUnit.SECONDS), "the client sees its connection close");
    }
}
