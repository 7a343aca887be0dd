package io.aether.fabric;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.aether.agentapi.AllocationReports;
import io.aether.agentapi.JoinRequest;
import io.aether.http.ApiClient;
import io.aether.http.Listener;
import io.aether.security.Identity;
import io.aether.security.KeyId;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Nodes through the controller's API: join tokens, registration with an ML-DSA-65 identity, desired state and reports. */
@Timeout(60)
class NodeApiTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, String> LABELS = Map.of("zone", "a");

    @TempDir
    Path dir;

    static String token(ApiClient api) throws IOException {
        return api.post("/v1/tokens", JSON.createObjectNode().put("ttlSeconds", 3600)).json(JsonNode.class).path("token").asText();
    }

    /** A join request for {@code name} whose signature is made by {@code signer}, presenting {@code presented}'s key. */
    static JoinRequest request(String name, String token, Identity presented, Identity signer) {
        String key = Base64.getEncoder().encodeToString(presented.publicKey().getEncoded());
        byte[] signed = JoinRequest.signedBytes(name, LABELS, 2, 1L << 30, token, key);
        return new JoinRequest(name, LABELS, 2, 1L << 30, token, key, Base64.getEncoder().encodeToString(signer.sign(signed)));
    }

    private static List<String> events(ApiClient api) throws IOException {
        List<String> out = new ArrayList<>();
        api.get("/v1/events?after=0").json(JsonNode.class).path("events").forEach(e -> out.add(e.path("kind").asText() + " " + e.path("subject").asText()
                + (e.path("kind").asText().equals("ALLOCATION_REPORTED") ? ": " + e.path("detail").asText() : "")));
        return out;
    }

    @Test
    void aNodeJoinsOnceWithItsIdentityAndEveryBadJoinIsRefusedLeavingNoRecord() throws IOException {
        Path socket = dir.resolve("controller.sock");
        try (Controller controller = Controller.start(Fabrics.group(dir, 1, 1000).getFirst(), List.of(new Listener.UnixSocket(socket)))) {
            ApiClient api = ApiClient.unix(socket, Duration.ofSeconds(10));
            Identity node = Identity.generate();
            Identity stranger = Identity.generate();
            String secret = token(api);
            assertTrue(secret.startsWith("aether-join-"), secret);

            ApiClient.Reply forged = api.post("/v1/nodes", request("n1", secret, node, stranger));
            assertEquals(403, forged.status(), forged.text());
            assertTrue(forged.text().contains("signature: bad signature"), forged.text());
            ApiClient.Reply unknown = api.post("/v1/nodes", request("n1", "aether-join-made-up", node, node));
            assertEquals(403, unknown.status());
            assertTrue(unknown.text().contains("join token unknown"), unknown.text());
            ObjectNode badKey = JSON.valueToTree(request("n1", secret, node, node));
            ApiClient.Reply notAKey = api.post("/v1/nodes", badKey.put("key", Base64.getEncoder().encodeToString(new byte[64])));
            assertEquals(403, notAKey.status(), notAKey.text());
            List<String> before = events(api);
            assertEquals(List.of("TOKEN_CREATED token " + JoinTokens.hash(secret).substring(0, 8)), before, "refusals record nothing");
            assertEquals(0, api.get("/v1/nodes").json(JsonNode.class).path("nodes").size());

            // The token the refusals presented is still unused: the node joins with it.
            JoinRequest good = request("n1", secret, node, node);
            ApiClient.Reply joined = api.post("/v1/nodes", good);
            assertEquals(201, joined.status(), joined.text());
            assertEquals(KeyId.of(node.publicKey()).hex(), JSON.readTree(joined.body()).path("keyId").asText());
            JsonNode nodes = api.get("/v1/nodes").json(JsonNode.class).path("nodes");
            assertEquals(1, nodes.size());
            assertEquals(KeyId.of(node.publicKey()).hex(), nodes.get(0).path("keyId").asText());
            assertEquals("a", nodes.get(0).path("labels").path("zone").asText());

            ApiClient.Reply replayed = api.post("/v1/nodes", good);
            assertEquals(403, replayed.status());
            assertTrue(replayed.text().contains("join token already used"), replayed.text());
            ApiClient.Reply sameKeyAgain = api.post("/v1/nodes", request("n2", token(api), node, node));
            assertTrue(sameKeyAgain.text().contains("already another node's identity"), sameKeyAgain.text());
            assertEquals(1, api.get("/v1/nodes").json(JsonNode.class).path("nodes").size());

            assertEquals(400, api.post("/v1/tokens", JSON.createObjectNode().put("ttlSeconds", 5)).status());
            assertEquals("ttlSeconds", JSON.readTree(api.post("/v1/tokens", JSON.createObjectNode().put("ttlSeconds", "1h")).body()).path("field").asText());
            assertEquals(5, controller.registrationsRefused(), "forged, unknown token, not a key, replayed, a second node with the key");
        }
    }

    @Test
    void aNodePullsItsVmsAndItsReportsBecomeEventsOnceEach() throws IOException {
        Path socket = dir.resolve("controller.sock");
        try (Controller controller = Controller.start(Fabrics.group(dir, 1, 1000).getFirst(), List.of(new Listener.UnixSocket(socket)), Duration.ofHours(1))) {
            ApiClient api = ApiClient.unix(socket, Duration.ofSeconds(10));
            Identity node = Identity.generate();
            assertEquals(201, api.post("/v1/nodes", request("n1", token(api), node, node)).status());
            assertEquals("{\"node\":\"n1\",\"revision\":0,\"vms\":{},\"restart\":{},\"models\":{}}", api.get("/v1/nodes/n1/desired").requireOk().text());
            assertEquals(404, api.get("/v1/nodes/n9/desired").status());

            String spec = "{\"name\":\"web\",\"workload\":{\"vm\":{\"boot\":{\"stub\":\"count\"},\"memory\":\"16M\"}},\"resources\":{\"vcpus\":1,\"memory\":\"32M\"},\"replicas\":2,"
                    + "\"restart\":\"always\"}";
            assertEquals(201, api.post("/v1/jobs", JSON.readTree(spec)).status());
            JsonNode desired = api.get("/v1/nodes/n1/desired").json(JsonNode.class);
            assertEquals(List.of("web.0", "web.1"), names(desired.path("vms")));
            assertEquals("count", desired.path("vms").path("web.1").path("boot").path("stub").asText());
            assertEquals("16M", desired.path("vms").path("web.1").path("memory").asText(), desired.toString());
            assertEquals("always", desired.path("restart").path("web.1").asText(), desired.toString());
            long revision = desired.path("revision").asLong();
            assertTrue(revision > 0, desired.toString());

            AllocationReports reports = new AllocationReports(revision, List.of(new AllocationReports.Report("web.0", "running", null),
                    new AllocationReports.Report("web.1", "failed", "monitor exited with status 1"),
                    new AllocationReports.Report("other.0", "running", null)));
            assertEquals(204, api.post("/v1/nodes/n1/reports", reports).status());
            List<String> once = events(api);
            assertEquals(List.of("ALLOCATION_REPORTED allocation web.0: running on node n1",
                    "ALLOCATION_REPORTED allocation web.1: failed: monitor exited with status 1 on node n1"), once.subList(once.size() - 2, once.size()));
            assertEquals(204, api.post("/v1/nodes/n1/reports", reports).status());
            assertEquals(once, events(api), "a repeated report changes nothing");
            JsonNode allocations = api.get("/v1/allocations").json(JsonNode.class).path("allocations");
            assertEquals("running", allocations.get(0).path("state").asText());
            assertEquals(404, api.post("/v1/nodes/n9/reports", reports).status());
            assertEquals(400, api.post("/v1/nodes/n1/reports", JSON.readTree("{\"revision\":1,\"reports\":[{\"allocation\":\"../x\",\"state\":\"running\"}]}")).status());

            assertEquals(204, api.send("DELETE", "/v1/jobs/web", null).status());
            JsonNode after = api.get("/v1/nodes/n1/desired").json(JsonNode.class);
            assertEquals(0, after.path("vms").size());
            assertTrue(after.path("revision").asLong() > revision, after.toString());

            // A model job: its replica is a model in the desired state, and its node's report says where it serves which commit.
            assertEquals(201, api.post("/v1/jobs", JSON.readTree("{\"name\":\"relu\",\"workload\":{\"model\":{\"repository\":\"https://10.0.0.5:7443\","
                    + "\"ref\":\"v2\"}},\"resources\":{\"vcpus\":1,\"memory\":\"256M\"},\"restart\":\"never\"}")).status());
            JsonNode models = api.get("/v1/nodes/n1/desired").json(JsonNode.class);
            assertEquals(0, models.path("vms").size(), models.toString());
            assertEquals("{\"repository\":\"https://10.0.0.5:7443\",\"ref\":\"v2\"}", models.path("models").path("relu.0").toString());
            assertEquals("never", models.path("restart").path("relu.0").asText(), models.toString());
            String commit = "0123456789abcdef".repeat(4);
            assertEquals(204, api.post("/v1/nodes/n1/reports", new AllocationReports(models.path("revision").asLong(),
                    List.of(new AllocationReports.Report("relu.0", "running", null, "http://127.0.0.1:41000/v1/models/relu", commit)))).status());
            JsonNode relu = api.get("/v1/jobs/relu").json(JsonNode.class).path("allocations").get(0);
            assertEquals("http://127.0.0.1:41000/v1/models/relu", relu.path("url").asText(), relu.toString());
            assertEquals(commit, relu.path("commit").asText(), relu.toString());
            assertEquals(400, api.post("/v1/nodes/n1/reports", JSON.readTree("{\"revision\":1,\"reports\":[{\"allocation\":\"relu.0\",\"state\":\"running\","
                    + "\"url\":\"file:///etc/passwd\"}]}")).status(), "a serving URL is http");
        }
    }

    /** Drain moves a node's replicas to another node; revoke refuses the node's later requests and leaves what fits nowhere pending. */
    @Test
    void drainMovesReplicasAndRevokeShutsTheNodeOut() throws IOException {
        Path socket = dir.resolve("controller.sock");
        try (Controller controller = Controller.start(Fabrics.group(dir, 1, 1000).getFirst(), List.of(new Listener.UnixSocket(socket)), Duration.ofHours(1))) {
            ApiClient api = ApiClient.unix(socket, Duration.ofSeconds(10));
            Identity first = Identity.generate();
            Identity second = Identity.generate();
            assertEquals(201, api.post("/v1/nodes", request("n1", token(api), first, first)).status());
            String spec = "{\"name\":\"web\",\"workload\":{\"vm\":{\"boot\":{\"stub\":\"count\"},\"memory\":\"16M\"}},\"resources\":{\"vcpus\":1,\"memory\":\"32M\"}}";
            assertEquals(201, api.post("/v1/jobs", JSON.readTree(spec)).status());
            assertEquals(201, api.post("/v1/nodes", request("n2", token(api), second, second)).status());
            assertEquals(Map.of("web.0", "n1"), placements(api));
            assertEquals(200, api.get("/v1/nodes/n1/desired").status());
            JsonNode n1 = node(api, "n1");
            assertEquals(1, n1.path("allocations").asInt(), n1.toString());
            assertEquals(1, n1.path("used").path("vcpus").asInt(), n1.toString());
            assertEquals(32L << 20, n1.path("used").path("memory").asLong(), n1.toString());
            assertTrue(n1.path("lastContact").isTextual(), "a pull is contact: " + n1);
            assertTrue(node(api, "n2").path("lastContact").isMissingNode(), "n2 never pulled");

            ApiClient.Reply drained = api.post("/v1/nodes/n1/drain", null);
            assertEquals(200, drained.status(), drained.text());
            assertEquals("DRAINING", node(api, "n1").path("status").asText());
            assertEquals(Map.of("web.0", "n2"), placements(api), "the replica moved");
            assertEquals(0, api.get("/v1/nodes/n1/desired").json(JsonNode.class).path("vms").size());
            assertEquals(200, api.post("/v1/nodes/n1/drain", null).status(), "draining again changes nothing");

            assertEquals(200, api.post("/v1/nodes/n2/revoke", null).status());
            assertEquals("REVOKED", node(api, "n2").path("status").asText());
            assertEquals(Map.of(), placements(api));
            assertEquals("1 of 1 replicas have no node: 1 node draining, 1 node revoked",
                    api.get("/v1/jobs/web").json(JsonNode.class).path("job").path("pending").asText());
            ApiClient.Reply pull = api.get("/v1/nodes/n2/desired");
            assertEquals(403, pull.status(), pull.text());
            assertTrue(pull.text().contains("node n2 is revoked"), pull.text());
            AllocationReports report = new AllocationReports(1, List.of(new AllocationReports.Report("web.0", "running", null)));
            assertEquals(403, api.post("/v1/nodes/n2/reports", report).status());
            assertEquals(2, controller.revokedRequests());
            ApiClient.Reply rejoin = api.post("/v1/nodes", request("n2", token(api), second, second));
            assertEquals(403, rejoin.status());
            assertTrue(rejoin.text().contains("node n2 is revoked"), rejoin.text());

            assertEquals(409, api.post("/v1/nodes/n2/drain", null).status(), "a revoked node stays revoked");
            assertEquals(404, api.post("/v1/nodes/n9/drain", null).status());
            assertEquals(404, api.post("/v1/nodes/n9/revoke", null).status());
            List<String> events = events(api);
            assertTrue(events.containsAll(List.of("NODE_DRAINED node n1", "NODE_REVOKED node n2")), events.toString());
            assertEquals(1, events.stream().filter(e -> e.startsWith("NODE_DRAINED")).count(), "a repeated drain records nothing");
        }
    }

    private static Map<String, String> placements(ApiClient api) throws IOException {
        Map<String, String> out = new TreeMap<>();
        api.get("/v1/allocations").json(JsonNode.class).path("allocations").forEach(a -> out.put(a.path("job").asText() + "." + a.path("replica").asInt(),
                a.path("node").asText()));
        return out;
    }

    private static JsonNode node(ApiClient api, String name) throws IOException {
        for (JsonNode n : api.get("/v1/nodes").json(JsonNode.class).path("nodes")) {
            if (n.path("name").asText().equals(name)) return n;
        }
        throw new AssertionError("no node " + name);
    }

    private static List<String> names(JsonNode object) {
        List<String> out = new ArrayList<>();
        object.fieldNames().forEachRemaining(out::add);
        return out;
    }
}
