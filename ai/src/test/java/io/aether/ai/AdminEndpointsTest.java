package io.aether.ai;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The admin endpoints refuse what a web page, or anyone without the token, could send. */
@Timeout(60)
class AdminEndpointsTest {

    private static final String TOKEN = "admin-token-for-tests-0123456789";
    private static final String JSON = "application/json";

    private final InMemorySource source = new InMemorySource();
    private final String v1 = source.put("main", TestModels.linear());
    private final String v2 = source.put("v2", TestModels.linear(new float[] {1, 0, 0, 1, 0, 0}, new float[] {0, 0}));
    private InferenceRuntime runtime;
    private InferenceServer server;
    private Http http;

    @TempDir
    Path tmp;

    @BeforeEach
    void start() throws Exception {
        runtime = InferenceRuntime.start(RuntimeConfig.defaults());
        runtime.deploy("lin", source, "main");
        server = InferenceServer.start(runtime, ServerConfig.defaults().withAddress(new InetSocketAddress("127.0.0.1", 0))
                .withAdminToken(AdminToken.of(TOKEN)));
        http = new Http(server.uri());
    }

    @AfterEach
    void stop() {
        server.close();
        runtime.close();
    }

    /** One admin request: path, body, content type (or null) and further headers. */
    private record Call(String action, String body, String contentType, String... headers) {
        HttpResponse<byte[]> send(Http http) throws Exception {
            return http.post("/v1/models/lin:" + action, contentType, body.getBytes(StandardCharsets.UTF_8), headers);
        }
    }

    private static final String BEARER = "Bearer " + TOKEN;

    /** Every admin action, each as it would succeed from a client with the token. */
    private static List<Call> validCalls() {
        return List.of(new Call("switch", "{\"ref\": \"v2\"}", JSON, "Authorization", BEARER),
                new Call("canary", "{\"ref\": \"v2\", \"percent\": 50}", JSON, "Authorization", BEARER),
                new Call("promote", "{}", JSON, "Authorization", BEARER),
                new Call("rollback", "", JSON, "Authorization", BEARER));
    }

    private void assertNothingChanged() {
        ModelStatus s = runtime.status("lin").orElseThrow();
        assertEquals(1, s.versions().size(), "no canary: " + s);
        assertEquals(v1, s.stable().version());
    }

    private void assertRefused(int status, String error, Call call) throws Exception {
        HttpResponse<byte[]> r = call.send(http);
        assertEquals(status, r.statusCode(), call.action() + ": " + new String(r.body(), StandardCharsets.UTF_8));
        assertEquals(error, Http.error(r));
        assertNothingChanged();
    }

    @Test
    void theCrossSiteFormPostOfTheIssueIsRefused() throws Exception {
        // What fetch(url, {method: "POST", mode: "no-cors", body: ...}) on any web page sends: no preflight needed.
        for (Call valid : validCalls()) {
            assertRefused(403, "admin requests from web pages are refused (Origin: https://evil.example)",
                    new Call(valid.action(), valid.body(), "text/plain;charset=UTF-8", "Origin", "https://evil.example"));
        }
    }

    @Test
    void anyOriginIsRefusedEvenWithTheTokenAndJson() throws Exception {
        for (Call valid : validCalls()) {
            for (String origin : List.of("http://evil.example", "null", server.uri().toString())) {
                assertRefused(403, "admin requests from web pages are refused (Origin: " + origin + ")",
                        new Call(valid.action(), valid.body(), JSON, "Authorization", BEARER, "Origin", origin));
            }
        }
    }

    @Test
    void aMissingOrWrongTokenIs401() throws Exception {
        String needs = "admin requests need the header 'Authorization: Bearer TOKEN' with this server's admin token";
        for (Call valid : validCalls()) {
            for (String[] auth : List.of(new String[0], new String[] {"Authorization", "Bearer " + TOKEN + "x"},
                    new String[] {"Authorization", "Bearer " + TOKEN.substring(1)}, new String[] {"Authorization", "Bearer"},
                    new String[] {"Authorization", "Basic " + TOKEN}, new String[] {"Authorization", TOKEN})) {
                assertRefused(401, needs, new Call(valid.action(), valid.body(), JSON, auth));
            }
        }
        HttpResponse<byte[]> r = new Call("switch", "{\"ref\": \"v2\"}", JSON).send(http);
        assertEquals("Bearer realm=\"aether-admin\"", r.headers().firstValue("WWW-Authenticate").orElseThrow());
    }

