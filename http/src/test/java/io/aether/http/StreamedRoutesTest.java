package io.aether.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Streamed routes (the handler reads the body itself, answers with its own body and status),
 * verb templates ({@code {name}:predict}) and the plain TCP listener, with the JDK's HTTP client
 * and raw sockets as peers.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class StreamedRoutesTest {

    private static final ObjectMapper PEER = new ObjectMapper();
    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private HttpServer server;

    private URI start(Router router, Limits limits) throws IOException {
        server = HttpServer.start(List.of(new Listener.PlainTcp("127.0.0.1", 0)), router, limits);
        return URI.create("http://127.0.0.1:" + server.port());
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    /** Counts the body's bytes and sums them, as it arrives: what the handler saw. */
    private static Response tally(Request req) throws IOException {
        long n = 0;
        long sum = 0;
        byte[] buf = new byte[4096];
        InputStream in = req.bodyStream();
        int r;
        while ((r = in.read(buf)) >= 0) {
            for (int i = 0; i < r; i++) {
                sum += buf[i] & 0xff;
            }
            n += r;
        }
        byte[] answer = (n + " " + sum + " " + req.header("content-type").orElse("none")).getBytes(StandardCharsets.UTF_8);
        return new Response.Stream(200, "text/plain", Map.of("X-Seen", Long.toString(n)), answer.length, out -> out.write(answer));
    }

    private HttpResponse<String> post(URI base, String path, String type, byte[] body) throws Exception {
        return client.send(HttpRequest.newBuilder(base.resolve(path)).header("Content-Type", type)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void aStreamedRouteReadsABodyOfAnyTypeAsItArrivesOverPlainTcp() throws Exception {
        URI base = start(new Router().stream("POST", "/v1/blobs/{name}:sum", StreamedRoutesTest::tally, 8 << 20, Duration.ofSeconds(30)),
                Limits.DEFAULTS);
        byte[] body = new byte[3 << 20]; // over the 1 MiB default a buffered route would take
        long sum = 0;
        for (int i = 0; i < body.length; i++) {
            body[i] = (byte) (i * 31);
            sum += body[i] & 0xff;
        }
        HttpResponse<String> r = post(base, "/v1/blobs/b1:sum", "application/octet-stream", body);
        assertEquals(200, r.statusCode());
        assertEquals(body.length + " " + sum + " application/octet-stream", r.body());
        assertEquals(Long.toString(body.length), r.headers().firstValue("X-Seen").orElseThrow());
        assertEquals(Long.toString(r.body().length()), r.headers().firstValue("Content-Length").orElseThrow());
    }

    @Test
    void aStreamedBodyOverTheLimitFailsTheReadAndTheHandlerAnswers() throws Exception {
        AtomicReference<Exception> seen = new AtomicReference<>();
        URI base = start(new Router().stream("POST", "/up", req -> {
            try {
                req.bodyStream().readAllBytes();
                return new Response.Stream(200, "text/plain", Map.of(), 2, out -> out.write("ok".getBytes(StandardCharsets.US_ASCII)));
            } catch (IOException e) {
                seen.set(e);
                byte[] error = "{\"error\": \"too big\"}".getBytes(StandardCharsets.US_ASCII);
                return new Response.Stream(413, "application/json", Map.of(), Response.Stream.CHUNKED, out -> out.write(error));
            }
        }, 1000, Duration.ofSeconds(30)), Limits.DEFAULTS);
        assertEquals(200, post(base, "/up", "application/x-anything", new byte[1000]).statusCode(), "exactly the limit is fine");
        HttpResponse<String> r = post(base, "/up", "application/x-anything", new byte[1001]);
        assertEquals(413, r.statusCode());
        assertEquals(Map.of("error", "too big"), PEER.readValue(r.body(), Map.class));
        assertTrue(seen.get() instanceof Request.BodyTooLarge, String.valueOf(seen.get()));
        assertEquals("request body is over this route's limit of 1000 bytes", seen.get().getMessage());
        assertEquals(1, server.stats().refused(Stats.Refusal.BODY_TOO_LARGE));
    }

    @Test
    void aStreamedBodySlowerThanTheMinimumRateIsCutOffAndCounted() throws Exception {
        AtomicReference<Exception> seen = new AtomicReference<>();
        start(new Router().stream("POST", "/up", req -> {
            try {
                req.bodyStream().readAllBytes();
            } catch (IOException e) {
                seen.set(e);
            }
            return new Response.Stream(400, "text/plain", Map.of(), 4, out -> out.write("slow".getBytes(StandardCharsets.US_ASCII)));
        }, 1 << 20, Duration.ofSeconds(30)), Limits.DEFAULTS.withMinDataRate(1024, Duration.ofMillis(300)));
        try (Socket s = new Socket("127.0.0.1", server.port())) {
            s.setSoTimeout(20_000);
            s.getOutputStream().write(("POST /up HTTP/1.1\r\nHost: t\r\nContent-Type: application/octet-stream\r\n"
                    + "Content-Length: 900\r\n\r\nabc").getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            assertTrue(answer.startsWith("HTTP/1.1 400"), answer);
            assertTrue(answer.toLowerCase(java.util.Locale.ROOT).contains("connection: close"), answer);
        }
        assertEquals("request body arrived slower than 1024 bytes/s", seen.get().getMessage());
        assertEquals(1, server.stats().refused(Stats.Refusal.SLOW_PEER));
    }

    @Test
    void timeTheHandlerSpendsBeforeReadingIsNotCountedAgainstThePeer() throws Exception {
        URI base = start(new Router().stream("POST", "/later", req -> {
            Thread.sleep(1500); // computing (waiting for a budget, say) while the body sits in the buffers
            return tally(req);
        }, 1 << 20, Duration.ofSeconds(30)), Limits.DEFAULTS.withMinDataRate(1024, Duration.ofMillis(300)));
        HttpResponse<String> r = post(base, "/later", "text/plain", new byte[1000]);
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("1000 0 text/plain", r.body());
        assertEquals(0, server.stats().refused(Stats.Refusal.SLOW_PEER));
    }

    @Test
    void whatTheHandlerLeavesUnreadIsDroppedSoTheConnectionServesTheNextRequest() throws Exception {
        start(new Router().stream("POST", "/early", req -> new Response.Stream(404, "application/json", Map.of(), Response.Stream.CHUNKED,
                out -> out.write("{\"error\": \"no such thing\"}".getBytes(StandardCharsets.US_ASCII))), 1 << 20, Duration.ofSeconds(30)),
                Limits.DEFAULTS);
        String body = "x".repeat(200_000);
        String request = "POST /early HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nContent-Length: " + body.length() + "\r\n\r\n" + body;
        try (Socket s = new Socket("127.0.0.1", server.port())) {
            s.setSoTimeout(20_000);
            // Two requests on one connection: the second is answered only if the first's body was consumed.
            s.getOutputStream().write((request + request).getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            s.shutdownOutput();
            String answers = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            assertEquals(2, answers.split("HTTP/1.1 404", -1).length - 1, answers);
            assertEquals(2, answers.split("\\{\"error\": \"no such thing\"}", -1).length - 1, answers);
        }
    }

    @Test
    void aVerbTemplateMatchesOnlyItsVerbAndBareParametersLeaveColonsAlone() throws Exception {
        URI base = start(new Router()
                .get("/v1/models/{name}", req -> Response.ok(Map.of("get", req.param("name"))))
                .post("/v1/models/{name}:predict", req -> Response.ok(Map.of("predict", req.param("name"))))
                .post("/v1/models/{name}:switch", req -> Response.ok(Map.of("switch", req.param("name")))), Limits.DEFAULTS);
        assertEquals(Map.of("get", "lin"), PEER.readValue(client.send(HttpRequest.newBuilder(base.resolve("/v1/models/lin")).build(),
                HttpResponse.BodyHandlers.ofString()).body(), Map.class));
        assertEquals(Map.of("predict", "lin"), PEER.readValue(post(base, "/v1/models/lin:predict", "application/json", "{}".getBytes()).body(), Map.class));
        assertEquals(Map.of("switch", "lin"), PEER.readValue(post(base, "/v1/models/lin:switch", "application/json", "{}".getBytes()).body(), Map.class));
        HttpResponse<String> get = client.send(HttpRequest.newBuilder(base.resolve("/v1/models/lin:predict")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(405, get.statusCode(), get.body());
        assertEquals("POST", get.headers().firstValue("Allow").orElseThrow());
        assertEquals(404, post(base, "/v1/models/lin:explode", "application/json", "{}".getBytes()).statusCode());
        assertEquals(404, post(base, "/v1/models/:predict", "application/json", "{}".getBytes()).statusCode(), "a verb needs a value before it");
        HttpResponse<String> bad = post(base, "/v1/models/..:predict", "application/json", "{}".getBytes());
        assertEquals(400, bad.statusCode());
        assertEquals("name", PEER.readValue(bad.body(), Map.class).get("field"));
    }

    @Test
    void verbTemplatesAreCheckedWhereTheyAreWritten() {
        Router r = new Router().post("/v1/models/{name}:predict", req -> null);
        assertEquals("route segment '{name}predict' in '/v1/x/{name}predict' must end with '}' or a verb like '}:run'",
                assertThrows(IllegalArgumentException.class, () -> r.post("/v1/x/{name}predict", req -> null)).getMessage());
        assertEquals("routes POST /v1/models/{name}:predict and /v1/models/{id}:predict match the same paths",
                assertThrows(IllegalArgumentException.class, () -> r.post("/v1/models/{id}:predict", req -> null)).getMessage());
        r.post("/v1/models/{name}", req -> null); // another verb (none) is another route
        assertEquals("route body limit must be 0.." + Limits.MAX_STREAMED_BODY_LIMIT + ", got -1",
                assertThrows(IllegalArgumentException.class, () -> r.stream("POST", "/up", req -> null, -1, Duration.ofSeconds(1))).getMessage());
        assertEquals("a status is 200..599, got 199", assertThrows(IllegalArgumentException.class,
                () -> new Response.Stream(199, "text/plain", Map.of(), 0, out -> { })).getMessage());
    }
}
