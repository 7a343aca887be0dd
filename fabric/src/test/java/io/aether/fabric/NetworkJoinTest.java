package io.aether.fabric;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.aether.agentapi.JoinRequest;
import io.aether.agentapi.JoinToken;
import io.aether.http.ApiClient;
import io.aether.http.Listener;
import io.aether.security.CertificateAuthority;
import io.aether.security.Identity;
import io.aether.security.ServerCredentials;
import io.aether.security.ServerTrust;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node joins a controller over its TLS listener with nothing but a join token (which pins the
 * controller's certificate), gets a node certificate of the fabric, and uses it for mutual TLS;
 * forged, foreign and revoked certificates are refused at the handshake, and requests beyond what
 * a caller may do are refused with 403; every refusal is counted and records nothing.
 */
@Timeout(120)
class NetworkJoinTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration TIMEOUT = Duration.ofSeconds(20);

    @TempDir
    Path dir;

    private record Started(Controller controller, ApiClient local, ServerCredentials server) { }

    private Started start() throws IOException {
        ServerCredentials server = ServerCredentials.generate("controller-under-test");
        Path socket = dir.resolve("controller.sock");
        Controller controller = Controller.start(Fabrics.group(dir.resolve("c"), 1, 1000).getFirst(),
                List.of(new Listener.UnixSocket(socket), new Listener.Tcp("127.0.0.1", 0, server, new Listener.ClientAuth.None())));
        return new Started(controller, ApiClient.unix(socket, TIMEOUT), server);
    }

    private static String token(ApiClient local, long ttlSeconds) throws IOException {
        return local.post("/v1/tokens", JSON.createObjectNode().put("ttlSeconds", ttlSeconds)).requireOk().json(JsonNode.class).path("token").asText();
    }

    private static JoinRequest request(String name, String token, Identity node) {
        String key = Base64.getEncoder().encodeToString(node.publicKey().getEncoded());
        byte[] signed = JoinRequest.signedBytes(name, Map.of(), 2, 1L << 30, token, key);
        return new JoinRequest(name, Map.of(), 2, 1L << 30, token, key, Base64.getEncoder().encodeToString(node.sign(signed)));
    }

    private ApiClient anonymous(Started s) {
        return ApiClient.tls("127.0.0.1", s.controller().port(), new ServerTrust.Pinned(s.server().fingerprint()), TIMEOUT);
    }

    private ApiClient mutual(Started s, Identity node, String certificatePem) throws IOException {
        Path keyDir = Files.createTempDirectory(dir, "node");
        node.save(keyDir.resolve("node.key"), keyDir.resolve("node.pub"));
        Files.writeString(keyDir.resolve("node.crt"), certificatePem);
        ServerCredentials credentials = ServerCredentials.load(keyDir.resolve("node.key"), keyDir.resolve("node.crt"));
        return ApiClient.mutualTls("127.0.0.1", s.controller().port(), new ServerTrust.Pinned(s.server().fingerprint()), credentials, TIMEOUT);
    }

    private static long events(ApiClient local) throws IOException {
        return local.get("/v1/events").requireOk().json(JsonNode.class).path("events").size();
    }

    @Test
    void aNodeJoinsWithATokenAloneAndPullsWithItsCertificateUntilRevoked() throws Exception {
        Started s = start();
        try (Controller controller = s.controller()) {
            String token = token(s.local(), 600);
            assertEquals(s.server().fingerprint(), JoinToken.parse(token).controllerFingerprint().orElseThrow(), "the token pins the TLS certificate");

            Identity node = Identity.generate();
            JsonNode joined = anonymous(s).post("/v1/nodes", request("n1", token, node)).requireOk().json(JsonNode.class);
            // Read back with the JDK's own X.509 parser, not the code that issued it.
            X509Certificate certificate = (X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(new ByteArrayInputStream(joined.path("certificate").asText().getBytes(StandardCharsets.US_ASCII)));
            X509Certificate authority = (X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(new ByteArrayInputStream(joined.path("authority").asText().getBytes(StandardCharsets.US_ASCII)));
            assertEquals("CN=n1,OU=node,O=aether", certificate.getSubjectX500Principal().getName());
            assertEquals(authority.getSubjectX500Principal(), certificate.getIssuerX500Principal());
            assertTrue(java.util.Arrays.equals(node.publicKey().getEncoded(), certificate.getPublicKey().getEncoded()), "the certificate is of the node's key");
            certificate.verify(authority.getPublicKey());

            ApiClient n1 = mutual(s, node, joined.path("certificate").asText());
            assertEquals(200, n1.get("/v1/nodes/n1/desired").status());
            ApiClient.Reply others = n1.get("/v1/nodes/n2/desired");
            assertEquals(403, others.status());
            assertTrue(others.text().contains("node n1 may only use its own desired state and reports"), others.text());
            ApiClient.Reply jobs = n1.get("/v1/jobs");
            assertEquals(403, jobs.status());
            assertTrue(jobs.text().contains("this needs role read"), jobs.text());
            ApiClient.Reply stranger = anonymous(s).get("/v1/nodes");
            assertEquals(403, stranger.status());
            assertTrue(stranger.text().contains("needs a client certificate of the fabric with role read"), stranger.text());
            assertEquals(403, anonymous(s).post("/v1/tokens", JSON.createObjectNode().put("ttlSeconds", 60)).status());
            assertEquals(4, controller.requestsRefused());

            s.local().post("/v1/nodes/n1/revoke", null).requireOk();
            long refusedBefore = controller.certificatesRefused();
            IOException refused = assertThrows(IOException.class, () -> mutual(s, node, joined.path("certificate").asText()).get("/v1/nodes/n1/desired"));
            assertTrue(controller.certificatesRefused() > refusedBefore, "the revoked node's handshake is counted: " + refused.getMessage());
        }
    }

    @Test
    void forgedAndForeignCertificatesFailTheHandshakeAndRecordNothing() throws Exception {
        Started s = start();
        try (Controller controller = s.controller()) {
            Identity node = Identity.generate();
            String real = anonymous(s).post("/v1/nodes", request("n1", token(s.local(), 600), node)).requireOk().json(JsonNode.class)
                    .path("certificate").asText();
            assertEquals(200, mutual(s, node, real).get("/v1/nodes/n1/desired").status());
            long before = events(s.local());

            // Self-signed with the node's subject and key: no authority of the fabric issued it.
            CertificateAuthority self = CertificateAuthority.generate("n1");
            X509Certificate selfSigned = self.issue(node.publicKey(), new CertificateAuthority.Subject("node", "n1"), Duration.ofDays(1));
            // Signed by a CA with the very name of this controller's, but another key.
            CertificateAuthority impostor = CertificateAuthority.generate("aether-controller-c1");
            X509Certificate foreign = impostor.issue(node.publicKey(), new CertificateAuthority.Subject("node", "n1"), Duration.ofDays(1));
            for (X509Certificate forged : List.of(selfSigned, foreign)) {
                long refused = controller.certificatesRefused();
                assertThrows(IOException.class, () -> mutual(s, node, CertificateAuthority.pem(forged)).get("/v1/nodes/n1/desired"));
                assertEquals(refused + 1, controller.certificatesRefused());
            }
            // A genuine certificate of another node's key cannot speak for n1 either.
            Identity other = Identity.generate();
            anonymous(s).post("/v1/nodes", request("n2", token(s.local(), 600), other)).requireOk();
            before = events(s.local());
            CertificateAuthority ours = CertificateAuthority.loadOrCreate(dir.resolve("c").resolve("c1").resolve("ca"), "unused");
            X509Certificate wrongKey = ours.issue(other.publicKey(), new CertificateAuthority.Subject("node", "n1"), Duration.ofDays(1));
            long refused = controller.certificatesRefused();
            assertThrows(IOException.class, () -> mutual(s, other, CertificateAuthority.pem(wrongKey)).get("/v1/nodes/n1/desired"));
            assertEquals(refused + 1, controller.certificatesRefused());
            assertEquals(before, events(s.local()), "refusals record nothing");
        }
    }

    @Test
    void replayedUnknownAndExpiredRegistrationsOverTlsAreRefusedLeavingNoRecord() throws Exception {
        Started s = start();
        try (Controller controller = s.controller()) {
            ApiClient network = anonymous(s);
            JoinRequest once = request("n1", token(s.local(), 10), Identity.generate());
            network.post("/v1/nodes", once).requireOk();
            long events = events(s.local());
            ApiClient.Reply replay = network.post("/v1/nodes", once);
            assertEquals(403, replay.status());
            assertTrue(replay.text().contains("join token already used"), replay.text());
            String unknown = JoinToken.PREFIX + "A".repeat(43) + "." + s.server().fingerprint();
            ApiClient.Reply madeUp = network.post("/v1/nodes", request("n2", unknown, Identity.generate()));
            assertTrue(madeUp.text().contains("join token unknown"), madeUp.text());
            JoinRequest late = request("n3", token(s.local(), 10), Identity.generate());
            events = events(s.local());
            Thread.sleep(10_500);
            ApiClient.Reply expired = network.post("/v1/nodes", late);
            assertEquals(403, expired.status());
            assertTrue(expired.text().contains("join token expired"), expired.text());
            ApiClient.Reply replayedLate = network.post("/v1/nodes", once);
            assertEquals(403, replayedLate.status(), "a replay after the token expired");
            assertEquals(events, events(s.local()), "refused joins record nothing");
            assertEquals(1, s.local().get("/v1/nodes").json(JsonNode.class).path("nodes").size());
            assertTrue(controller.registrationsRefused() >= 4);
        }
    }

    private ApiClient client(Started s, ApiClient issuer, String name, String role) throws Exception {
        Identity key = Identity.generate();
        JsonNode issued = issuer.post("/v1/clients", JSON.createObjectNode().put("name", name).put("role", role)
                .put("key", Base64.getEncoder().encodeToString(key.publicKey().getEncoded()))).requireOk().json(JsonNode.class);
        assertEquals(s.server().fingerprint(), issued.path("controller").asText(), "the client learns the certificate to pin");
        X509Certificate certificate = (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(issued.path("certificate").asText().getBytes(StandardCharsets.US_ASCII)));
        assertEquals("CN=" + name + ",OU=" + role + ",O=aether", certificate.getSubjectX500Principal().getName());
        return mutual(s, key, issued.path("certificate").asText());
    }

    @Test
    void clientIdentitiesMayDoWhatTheirRoleAllowsAndARevokedClientIsRefused() throws Exception {
        Started s = start();
        try (Controller controller = s.controller()) {
            ApiClient admin = client(s, s.local(), "root", "admin");
            ApiClient operator = client(s, admin, "ci", "operate");
            ApiClient reader = client(s, admin, "viewer", "read");
            JsonNode job = JSON.readTree(Files.readString(Path.of(System.getProperty("user.dir")).getParent().resolve("examples/hello-stub.json")));

            assertEquals(200, reader.get("/v1/jobs").status());
            ApiClient.Reply readerRuns = reader.post("/v1/jobs", job);
            assertEquals(403, readerRuns.status());
            assertTrue(readerRuns.text().contains("client viewer has role read; this needs role operate"), readerRuns.text());
            assertEquals(201, operator.post("/v1/jobs", job).status());
            ApiClient.Reply operatorTokens = operator.post("/v1/tokens", JSON.createObjectNode().put("ttlSeconds", 60));
            assertEquals(403, operatorTokens.status());
            assertTrue(operatorTokens.text().contains("this needs role admin"), operatorTokens.text());
            assertEquals(403, operator.post("/v1/clients", JSON.createObjectNode().put("name", "x").put("role", "admin").put("key", "AA")).status());
            assertEquals(201, admin.post("/v1/tokens", JSON.createObjectNode().put("ttlSeconds", 60)).status());
            assertEquals(403, admin.get("/v1/nodes/n1/desired").status(), "a client is not a node");
            assertEquals(4, controller.requestsRefused());
            ApiClient.Reply again = admin.post("/v1/clients", JSON.createObjectNode().put("name", "ci").put("role", "read")
                    .put("key", Base64.getEncoder().encodeToString(Identity.generate().publicKey().getEncoded())));
            assertEquals(409, again.status(), again.text());

            assertEquals(200, admin.post("/v1/clients/viewer/revoke", null).status());
            long refused = controller.certificatesRefused();
            assertThrows(IOException.class, () -> reader.get("/v1/jobs"));
            assertEquals(refused + 1, controller.certificatesRefused());
            JsonNode listed = admin.get("/v1/clients").requireOk().json(JsonNode.class).path("clients");
            assertEquals("[\"ci operate false\",\"root admin false\",\"viewer read true\"]", JSON.writeValueAsString(listed.valueStream()
                    .map(c -> c.path("name").asText() + " " + c.path("role").asText() + " " + c.path("revoked").asBoolean()).toList()));
            assertEquals(404, admin.post("/v1/clients/nobody/revoke", null).status());
        }
    }

    /** Each controller has its own CA in the replicated state: a node certificate issued by c1 is accepted by c2 and c3. */
    @Test
    void aNodeCertificateIssuedByOneControllerIsAcceptedByTheOthers() throws Exception {
        List<ControllerConfig> configs = Fabrics.group(dir.resolve("group"), 3, 1000);
        List<Controller> controllers = new java.util.ArrayList<>();
        List<ServerCredentials> servers = new java.util.ArrayList<>();
        try {
            for (ControllerConfig c : configs) {
                ServerCredentials server = ServerCredentials.generate("controller-" + c.self());
                servers.add(server);
                controllers.add(Controller.start(c, List.of(new Listener.UnixSocket(dir.resolve(c.self() + ".sock")),
                        new Listener.Tcp("127.0.0.1", 0, server, new Listener.ClientAuth.None()))));
            }
            Started first = new Started(controllers.getFirst(), ApiClient.unix(dir.resolve("c1.sock"), TIMEOUT), servers.getFirst());
            Identity node = Identity.generate();
            String certificate = anonymous(first).post("/v1/nodes", request("n1", token(first.local(), 600), node)).requireOk().json(JsonNode.class)
                    .path("certificate").asText();
            for (int i = 1; i < 3; i++) {
                Started other = new Started(controllers.get(i), null, servers.get(i));
                long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
                int status;
                do {
                    Thread.sleep(200);
                    try {
                        status = mutual(other, node, certificate).get("/v1/nodes/n1/desired").status();
                    } catch (IOException notYetApplied) {
                        status = 0; // this controller has not applied c1's authority or the node yet
                    }
                } while (status != 200 && System.nanoTime() < deadline);
                assertEquals(200, status, "controller c" + (i + 1) + " accepts the certificate c1 issued");
            }
        } finally {
            for (Controller c : controllers) c.close();
        }
    }
}
