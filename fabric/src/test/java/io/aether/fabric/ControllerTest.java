package io.aether.fabric;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.aether.http.ApiClient;
import io.aether.http.Listener;
import io.aether.security.ServerCredentials;
import io.aether.security.ServerTrust;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The controller's /v1 API on its Unix socket, over a one-peer Ratis group. */
@Timeout(60)
class ControllerTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path EXAMPLES = Path.of(System.getProperty("user.dir")).getParent().resolve("examples");

    @TempDir
    Path dir;

    @Test
    void aSubmittedJobIsPlacedAndEverythingIsAnEvent() throws IOException {
        Path socket = dir.resolve("controller.sock");
        // Plans only when the test says (a submit, reconcile()), so the events come in one order.
        try (Controller controller = Controller.start(Fabrics.group(dir, 1, 1000).getFirst(), List.of(new Listener.UnixSocket(socket)), Duration.ofHours(1))) {
            ApiClient api = ApiClient.unix(socket, Duration.ofSeconds(10));
            JsonNode spec = JSON.readTree(Files.readString(EXAMPLES.resolve("hello-vm.json")));
            ApiClient.Reply created = api.post("/v1/jobs", spec);
            assertEquals(201, created.status(), created.text());
            assertEquals("{\"job\":\"hello-vm\",\"version\":1}", created.text());
            JsonNode job = api.get("/v1/jobs/hello-vm").json(JsonNode.class);
            assertEquals("2 of 2 replicas have no node: no node has joined", job.path("job").path("pending").asText());

            JoinTokens tokens = new JoinTokens(controller.fabric(), Clock.systemUTC(), new SecureRandom());
            for (String node : List.of("n1", "n2")) {
                assertInstanceOf(Outcome.Applied.class, tokens.join(tokens.create(Duration.ofMinutes(5)).secret(), Fabrics.node(node, 2, 1024, Map.of()), Fabrics.key(node)));
            }
            controller.reconcile();
            job = api.get("/v1/jobs/hello-vm").json(JsonNode.class);
            Map<String, String> placed = new TreeMap<>();
            job.path("allocations").forEach(a -> placed.put(a.path("job").asText() + "." + a.path("replica").asInt(), a.path("node").asText()));
            assertEquals(Map.of("hello-vm.0", "n1", "hello-vm.1", "n2"), placed, "one replica per node: the job is anti-affine to itself");
            assertTrue(job.path("job").path("pending").isMissingNode(), job.toString());
            assertEquals(2, api.get("/v1/nodes").json(JsonNode.class).path("nodes").size());

            List<String> kinds = new ArrayList<>();
            api.get("/v1/events?after=0").json(JsonNode.class).path("events").forEach(e -> kinds.add(e.path("kind").asText()));
            assertEquals(List.of("JOB_SUBMITTED", "JOB_PENDING", "TOKEN_CREATED", "NODE_JOINED", "TOKEN_CREATED", "NODE_JOINED",
                    "ALLOCATION_PLACED", "ALLOCATION_PLACED"), kinds);
            assertEquals(2, api.get("/v1/events?after=6").json(JsonNode.class).path("events").size());

            assertEquals(204, api.send("DELETE", "/v1/jobs/hello-vm", null).status());
            assertEquals(0, api.get("/v1/allocations").json(JsonNode.class).path("allocations").size());
        }
    }

    /**
     * A plan with more placements than one command may carry is committed in batches within one
     * scheduling pass: every replica placed, one log entry per batch, none larger than the limit.
     */
    @Test
    void aPlanLargerThanOneCommandIsCommittedInBatchesInOnePass() throws IOException, InterruptedException {
        Path socket = dir.resolve("controller.sock");
        try (Controller controller = Controller.start(Fabrics.group(dir, 1, 1000).getFirst(), List.of(new Listener.UnixSocket(socket)), Duration.ofHours(1))) {
            ApiClient api = ApiClient.unix(socket, Duration.ofSeconds(10));
            com.fasterxml.jackson.databind.node.ObjectNode spec = (com.fasterxml.jackson.databind.node.ObjectNode) JSON.readTree(
                    Files.readString(EXAMPLES.resolve("hello-stub.json")));
            spec.put("replicas", 10);
            assertEquals(201, api.post("/v1/jobs", spec).status(), "accepted, pending: no node yet");
            JoinTokens tokens = new JoinTokens(controller.fabric(), Clock.systemUTC(), new SecureRandom());
            assertInstanceOf(Outcome.Applied.class, tokens.join(tokens.create(Duration.ofMinutes(5)).secret(), Fabrics.node("n1", 16, 4096, Map.of()), Fabrics.key("n1")));
            controller.reconcile(3);
            assertEquals(10, api.get("/v1/allocations").json(JsonNode.class).path("allocations").size(), "every replica placed in one pass");
            assertTrue(api.get("/v1/jobs/hello-stub").json(JsonNode.class).path("job").path("pending").isMissingNode());
            long settled = Fabrics.settledIndex(controller.fabric());
            controller.reconcile(3);
            assertEquals(settled, controller.fabric().appliedIndex(), "a plan that changes nothing is not proposed");
            // The batches themselves: the scheduler's order, cut every 2 placements; stops in the first, pending reasons in each.
            Command.Plan plan = new Command.Plan(List.of(placement(0), placement(1), placement(2)), List.of("old.0"), List.of(),
                    new TreeMap<>(Map.of("b", "1 of 1 replicas have no node")));
            List<Command.Plan> batches = plan.batches(2);
            assertEquals(List.of(new Command.Plan(List.of(placement(0), placement(1)), List.of("old.0"), List.of(), plan.pending()),
                    new Command.Plan(List.of(placement(2)), List.of(), List.of(), plan.pending())), batches);
            assertEquals(List.of(plan), plan.batches(3), "a plan within the limit is proposed as it is");
        }
    }

    private static io.aether.fabricapi.Allocation placement(int replica) {
        return new io.aether.fabricapi.Allocation("a", replica, "n1", new io.aether.fabricapi.Resources(1, io.aether.common.ByteSize.ofMiB(32)), 0);
    }

    /** Over TCP the API is post-quantum mutual TLS: a pinned client reads, any other client fails the handshake. */
    @Test
    void overTcpOnlyAllowedClientsGetIn() throws IOException {
        ServerCredentials server = ServerCredentials.generate("controller-test");
        ServerCredentials allowed = ServerCredentials.generate("allowed-client");
        ServerCredentials stranger = ServerCredentials.generate("stranger");
        Listener tls = new Listener.Tcp("127.0.0.1", 0, server, new Listener.ClientAuth.Pinned(Set.of(allowed.fingerprint())));
        try (Controller controller = Controller.start(Fabrics.group(dir, 1, 1000).getFirst(), List.of(tls))) {
            ServerTrust.Pinned pin = new ServerTrust.Pinned(server.fingerprint());
            ApiClient client = ApiClient.mutualTls("127.0.0.1", controller.port(), pin, allowed, Duration.ofSeconds(10));
            assertEquals("{\"nodes\":[]}", client.get("/v1/nodes").requireOk().text());
            ApiClient intruder = ApiClient.mutualTls("127.0.0.1", controller.port(), pin, stranger, Duration.ofSeconds(10));
            assertThrows(IOException.class, () -> intruder.post("/v1/jobs", JSON.readTree(Files.readString(EXAMPLES.resolve("hello-vm.json")))));
            assertEquals("{\"jobs\":[]}", client.get("/v1/jobs").requireOk().text());
        }
    }

    @Test
    void badRequestsNameTheFieldAndChangeNothing() throws IOException {
        Path socket = dir.resolve("controller.sock");
        try (Controller controller = Controller.start(Fabrics.group(dir, 1, 1000).getFirst(), List.of(new Listener.UnixSocket(socket)))) {
            ApiClient api = ApiClient.unix(socket, Duration.ofSeconds(10));
            ApiClient.Reply bad = api.post("/v1/jobs", JSON.readTree("{\"name\":\"a\",\"workload\":{\"vm\":{\"boot\":{\"stub\":\"hello\"}}},\"replicas\":0}"));
            assertEquals(400, bad.status());
            assertEquals("replicas", JSON.readTree(bad.body()).path("field").asText(), bad.text());
            ApiClient.Reply nested = api.post("/v1/jobs", JSON.readTree("{\"name\":\"a\",\"workload\":{\"vm\":{\"boot\":{\"stub\":\"hello\"},\"vcpus\":\"2\"}}}"));
            assertEquals("workload.vm.vcpus", JSON.readTree(nested.body()).path("field").asText(), nested.text());
            assertEquals(404, api.get("/v1/jobs/nope").status());
            assertEquals(404, api.send("DELETE", "/v1/jobs/nope", null).status());
            assertEquals(400, api.get("/v1/events?after=x").status());
            assertEquals(0, api.get("/v1/jobs").json(JsonNode.class).path("jobs").size());
            assertEquals(0, api.get("/v1/events").json(JsonNode.class).path("events").size());
        }
    }
}
