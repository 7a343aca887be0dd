package io.aether.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Routing, JSON bodies and every error the stack or a handler answers, over a real Unix socket. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RoutingAndErrorsTest {

    private static final Duration WAIT = Duration.ofSeconds(10);
    /** An independent reader of the answers: what a peer would parse. */
    private static final ObjectMapper PEER = new ObjectMapper();

    @TempDir
    Path dir;
    private HttpServer server;
    private ApiClient client;

    /** A spec record that validates itself the way Aether's records do. */
    record Spec(String name, int memoryMib, List<Disk> disks, Mode mode) {
        Spec {
            java.util.Objects.requireNonNull(name, "name");
            if (memoryMib < 16) {
                throw new IllegalArgumentException("memoryMib: " + memoryMib + " MiB is too small (at least 16 MiB)");
            }
        }
    }

    record Disk(String path, boolean readOnly) { }

    enum Mode { fast, safe }

    private void start(Router router, Limits limits) throws Exception {
        Path socket = dir.resolve("api.sock");
        server = HttpServer.start(List.of(new Listener.UnixSocket(socket)), router, limits);
        client = ApiClient.unix(socket, WAIT);
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    private static Map<?, ?> body(ApiClient.Reply r) throws Exception {
        return PEER.readValue(r.body(), Map.class);
    }

    @Test
    void routesByMethodAndTemplateAndPrefersLiterals() throws Exception {
        start(new Router()
                .get("/v1/vms", req -> Response.ok(List.of("a", "b")))
                .get("/v1/vms/{id}", req -> Response.ok(Map.of("id", req.param("id"), "q", req.query("verbose").orElse("-"))))
                .get("/v1/vms/stats", req -> Response.ok(Map.of("stats", true)))
                .post("/v1/vms/{id}/pause", req -> new Response.Empty(204)), Limits.DEFAULTS);
        assertEquals(List.of("a", "b"), client.get("/v1/vms").json(List.class));
        assertEquals(Map.of("id", "vm-1.a_b", "q", "yes"), client.get("/v1/vms/vm-1.a_b?verbose=yes").json(Map.class));
        assertEquals(Map.of("stats", true), client.get("/v1/vms/stats").json(Map.class));
        ApiClient.Reply paused = client.post("/v1/vms/vm-1/pause", null);
        assertEquals(204, paused.status());
        assertEquals(0, paused.body().length);
        assertEquals(4, server.stats().requests());
    }

    @Test
    void unknownPathIs404AndWrongMethodIs405WithAllow() throws Exception {
        start(new Router().get("/v1/vms/{id}", req -> Response.ok(Map.of())).delete("/v1/vms/{id}", req -> new Response.Empty(204)),
                Limits.DEFAULTS);
        ApiClient.Reply none = client.get("/v2/nothing");
        assertEquals(404, none.status());
        assertEquals(Map.of("error", "not_found", "message", "no route for GET /v2/nothing"), body(none));
        ApiClient.Reply wrong = client.post("/v1/vms/x", null);
        assertEquals(405, wrong.status());
        assertEquals("DELETE, GET", wrong.headers().get("allow"));
        assertEquals(Map.of("error", "method_not_allowed", "message", "POST is not allowed here; allowed: DELETE, GET"), body(wrong));
        assertEquals(1, server.stats().refused(Stats.Refusal.NO_ROUTE));
        assertEquals(1, server.stats().refused(Stats.Refusal.METHOD));
        assertEquals(1, server.stats().answered(404));
        assertEquals(1, server.stats().answered(405));
        assertEquals(0, server.stats().requests(), "no handler ran");
    }

    @Test
    void pathParametersAreValidatedBeforeTheHandler() throws Exception {
        start(new Router().get("/v1/vms/{id}", req -> {
            throw new AssertionError("the handler must not see " + req.param("id"));
        }), Limits.DEFAULTS);
        for (String bad : List.of("bad%20id", "-leading-dash", "x".repeat(129), "%C3%A9t%C3%A9", "a%3Bb")) {
            ApiClient.Reply r = client.get("/v1/vms/" + bad);
            assertEquals(400, r.status(), bad);
            assertEquals(Map.of("error", "bad_request", "field", "id",
                    "message", "id: must be 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit"), body(r), bad);
        }
        for (String refusedByTheParser : List.of("%2e%2e", "a%00b", "a%2Fb")) {
            assertEquals(400, client.get("/v1/vms/" + refusedByTheParser).status(), refusedByTheParser);
        }
        assertTrue(server.stats().refused(Stats.Refusal.BAD_REQUEST) >= 5);
    }

    @Test
    void everyApiErrorHasItsStatusCodeAndHeaders() throws Exception {
        Map<String, ApiError> errors = Map.ofEntries(
                Map.entry("bad", new ApiError.BadRequest("vcpus", "must be 1..64")),
                Map.entry("unauthorized", new ApiError.Unauthorized("no client certificate")),
                Map.entry("forbidden", new ApiError.Forbidden("tenant a may not stop b's VMs")),
                Map.entry("missing", new ApiError.NotFound("no VM named x")),
                Map.entry("method", new ApiError.MethodNotAllowed("not here", Set.of("GET"))),
                Map.entry("timeout", new ApiError.RequestTimeout("too slow")),
                Map.entry("conflict", new ApiError.Conflict("VM x is running")),
                Map.entry("large", new ApiError.PayloadTooLarge("too large")),
                Map.entry("media", new ApiError.UnsupportedMediaType("not JSON")),
                Map.entry("many", new ApiError.TooManyRequests("slow down", Duration.ofMillis(2500))),
                Map.entry("busy", new ApiError.Unavailable("node is full", Duration.ofSeconds(7))),
                Map.entry("internal", new ApiError.Internal(42)));
        start(new Router().get("/v1/fail/{kind}", req -> {
            throw errors.get(req.param("kind")).exception();
        }), Limits.DEFAULTS);
        // Expected values written out, not computed by the mapping under test.
        Map<String, Integer> status = Map.ofEntries(Map.entry("bad", 400), Map.entry("unauthorized", 401), Map.entry("forbidden", 403),
                Map.entry("missing", 404), Map.entry("method", 405), Map.entry("timeout", 408), Map.entry("conflict", 409),
                Map.entry("large", 413), Map.entry("media", 415), Map.entry("many", 429), Map.entry("busy", 503),
                Map.entry("internal", 500));
        Map<String, String> code = Map.ofEntries(Map.entry("bad", "bad_request"), Map.entry("unauthorized", "unauthorized"),
                Map.entry("forbidden", "forbidden"), Map.entry("missing", "not_found"), Map.entry("method", "method_not_allowed"),
                Map.entry("timeout", "request_timeout"), Map.entry("conflict", "conflict"), Map.entry("large", "payload_too_large"),
                Map.entry("media", "unsupported_media_type"), Map.entry("many", "too_many_requests"), Map.entry("busy", "unavailable"),
                Map.entry("internal", "internal"));
        for (String kind : errors.keySet()) {
            ApiClient.Reply r = client.get("/v1/fail/" + kind);
            assertEquals(status.get(kind), r.status(), kind);
            assertEquals("application/json", r.headers().get("content-type"), kind);
            Map<?, ?> b = body(r);
            assertEquals(code.get(kind), b.get("error"), kind);
            assertEquals(errors.get(kind).message(), b.get("message"), kind);
        }
        assertEquals("vcpus: must be 1..64", body(client.get("/v1/fail/bad")).get("message"));
        assertEquals("vcpus", body(client.get("/v1/fail/bad")).get("field"));
        assertEquals("3", client.get("/v1/fail/many").headers().get("retry-after"), "2.5 s rounds up");
        assertEquals("7", client.get("/v1/fail/busy").headers().get("retry-after"));
        assertEquals("GET", client.get("/v1/fail/method").headers().get("allow"));
        assertEquals("internal error (incident 42 in the server log)", body(client.get("/v1/fail/internal")).get("message"));
    }

    @Test
    void aFailingHandlerIs500WithoutInternals() throws Exception {
        start(new Router().get("/v1/boom", req -> {
            throw new IllegalStateException("cannot open /var/lib/aether/secret.key for " + System.getProperty("user.home"));
        }), Limits.DEFAULTS);
        ApiClient.Reply r = client.get("/v1/boom");
        assertEquals(500, r.status());
        assertEquals(Map.of("error", "internal", "message", "internal error (incident 1 in the server log)"), body(r));
        String text = r.text();
        for (String leak : List.of("secret", "/var/lib", System.getProperty("user.home"), "Exception", "at io.aether", "jetty")) {
            assertFalse(text.contains(leak), "the peer must not see '" + leak + "': " + text);
        }
        assertEquals(1, server.stats().refused(Stats.Refusal.INTERNAL));
    }

    @Test
    void jsonBodiesAreReadStrictlyAndErrorsNameTheField() throws Exception {
        start(new Router().post("/v1/vms", req -> Response.ok(req.body(Spec.class)))
                .post("/v1/any", req -> Response.ok(req.body(Map.class))), Limits.DEFAULTS);
        Map<?, ?> ok = client.post("/v1/vms", Map.of("name", "a", "memoryMib", 64, "disks", List.of(Map.of("path", "/d", "readOnly", true)),
                "mode", "safe")).json(Map.class);
        assertEquals(Map.of("name", "a", "memoryMib", 64, "disks", List.of(Map.of("path", "/d", "readOnly", true)), "mode", "safe"), ok);

        record Case(String json, String field, String message) { }
        for (Case c : List.of(
                new Case("{\"name\":\"a\",\"memoryMib\":8}", "memoryMib", "memoryMib: 8 MiB is too small (at least 16 MiB)"),
                new Case("{\"name\":\"a\",\"memoryMib\":64,\"colour\":\"red\"}", "colour", "colour: unknown field"),
                new Case("{\"name\":\"a\",\"memoryMib\":\"lots\"}", "memoryMib", "memoryMib: expected an integer"),
                new Case("{\"name\":\"a\",\"memoryMib\":64,\"disks\":[{\"path\":\"/d\",\"readOnly\":\"maybe\"}]}",
                        "disks[0].readOnly", "disks[0].readOnly: expected true or false"),
                new Case("{\"name\":\"a\",\"memoryMib\":64,\"mode\":\"turbo\"}", "mode", "mode: expected one of fast, safe"),
                new Case("{\"name\":\"a\",\"memoryMib\":null}", "memoryMib", "memoryMib: expected an integer"),
                new Case("{\"name\":[1],\"memoryMib\":64}", "name", "name: expected a string"),
                new Case("{\"memoryMib\":64}", "name", "name: required"),
                new Case("[1,2]", "body", "body: expected an object"),
                new Case("{\"name\":\"a\",", "body", "body: not valid JSON at line 1, column 13"),
                new Case("{\"name\":\"a\",\"memoryMib\":64} {}", "body", "body: more data after the JSON value at line 1, column 29"),
                new Case("{\"name\":\"a\",\"memoryMib\":" + "9".repeat(100) + "}", "body", "body: JSON nested too deeply or a value too long"))) {
            ApiClient.Reply r = send(c.json);
            assertEquals(400, r.status(), c.json);
            assertEquals(Map.of("error", "bad_request", "field", c.field, "message", c.message), body(r), c.json);
        }
        ApiClient.Reply deep = client.send("POST", "/v1/any", Map.of("a", nested(100)));
        assertEquals(Map.of("error", "bad_request", "field", "body", "message", "body: JSON nested too deeply or a value too long"), body(deep));
        assertEquals(200, client.send("POST", "/v1/any", Map.of("a", nested(50))).status(), "50 levels are fine");
        ApiClient.Reply empty = client.post("/v1/vms", null);
        assertEquals(Map.of("error", "bad_request", "field", "body", "message", "body: a JSON body is required"), body(empty));
    }

    private static Object nested(int depth) {
        Object o = List.of();
        for (int i = 1; i < depth; i++) {
            o = List.of(o);
        }
        return o;
    }

    private ApiClient.Reply send(String json) throws Exception {
        try (Raw raw = new Raw(dir.resolve("api.sock"))) {
            raw.send("POST /v1/vms HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
                    + json.getBytes(java.nio.charset.StandardCharsets.UTF_8).length + "\r\nConnection: close\r\n\r\n" + json);
            Raw.Answer a = Raw.parse(raw.readToEnd(WAIT));
            return new ApiClient.Reply(a.status(), a.headers(), a.body().getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
    }

    @Test
    void bodiesMustBeJson() throws Exception {
        start(new Router().post("/v1/vms", req -> Response.ok(Map.of())), Limits.DEFAULTS);
        try (Raw raw = new Raw(dir.resolve("api.sock"))) {
            raw.send("POST /v1/vms HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n{}");
            Raw.Answer a = Raw.parse(raw.readToEnd(WAIT));
            assertEquals(415, a.status());
            assertEquals("close", a.headers().get("connection"));
            assertEquals(Map.of("error", "unsupported_media_type", "message", "Content-Type must be application/json, got 'text/plain'"),
                    PEER.readValue(a.body(), Map.class));
        }
        try (Raw raw = new Raw(dir.resolve("api.sock"))) {
            raw.send("POST /v1/vms HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}");
            Raw.Answer a = Raw.parse(raw.readToEnd(WAIT));
            assertEquals(415, a.status());
            assertEquals("Content-Type must be application/json, got none", PEER.readValue(a.body(), Map.class).get("message"));
        }
        try (Raw raw = new Raw(dir.resolve("api.sock"))) {
            raw.send("POST /v1/vms HTTP/1.1\r\nHost: x\r\nContent-Type: Application/JSON; charset=utf-8\r\nContent-Length: 2\r\n"
                    + "Connection: close\r\n\r\n{}");
            assertEquals(200, Raw.parse(raw.readToEnd(WAIT)).status(), "media type parameters and case do not matter");
        }
        assertEquals(2, server.stats().refused(Stats.Refusal.MEDIA_TYPE));
    }

    @Test
    void bodiesOverTheRouteLimitAre413() throws Exception {
        CountDownLatch ran = new CountDownLatch(1);
        start(new Router()
                .add("POST", "/v1/small", req -> {
                    ran.countDown();
                    return Response.ok(Map.of());
                }, 64, Duration.ofSeconds(5))
                .get("/v1/vms", req -> Response.ok(Map.of())), Limits.DEFAULTS);
        String big = "{\"pad\":\"" + "x".repeat(100) + "\"}";
        try (Raw raw = new Raw(dir.resolve("api.sock"))) {
            raw.send("POST /v1/small HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " + big.length() + "\r\n\r\n");
            Raw.Answer a = Raw.parse(raw.readToEnd(WAIT));
            assertEquals(413, a.status(), "refused on the declared length, before the body is sent");
            assertEquals("close", a.headers().get("connection"));
            assertEquals("request body of 110 bytes is over this route's limit of 64 bytes", PEER.readValue(a.body(), Map.class).get("message"));
        }
        try (Raw raw = new Raw(dir.resolve("api.sock"))) {
            String chunk = Integer.toHexString(big.length()) + "\r\n" + big + "\r\n0\r\n\r\n";
            raw.send("POST /v1/small HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk);
            Raw.Answer a = Raw.parse(raw.readToEnd(WAIT));
            assertEquals(413, a.status(), "a chunked body is counted as it arrives");
            assertEquals("request body of more than 64 bytes is over this route's limit of 64 bytes",
                    PEER.readValue(a.body(), Map.class).get("message"));
        }
        try (Raw raw = new Raw(dir.resolve("api.sock"))) {
            raw.send("GET /v1/vms HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
            Raw.Answer a = Raw.parse(raw.readToEnd(WAIT));
            assertEquals(413, a.status());
            assertEquals("GET /v1/vms takes no request body", PEER.readValue(a.body(), Map.class).get("message"));
        }
        assertEquals(3, server.stats().refused(Stats.Refusal.BODY_TOO_LARGE));
        assertEquals(1, ran.getCount(), "the handler never ran");
        assertEquals(200, client.post("/v1/small", Map.of("ok", 1)).status(), "a body within the limit is served");
    }

    @Test
    void aHandlerPastItsDeadlineIsAnswered503AndInterrupted() throws Exception {
        CountDownLatch interrupted = new CountDownLatch(1);
        start(new Router().add("GET", "/v1/slow", req -> {
            Duration left = Duration.between(java.time.Instant.now(), req.deadline());
            assertTrue(left.compareTo(Duration.ofMillis(300)) <= 0 && !left.isNegative(), "the handler sees its deadline: " + left);
            try {
                Thread.sleep(left.plusSeconds(30));
            } catch (InterruptedException e) {
                interrupted.countDown();
                throw e;
            }
            return Response.ok(Map.of());
        }, 0, Duration.ofMillis(300)), Limits.DEFAULTS);
        long t0 = System.nanoTime();
        ApiClient.Reply r = client.get("/v1/slow");
        long tookMillis = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(503, r.status());
        assertEquals("1", r.headers().get("retry-after"));
        assertEquals(Map.of("error", "unavailable", "message", "request deadline of 300 ms passed"), body(r));
        assertTrue(tookMillis >= 300 && tookMillis < 5000, "answered at the deadline, took " + tookMillis + " ms");
        assertTrue(interrupted.await(5, TimeUnit.SECONDS), "the handler was interrupted");
        assertEquals(1, server.stats().refused(Stats.Refusal.DEADLINE));
    }

    @Test
    void whatTheParserRefusesIsAnsweredInJsonToo() throws Exception {
        start(new Router().get("/v1/vms", req -> Response.ok(Map.of())), Limits.DEFAULTS);
        try (Raw raw = new Raw(dir.resolve("api.sock"))) {
            raw.send("GET /v1/vms HTTP/1.1\r\nHost: x\r\nX-Big: " + "y".repeat(20_000) + "\r\n\r\n");
            Raw.Answer a = Raw.parse(raw.readToEnd(WAIT));
            assertEquals(431, a.status());
            assertEquals("application/json", a.headers().get("content-type"));
            assertEquals(Map.of("error", "malformed", "message", "Request Header Fields Too Large"), PEER.readValue(a.body(), Map.class));
        }
        try (Raw raw = new Raw(dir.resolve("api.sock"))) {
            raw.send("GET /v1/vms HTTP/9.9 nonsense\r\n\r\n");
            Raw.Answer a = Raw.parse(raw.readToEnd(WAIT));
            assertEquals(400, a.status());
            assertEquals("malformed", PEER.readValue(a.body(), Map.class).get("error"));
        }
        assertEquals(2, server.stats().refused(Stats.Refusal.MALFORMED));
    }

    @Test
    void templatesAreCheckedWhereTheyAreWritten() {
        Router r = new Router();
        assertEquals("route path must start with '/' and not end with one: 'v1/x'",
                assertThrows(IllegalArgumentException.class, () -> r.get("v1/x", req -> null)).getMessage());
        assertEquals("route parameter 'Id' in '/v1/{Id}' is not a name like 'id'",
                assertThrows(IllegalArgumentException.class, () -> r.get("/v1/{Id}", req -> null)).getMessage());
        assertEquals("route parameter 'id' appears twice in '/v1/{id}/{id}'",
                assertThrows(IllegalArgumentException.class, () -> r.get("/v1/{id}/{id}", req -> null)).getMessage());
        r.get("/v1/vms/{id}", req -> null);
        assertEquals("routes GET /v1/vms/{id} and /v1/vms/{name} match the same paths",
                assertThrows(IllegalArgumentException.class, () -> r.get("/v1/vms/{name}", req -> null)).getMessage());
    }
}
