package io.aether.fabric;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.aether.http.ApiClient;
import io.aether.http.Listener;
import io.aether.security.BrowserCredentials;
import io.aether.security.ServerCredentials;
import io.aether.testkit.OpenApiSchema;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The browser listener ({@code --dashboard}): the page is public, every API request needs a
 * session token, which maps to its role; unknown, ended and expired tokens are 401s, counted.
 * The client is the JDK's own HTTP client trusting exactly the controller's P-256 certificate.
 */
@Timeout(120)
class DashboardLoginTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void everyApiRequestNeedsASessionWithTheRoleItAsksFor() throws Exception {
        Path socket = dir.resolve("controller.sock");
        BrowserCredentials credentials = BrowserCredentials.generate("test");
        int apiPort = Fabrics.freePort();
        try (Controller controller = Controller.start(Fabrics.group(dir, 1, 1000).getFirst(), List.of(new Listener.UnixSocket(socket),
                new Listener.Browser("127.0.0.1", 0, credentials), new Listener.Tcp("127.0.0.1", apiPort, ServerCredentials.generate("api"), new Listener.ClientAuth.None())),
                Duration.ofHours(1))) {
            assertEquals(apiPort, controller.port(), "the API's TLS port, not the dashboard's listed before it");
            ApiClient admin = ApiClient.unix(socket, Duration.ofSeconds(20));
            Browser browser = new Browser(credentials, controller.dashboardPort());
            OpenApiSchema doc = new OpenApiSchema(JSON.readTree(admin.get("/openapi.json").requireOk().body()));

            assertEquals(200, browser.send("GET", "/", null, null).statusCode(), "the page itself needs no login");
            assertEquals(200, browser.send("GET", "/ui/app.js", null, null).statusCode());
            HttpResponse<String> anonymous = browser.send("GET", "/v1/jobs", null, null);
            assertEquals(401, anonymous.statusCode(), anonymous.body());
            assertEquals("log in: this listener needs a dashboard session (Authorization: Bearer TOKEN)", JSON.readTree(anonymous.body()).path("message").asText());
            assertEquals(1, controller.sessionsRefused());

            ApiClient.Reply created = admin.post("/v1/sessions", Map.of("role", "operate", "ttlSeconds", 600));
            assertEquals(201, created.status(), created.text());
            JsonNode operate = JSON.readTree(created.body());
            assertEquals(List.of(), doc.check(operate, doc.responseSchema("/v1/sessions", "post", 201, "application/json")), operate.toString());
            String read = JSON.readTree(admin.post("/v1/sessions", Map.of("role", "read", "ttlSeconds", 600)).requireOk().body()).path("token").asText();
            String adminSession = JSON.readTree(admin.post("/v1/sessions", Map.of("role", "admin", "ttlSeconds", 600)).requireOk().body()).path("token").asText();
            assertEquals("ttlSeconds: 7200 is out of range (10 to 3600)", JSON.readTree(admin.post("/v1/sessions", Map.of("role", "read", "ttlSeconds", 7200)).body()).path("message").asText());
            assertEquals("role: expected read, operate or admin", JSON.readTree(admin.post("/v1/sessions", Map.of("role", "root", "ttlSeconds", 60)).body()).path("message").asText());

            String token = operate.path("token").asText();
            assertEquals(200, browser.send("GET", "/v1/jobs", token, null).statusCode());
            HttpResponse<String> refused = browser.send("POST", "/v1/jobs", read, Files.readString(helloStub()));
            assertEquals(403, refused.statusCode(), refused.body());
            assertTrue(JSON.readTree(refused.body()).path("message").asText().endsWith(" has role read; this needs role operate"), refused.body());
            assertEquals(0, JSON.readTree(admin.get("/v1/jobs").body()).path("jobs").size(), "a refused submit changes nothing");
            assertEquals(201, browser.send("POST", "/v1/jobs", token, Files.readString(helloStub())).statusCode());
            HttpResponse<String> purge = browser.send("DELETE", "/v1/jobs/hello-stub?purgeVolumes=true", token, null);
            assertEquals(403, purge.statusCode(), "an operator stops jobs but does not delete their volumes: " + purge.body());
            assertTrue(JSON.readTree(purge.body()).path("message").asText().endsWith(" has role operate; this needs role admin"), purge.body());
            assertEquals(200, admin.get("/v1/jobs/hello-stub").status(), "a refused stop changes nothing");
            assertEquals(403, browser.send("POST", "/v1/sessions", adminSession, "{\"role\":\"admin\",\"ttlSeconds\":3600}").statusCode(),
                    "a session cannot extend itself with a new one");
            assertEquals(403, browser.send("GET", "/v1/nodes/edge-1/desired", adminSession, null).statusCode(), "a session is not a node");

            long before = controller.sessionsRefused();
            assertEquals(401, browser.send("GET", "/v1/jobs", token.substring(0, token.length() - 2) + "xx", null).statusCode());
            assertEquals(204, admin.send("DELETE", "/v1/sessions/" + operate.path("id").asText(), null).status());
            HttpResponse<String> ended = browser.send("GET", "/v1/jobs", token, null);
            assertEquals(401, ended.statusCode(), ended.body());
            assertEquals("the session token is unknown, ended or expired: log in again", JSON.readTree(ended.body()).path("message").asText());
            assertEquals(404, admin.send("DELETE", "/v1/sessions/" + operate.path("id").asText(), null).status(), "already ended");
            assertEquals(before + 2, controller.sessionsRefused());
            assertEquals(200, browser.send("GET", "/v1/jobs", read, null).statusCode(), "the other sessions live on");
        }
    }

    static Path helloStub() {
        return Path.of(System.getProperty("user.dir")).getParent().resolve("examples/hello-stub.json");
    }

    /** The JDK's HTTP client, trusting only {@code credentials}' certificate. */
    private record Browser(HttpClient client, int port) {
        Browser(BrowserCredentials credentials, int port) throws Exception {
            this(HttpClient.newBuilder().sslContext(trusting(credentials)).connectTimeout(Duration.ofSeconds(10)).build(), port);
        }

        private static SSLContext trusting(BrowserCredentials credentials) throws Exception {
            KeyStore trusted = KeyStore.getInstance("PKCS12");
            trusted.load(null, null);
            trusted.setCertificateEntry("dashboard", credentials.certificate());
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trusted);
            SSLContext context = SSLContext.getInstance("TLSv1.3");
            context.init(null, tmf.getTrustManagers(), null);
            return context;
        }

        HttpResponse<String> send(String method, String path, String token, String json) throws Exception {
            HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(20))
                    .method(method, json == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(json));
            if (token != null) request.header("Authorization", "Bearer " + token);
            if (json != null) request.header("Content-Type", "application/json");
            return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
        }
    }
}