    @Test
    void aBodyNotDeclaredAsJsonIs415() throws Exception {
        for (Call valid : validCalls()) {
            assertRefused(415, "admin requests must be sent as Content-Type: application/json, not 'text/plain'",
                    new Call(valid.action(), valid.body(), "text/plain", "Authorization", BEARER));
            assertRefused(415, "admin requests must be sent as Content-Type: application/json, not"
                    + " 'application/x-www-form-urlencoded'", new Call(valid.action(), valid.body(),
                    "application/x-www-form-urlencoded", "Authorization", BEARER));
            assertRefused(415, "admin requests must be sent as Content-Type: application/json",
                    new Call(valid.action(), valid.body(), null, "Authorization", BEARER));
        }
    }

    @Test
    void refusalsAreCountedAndTheRightRequestStillWorks() throws Exception {
        new Call("switch", "{\"ref\": \"v2\"}", "text/plain", "Origin", "https://evil.example").send(http);
        new Call("switch", "{\"ref\": \"v2\"}", JSON).send(http);
        new Call("switch", "{\"ref\": \"v2\"}", "text/plain", "Authorization", BEARER).send(http);
        assertNothingChanged();
        // The scheme is case-insensitive, as HTTP says.
        HttpResponse<byte[]> ok = new Call("switch", "{\"ref\": \"v2\"}", "application/json; charset=utf-8",
                "Authorization", "bearer " + TOKEN).send(http);
        assertEquals(200, ok.statusCode(), new String(ok.body(), StandardCharsets.UTF_8));
        assertEquals(v2, runtime.status("lin").orElseThrow().stable().version());
        PrometheusText m = PrometheusText.parse(new String(http.get("/metrics").body(), StandardCharsets.UTF_8));
        for (String code : List.of("403", "401", "415", "200")) {
            assertEquals(1, m.value("aether_http_requests_total", Map.of("endpoint", "admin", "model", "lin", "code", code)));
        }
    }

    @Test
    void aTokenFileIsCreatedOwnerOnlyAndReadBack() throws Exception {
        Path file = tmp.resolve("state/inference/admin-token");
        AdminToken created = AdminToken.loadOrCreate(file);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        String text = Files.readString(file).strip();
        assertTrue(text.matches("[A-Za-z0-9_-]{43}"), "32 random bytes in base64url: " + text);
        assertTrue(created.acceptsAuthorization("Bearer " + text));
        AdminToken again = AdminToken.loadOrCreate(file);
        assertTrue(again.acceptsAuthorization("Bearer " + text), "the file's token is reused");
        assertFalse(again.acceptsAuthorization("Bearer " + AdminToken.generateText()));
        assertFalse(again.acceptsAuthorization(null));
        assertFalse(created.toString().contains(text), "toString keeps the secret");
        assertTrue(!AdminToken.loadOrCreate(tmp.resolve("other")).acceptsAuthorization("Bearer " + text),
                "each new file gets its own token");
    }

    @Test
    void aTokenFileOthersCanReadOrThatHoldsNoTokenIsRefused() throws Exception {
        Path open = tmp.resolve("open-token");
        Files.writeString(open, TOKEN + "\n");
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rw-r--r--"));
        IOException e = assertThrows(IOException.class, () -> AdminToken.loadOrCreate(open));
        assertEquals(open + ": admin token file is readable by others (mode rw-r--r--); run chmod 600 " + open,
                e.getMessage());
        Path weak = tmp.resolve("weak-token");
        Files.writeString(weak, "short\n");
        Files.setPosixFilePermissions(weak, PosixFilePermissions.fromString("rw-------"));
        assertEquals(weak + ": an admin token must be 16 to 256 characters long",
                assertThrows(IOException.class, () -> AdminToken.loadOrCreate(weak)).getMessage());
        for (String t : List.of("with space in the token text", "x".repeat(257), "tab\tinside-the-token-text")) {
            assertThrows(IllegalArgumentException.class, () -> AdminToken.of(t), t);
        }
    }
}
