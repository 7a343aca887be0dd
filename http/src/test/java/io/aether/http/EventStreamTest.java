package io.aether.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Server-sent events over a real Unix socket: delivery, slow clients dropped, clean ends. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class EventStreamTest {

    private static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;
    private HttpServer server;
    private Path socket;

    private void start(EventHub hub, List<Event> replay, Limits limits) throws IOException {
        socket = dir.resolve("api.sock");
        server = HttpServer.start(List.of(new Listener.UnixSocket(socket)),
                new Router().get("/v1/events", req -> new Response.Events(hub, replay)), limits);
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    private static void awaitSubscribers(EventHub hub, int n) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (hub.subscribers() < n && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertEquals(n, hub.subscribers());
    }

    record State(String vm, String state) { }

    @Test
    void deliversTheReplayThenPublishedEventsInOrder() throws Exception {
        EventHub hub = new EventHub(16);
        start(hub, List.of(new Event("state", "created")), Limits.DEFAULTS);
        try (ApiClient.EventStream events = ApiClient.unix(socket, WAIT).events("/v1/events")) {
            awaitSubscribers(hub, 1);
            hub.publish(Event.json("state", new State("a", "running")));
            hub.publish(new Event("console", "line one\nline two"));
            assertEquals(Optional.of(new Event("state", "created")), events.next(WAIT));
            assertEquals(Optional.of(new Event("state", "{\"vm\":\"a\",\"state\":\"running\"}")), events.next(WAIT));
            assertEquals(Optional.of(new Event("console", "line one\nline two")), events.next(WAIT));
        }
    }

    @Test
    void anIdleStreamSendsHeartbeatsAndOutlivesTheIdleTimeout() throws Exception {
        EventHub hub = new EventHub(16);
        start(hub, List.of(), Limits.DEFAULTS.withHeartbeat(Duration.ofMillis(100)).withIdleTimeout(Duration.ofMillis(400)));
        try (Raw raw = new Raw(socket)) {
            raw.send("GET /v1/events HTTP/1.1\r\nHost: localhost\r\n\r\n");
            awaitSubscribers(hub, 1);
            Thread.sleep(1200); // three idle timeouts
            hub.publish(new Event("state", "still here"));
            hub.close();
            String stream = raw.readToEnd(WAIT);
            assertTrue(stream.contains("\r\nContent-Type: text/event-stream"), stream);
            assertTrue(stream.split(":\n\n", -1).length > 3, "heartbeats: " + stream);
            assertTrue(stream.contains("event: state\ndata: still here\n\n"), stream);
            assertTrue(stream.endsWith("0\r\n\r\n"), "ended with the last chunk: " + stream);
        }
    }

    @Test
    void aClientThatStopsReadingIsDroppedWithoutBlockingTheProducerOrTheOthers() throws Exception {
        int capacity = 1024;
        EventHub hub = new EventHub(capacity);
        start(hub, List.of(), Limits.DEFAULTS);
        String payload = "x".repeat(16 << 10);
        try (Raw stalled = new Raw(socket);
             ApiClient.EventStream reader = ApiClient.unix(socket, WAIT).events("/v1/events")) {
            stalled.send("GET /v1/events HTTP/1.1\r\nHost: localhost\r\n\r\n"); // and never reads
            awaitSubscribers(hub, 2);
            List<Integer> received = java.util.Collections.synchronizedList(new ArrayList<>());
            CompletableFuture<Void> reading = CompletableFuture.runAsync(() -> {
                try {
                    for (Optional<Event> e = reader.next(WAIT); e.isPresent(); e = reader.next(WAIT)) {
                        received.add(Integer.parseInt(e.get().data().substring(0, e.get().data().indexOf(' '))));
                    }
                } catch (IOException ex) {
                    throw new RuntimeException(ex);
                }
            }, Executors.newVirtualThreadPerTaskExecutor());
            long slowestPublishNanos = 0;
            int published = 0;
            // Far more than the stalled client's socket buffers and queue can hold.
            while (hub.dropped() == 0 && published < 20 * capacity) {
                while (published - received.size() > capacity / 2) {
                    Thread.sleep(1); // the reading client stays within half a queue, however busy the machine
                }
                long t0 = System.nanoTime();
                hub.publish(new Event("console", published + " " + payload));
                slowestPublishNanos = Math.max(slowestPublishNanos, System.nanoTime() - t0);
                published++;
            }
            assertEquals(1, hub.dropped(), "the stalled client was dropped after " + published + " events");
            assertTrue(slowestPublishNanos < TimeUnit.MILLISECONDS.toNanos(500), "publish never blocked: slowest "
                    + slowestPublishNanos / 1_000_000 + " ms");
            hub.close();
            reading.get(30, TimeUnit.SECONDS);
            assertEquals(published, received.size(), "the reading client got every event");
            for (int i = 0; i < published; i++) {
                assertEquals(i, received.get(i));
            }
            String cut = stalled.readToEnd(WAIT);
            assertFalse(cut.endsWith("0\r\n\r\n"), "the dropped stream ends without its last chunk");
        }
        assertEquals(1, server.stats().refused(Stats.Refusal.SLOW_EVENT_CLIENT));
    }

    @Test
    void stoppingTheServerEndsStreamsCleanlyAndQuickly() throws Exception {
        EventHub hub = new EventHub(16);
        start(hub, List.of(), Limits.DEFAULTS.withStopGrace(Duration.ofSeconds(10)));
        try (ApiClient.EventStream events = ApiClient.unix(socket, WAIT).events("/v1/events")) {
            awaitSubscribers(hub, 1);
            hub.publish(new Event("state", "last words"));
            long t0 = System.nanoTime();
            server.close();
            long stopMillis = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(stopMillis < 5000, "an open stream does not hold the stop for its grace; took " + stopMillis + " ms");
            assertEquals(Optional.of(new Event("state", "last words")), events.next(WAIT), "what was queued is delivered");
            assertEquals(Optional.empty(), events.next(WAIT), "then the stream ends with its last chunk");
        }
        assertEquals(0, hub.subscribers());
    }

    @Test
    void eventsAreCheckedWhereTheyAreMade() {
        assertThrows(IllegalArgumentException.class, () -> new Event("bad type", "x"));
        assertThrows(IllegalArgumentException.class, () -> new Event("state", "a\rb"));
        assertEquals("event: state\ndata: a\ndata: \ndata: b\n\n",
                new String(new Event("state", "a\n\nb").encode(), java.nio.charset.StandardCharsets.UTF_8));
    }
}
