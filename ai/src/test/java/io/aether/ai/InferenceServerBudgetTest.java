package io.aether.ai;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The memory a predict request may cost: bodies read only after the model is found, parsed
 * from the stream, their tensors' bytes held against one budget for all requests and given back
 * on every path.
 */
@Timeout(120)
class InferenceServerBudgetTest {

    private static final int MAX_BODY = 2 << 20;
    private static final int BUDGET = 1 << 20;

    private final InMemorySource source = new InMemorySource();
    private InferenceRuntime runtime;
    private InferenceServer server;
    private Http http;

    @BeforeEach
    void start() throws Exception {
        source.put("main", TestModels.linear());
        runtime = InferenceRuntime.start(RuntimeConfig.defaults());
        runtime.deploy("lin", source, "main");
        server = InferenceServer.start(runtime, ServerConfig.defaults().withAddress(new InetSocketAddress("127.0.0.1", 0))
                .withMaxBodyBytes(MAX_BODY).withMaxInFlightBytes(BUDGET), InferenceServer.RATE_GRACE, Duration.ofMillis(200));
        http = new Http(server.uri());
    }

    @AfterEach
    void stop() {
        server.close();
        runtime.close();
    }

    /** Sends a request's head and the start of its body, and returns the status line the server answers with meanwhile. */
    private String statusBeforeTheBodyEnds(String path, int contentLength, String bodyStart) throws Exception {
        try (Socket s = new Socket("127.0.0.1", server.address().getPort())) {
            s.setSoTimeout(10_000); // the server's stall limit is 30 s: an answer now is one given without the body
            s.getOutputStream().write(("POST " + path + " HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + contentLength + "\r\n\r\n" + bodyStart).getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            return new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII)).readLine();
        }
    }

    /** The budget once the server has finished with the requests answered so far. */
    private long usedOnceAnswered() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (server.budget().used() != 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        return server.budget().used();
    }

    @Test
    void anUnknownModelOrVersionIsAnsweredBeforeTheBodyIsRead() throws Exception {
        assertEquals("HTTP/1.1 404 Not Found", statusBeforeTheBodyEnds("/v1/models/nope:predict", 1_000_000, "{\"inputs\": "));
        assertEquals("HTTP/1.1 404 Not Found", statusBeforeTheBodyEnds("/v1/models/lin/versions/abc:predict", 1_000_000,
                "{\"inputs\": "));
        assertEquals(0, server.budget().peak(), "nothing was taken for them");
    }

    @Test
    void aShapeTheModelRefusesIsAnsweredBeforeTheRestOfTheBodyArrives() throws Exception {
        assertEquals("HTTP/1.1 400 Bad Request", statusBeforeTheBodyEnds("/v1/models/lin:predict", 1_000_000,
                "{\"inputs\": {\"X\": {\"shape\": [1, 4], \"data\": [1, 2, "));
        // A declared shape is held to the values that follow as they arrive: the fourth is refused at once.
        assertEquals("HTTP/1.1 400 Bad Request", statusBeforeTheBodyEnds("/v1/models/lin:predict", 1_000_000,
                "{\"inputs\": {\"X\": {\"shape\": [1, 3], \"data\": [1, 2, 3, 4, "));
        assertEquals(0, usedOnceAnswered());
        assertEquals(12, server.budget().peak(), "float[1,3] was all the second request ever held");
    }

    @Test
    void aFullBudgetAnswers503WithRetryAfterAndARequestLargerThanItAnswers413() throws Exception {
        String one = "{\"inputs\": {\"X\": {\"shape\": [1, 3], \"data\": [1, 2, 3]}}}";
        try (ByteBudget.Lease others = server.budget().lease()) {
            others.take(BUDGET - 8); // other requests hold all but 8 bytes; float[1,3] needs 12
            HttpResponse<byte[]> busy = http.postJson("/v1/models/lin:predict", one);
            assertEquals(503, busy.statusCode());
            assertEquals("1", busy.headers().firstValue("Retry-After").orElseThrow());
            assertTrue(Http.error(busy).contains("try again later"), Http.error(busy));
        }
        assertEquals(200, http.postJson("/v1/models/lin:predict", one).statusCode(), "served once the others are answered");

        // 100,000 rows of float[N,3] is 1.2 MB of tensor from a body under the 2 MiB limit: more than the whole budget.
        String huge = "{\"inputs\": {\"X\": {\"shape\": [100000, 3], \"data\": [" + "0,".repeat(299_999) + "0]}}}";
        HttpResponse<byte[]> tooLarge = http.postJson("/v1/models/lin:predict", huge);
        assertEquals(413, tooLarge.statusCode());
        assertEquals("request needs more than the server's in-flight budget of " + BUDGET + " bytes",
                Http.error(tooLarge));
        String metrics = new String(http.get("/metrics").body(), StandardCharsets.UTF_8);
        assertEquals(2, PrometheusText.parse(metrics).value("aether_http_inflight_refusals_total", Map.of()));
        assertEquals(0, usedOnceAnswered());
    }

    @Test
    void theBudgetIsGivenBackOnEveryPath() throws Exception {
        String ok = "{\"inputs\": {\"X\": [[1, 2, 3]]}}";
        assertEquals(200, http.postJson("/v1/models/lin:predict", ok).statusCode());
        assertEquals(200, http.post("/v1/models/lin:predict", TensorWireFormat.MEDIA_TYPE,
                TensorWireFormat.encode(Map.of("X", Tensor.ofFloats(new long[] {1, 3}, 1, 2, 3)))).statusCode());
        assertEquals(400, http.postJson("/v1/models/lin:predict", "{\"inputs\": {\"X\": {\"shape\": [1, 3], \"data\": [1, 2")
                .statusCode(), "malformed after the buffer was taken");
        assertEquals(400, http.postJson("/v1/models/lin:predict", "{\"inputs\": {\"X\": [[1, 2, 3]], \"Z\": [1]}}")
                .statusCode(), "refused after a first input was parsed");
        assertEquals(400, http.post("/v1/models/lin:predict", TensorWireFormat.MEDIA_TYPE,
                TensorWireFormat.encode(Map.of("X", Tensor.ofLongs(new long[] {1, 3}, 1, 2, 3)))).statusCode());
        assertEquals(404, http.postJson("/v1/models/nope:predict", ok).statusCode());
        // A chunked body (no Content-Length) over the limit, cut off mid-parse; long numbers keep its tensor small.
        String one = "1.0000000000000000000000000";
        String row = "[" + one + ", " + one + ", " + one + "], ";
        byte[] chunked = ("{\"inputs\": {\"X\": [" + row.repeat(MAX_BODY / row.length() + 1) + "[1, 2, 3]]}}")
                .getBytes(StandardCharsets.US_ASCII);
        HttpResponse<byte[]> over = HttpClient.newHttpClient().send(HttpRequest.newBuilder(server.uri()
                        .resolve("/v1/models/lin:predict")).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(chunked))).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(413, over.statusCode());
        assertEquals("request body is larger than the limit of " + MAX_BODY + " bytes", Http.error(over));
        // The cut-off request gives its buffer back just after its answer: wait for that, so that what is held next is the next request's.
        assertEquals(0, usedOnceAnswered(), "the cut-off request gave its bytes back");
        // A client that goes away mid-body, after its buffer was taken.
        try (Socket s = new Socket("127.0.0.1", server.address().getPort())) {
            s.getOutputStream().write(("POST /v1/models/lin:predict HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                    + "Content-Length: 5000\r\n\r\n{\"inputs\": {\"X\": {\"shape\": [100, 3], \"data\": [1, ")
                    .getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (server.budget().used() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertEquals(1200, server.budget().used(), "float[100,3] is held while its values arrive");
        }
        assertEquals(0, usedOnceAnswered(), "every path gave its bytes back");
        assertEquals(200, http.postJson("/v1/models/lin:predict", ok).statusCode(), "and the server still answers");
        assertEquals(0, usedOnceAnswered());
    }

    @Test
    void manyConcurrentLargeRequestsGetCleanAnswers() throws Exception {
        Map<Integer, AtomicInteger> statuses = sendConcurrently(server, 16, 3);
        assertTrue(statuses.keySet().stream().allMatch(s -> s == 200 || s == 503), "only 200 and 503: " + statuses);
        assertTrue(statuses.getOrDefault(200, new AtomicInteger()).get() > 0, "some were served: " + statuses);
        assertTrue(server.budget().peak() <= BUDGET, "never over the budget: " + server.budget().peak());
        assertEquals(0, usedOnceAnswered());
    }

    @Test
    void requestsWaitingOnEachOthersBytesAreNotStalled() throws Exception {
        // Data of undeclared size grows as it arrives. Requests that each hold part of the budget
        // and wait for the rest, held by the others, would all wait out the full 60 s; the last
        // of them to wait is refused at once instead, and the others go on.
        try (InferenceServer patient = InferenceServer.start(runtime, ServerConfig.defaults()
                .withAddress(new InetSocketAddress("127.0.0.1", 0)).withMaxBodyBytes(MAX_BODY).withMaxInFlightBytes(BUDGET),
                InferenceServer.RATE_GRACE, Duration.ofSeconds(60))) {
            long start = System.nanoTime();
            Map<Integer, AtomicInteger> statuses = sendConcurrently(patient, 12, 1);
            long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start);
            assertTrue(seconds < 30, "answered without waiting out the budget wait: " + seconds + " s, " + statuses);
            assertTrue(statuses.keySet().stream().allMatch(s -> s == 200 || s == 503), "only 200 and 503: " + statuses);
            assertTrue(statuses.getOrDefault(200, new AtomicInteger()).get() >= 6, "most were served: " + statuses);
            assertTrue(patient.budget().peak() <= BUDGET);
        }
    }

    /**
     * {@code clients} threads each send {@code perClient} predictions of 20,000 rows (a 300 KB
     * body, 240 KB of float tensor: three or four fit the 1 MiB budget at once), check every 200
     * against the hand computation and every 503 for Retry-After; returns the statuses counted.
     */
    private static Map<Integer, AtomicInteger> sendConcurrently(InferenceServer target, int clients, int perClient)
            throws Exception {
        int rows = 20_000;
        float[] row = {1.25f, -2, 3};
        String body = "{\"inputs\": {\"X\": [" + "[1.25, -2, 3], ".repeat(rows - 1) + "[1.25, -2, 3]]}}";
        float[] expectedRow = TestModels.linearByHand(TestModels.W1, TestModels.B1, row);
        Map<Integer, AtomicInteger> statuses = new ConcurrentHashMap<>();
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        URI predict = target.uri().resolve("/v1/models/lin:predict");
        try (ExecutorService pool = Executors.newFixedThreadPool(clients)) {
            List<Future<?>> done = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                done.add(pool.submit(() -> {
                    for (int i = 0; i < perClient; i++) {
                        HttpResponse<byte[]> r = client.send(HttpRequest.newBuilder(predict)
                                        .header("Content-Type", "application/json")
                                        .header("Accept", TensorWireFormat.MEDIA_TYPE)
                                        .POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                                HttpResponse.BodyHandlers.ofByteArray());
                        statuses.computeIfAbsent(r.statusCode(), k -> new AtomicInteger()).incrementAndGet();
                        if (r.statusCode() == 200) {
                            float[] y = TensorWireFormat.decode(r.body()).get("Y").toFloats();
                            assertEquals(2 * rows, y.length);
                            assertArrayEquals(expectedRow, new float[] {y[2 * rows - 2], y[2 * rows - 1]});
                        } else {
                            assertEquals("1", r.headers().firstValue("Retry-After").orElse(null), "a 503 says when to retry");
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get(100, TimeUnit.SECONDS);
            }
        }
        return statuses;
    }
}
