package io.aether.fabric;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.aether.agentapi.JoinRequest;
import io.aether.discovery.Beacon;
import io.aether.discovery.BeaconListener;
import io.aether.discovery.BeaconSender;
import io.aether.discovery.MulticastGroup;
import io.aether.http.ApiClient;
import io.aether.http.Listener;
import io.aether.security.Identity;
import io.aether.security.KeyId;
import io.aether.security.ServerCredentials;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A controller on a real multicast group (one of this test's own): it announces its TLS API and lists nodes heard but not joined as pending. */
@Timeout(90)
class DiscoveryApiTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    /** A group and port of the calling test's own, so that parallel runs do not hear each other. */
    static MulticastGroup freshGroup() throws Exception {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        int port;
        try (DatagramSocket probe = new DatagramSocket(0)) {
            port = probe.getLocalPort();
        }
        return MulticastGroup.on(InetAddress.getByAddress(new byte[] {(byte) 239, (byte) 255, (byte) r.nextInt(1, 255), (byte) r.nextInt(1, 255)}), port);
    }

    @Test
    void aNodeHeardIsPendingUntilItJoinsAndTheControllerAnnouncesItsTlsApi() throws Exception {
        MulticastGroup group = freshGroup();
        Path socket = dir.resolve("controller.sock");
        ServerCredentials credentials = ServerCredentials.generate("c1");
        Listener tls = new Listener.Tcp("127.0.0.1", 0, credentials, new Listener.ClientAuth.Pinned(Set.of("ab".repeat(32))));
        BeaconListener.Limits quick = new BeaconListener.Limits(16, Duration.ofSeconds(30), 50, Duration.ofMinutes(1));
        try (BeaconListener controllers = BeaconListener.start(group, Beacon.Role.CONTROLLER, quick);
             Controller controller = Controller.start(Fabrics.group(dir, 1, 1000).getFirst(), List.of(new Listener.UnixSocket(socket), tls),
                     Duration.ofHours(1), Optional.of(group))) {
            ApiClient api = ApiClient.unix(socket, Duration.ofSeconds(10));
            waitFor("the controller's beacon", () -> !controllers.heard().isEmpty());
            Beacon announced = controllers.heard().getFirst().beacon();
            assertEquals("c1", announced.name());
            assertEquals(KeyId.of(credentials.certificate().getPublicKey()), announced.key());
            assertEquals(controller.port(), announced.port());
            // The sender counts a beacon once its send returns: the listener may hear it before that.
            waitFor("the controller to count what it sent", () -> controller.announced() >= 1);

            Identity node = Identity.generate();
            KeyId nodeKey = KeyId.of(node.publicKey());
            assertEquals("{\"discovery\":true,\"pending\":[]}", api.get("/v1/nodes/pending").requireOk().text());
            try (BeaconSender sender = BeaconSender.start(group, () -> new Beacon(Beacon.Role.NODE, "edge-9", nodeKey, 7444, Instant.now()),
                    Duration.ofMillis(200))) {
                waitFor("the node to be pending", () -> pending(api).size() == 1);
                JsonNode row = pending(api).get(0);
                assertEquals("edge-9", row.path("name").asText());
                assertEquals(nodeKey.hex(), row.path("keyId").asText());
                assertEquals(7444, row.path("port").asInt());
                assertTrue(row.path("address").asText().matches("[0-9.]+"), row.toString());

                String token = api.post("/v1/tokens", JSON.createObjectNode().put("ttlSeconds", 3600)).json(JsonNode.class).path("token").asText();
                String key = Base64.getEncoder().encodeToString(node.publicKey().getEncoded());
                byte[] signed = JoinRequest.signedBytes("edge-9", Map.of(), 2, 1L << 30, token, key);
                assertEquals(201, api.post("/v1/nodes", new JoinRequest("edge-9", Map.of(), 2, 1L << 30, token, key,
                        Base64.getEncoder().encodeToString(node.sign(signed)))).status());
                assertEquals(0, pending(api).size(), "a joined node is not pending, though it is still heard");
            }
        }
    }

    @Test
    void withoutDiscoveryNothingIsPendingAndNothingIsAnnounced() throws Exception {
        Path socket = dir.resolve("controller.sock");
        try (Controller controller = Controller.start(Fabrics.group(dir, 1, 1000).getFirst(), List.of(new Listener.UnixSocket(socket)))) {
            assertEquals("{\"discovery\":false,\"pending\":[]}", ApiClient.unix(socket, Duration.ofSeconds(10)).get("/v1/nodes/pending").requireOk().text());
            assertEquals(0, controller.announced());
        }
    }

    private static JsonNode pending(ApiClient api) {
        try {
            return api.get("/v1/nodes/pending").json(JsonNode.class).path("pending");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void waitFor(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("timed out waiting for " + what);
            Thread.sleep(50);
        }
    }
}
