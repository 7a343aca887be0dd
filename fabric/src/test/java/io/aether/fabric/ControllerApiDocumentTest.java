package io.aether.fabric;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.aether.agentapi.AllocationReports;
import io.aether.http.ApiClient;
import io.aether.http.Listener;
import io.aether.security.Identity;
import io.aether.testkit.OpenApiSchema;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The controller's {@code /openapi.json} against the routes it serves and what it really answers. */
/** A loaded 2-core machine takes about 30 s: a Raft group, two ML-DSA identities, a dozen committed changes. */
@Timeout(120)
class ControllerApiDocumentTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String STUB_JOB = "{\"name\": \"web\", \"workload\": {\"vm\": {\"boot\": {\"stub\": \"count\"}, \"memory\": \"16M\"}},"
            + " \"resources\": {\"vcpus\": 1, \"memory\": \"32M\"}, \"replicas\": 2}";

    @TempDir
    Path dir;

    /** Asserts that {@code reply} has {@code status} and a body the document describes for it. */
    private static JsonNode conforms(OpenApiSchema doc, String method, String path, int status, ApiClient.Reply reply) throws IOException {
        assertEquals(status, reply.status(), method + " " + path + ": " + reply.text());
        JsonNode body = JSON.readTree(reply.body());
        assertEquals(List.of(), doc.check(body, doc.responseSchema(path, method, status, "application/json")), method + " " + path + ": " + body);
        return body;
    }

    /** Each operation of the document as {@code METHOD TEMPLATE}, as {@link io.aether.http.Router#routes} names routes. */
    private static TreeSet<String> documented(JsonNode document) {
        TreeSet<String> operations = new TreeSet<>();
        for (Iterator<Map.Entry<String, JsonNode>> paths = document.get("paths").fields(); paths.hasNext(); ) {
            Map.Entry<String, JsonNode> p = paths.next();
            p.getValue().fieldNames().forEachRemaining(method -> {
                if (!method.equals("parameters")) operations.add(method.toUpperCase(Locale.ROOT) + " " + p.getKey());
            });
        }
        return operations;
    }

    @Test
    void everyServedRouteIsDocumentedAndEveryAnswerConformsToTheDocument() throws Exception {
        Path socket = dir.resolve("controller.sock");
        try (Controller controller = Controller.start(Fabrics.group(dir, 1, 1000).getFirst(), List.of(new Listener.UnixSocket(socket)), Duration.ofHours(1))) {
            ApiClient api = ApiClient.unix(socket, Duration.ofSeconds(20));
            ApiClient.Reply docReply = api.get("/openapi.json");
            assertEquals(200, docReply.status());
            assertEquals("application/json", docReply.headers().get("content-type").split(";")[0]);
            JsonNode document = JSON.readTree(docReply.body());
            assertEquals("3.1.0", document.get("openapi").asText());
            OpenApiSchema doc = new OpenApiSchema(document);

            // Both ways: a route added without a document fails here, named; so does a document of a route that went away.
            TreeSet<String> served = new TreeSet<>(controller.servedRoutes());
            TreeSet<String> documented = documented(document);
            TreeSet<String> undocumented = new TreeSet<>(served);
            undocumented.removeAll(documented);
            assertEquals(List.of(), List.copyOf(undocumented), "routes the controller serves that fabric's openapi.json does not document");
            TreeSet<String> unserved = new TreeSet<>(documented);
            unserved.removeAll(served);
            assertEquals(List.of(), List.copyOf(unserved), "operations fabric's openapi.json documents that the controller does not serve");

            // Every documented operation answers one of the statuses it lists, a body where it documents one.
            for (String operation : documented) {
                String method = operation.substring(0, operation.indexOf(' '));
                String template = operation.substring(operation.indexOf(' ') + 1);
                JsonNode described = document.at("/paths/" + template.replace("~", "~0").replace("/", "~1") + "/" + method.toLowerCase(Locale.ROOT));
                String path = template.replace("{name}", "nosuch").replace("{file}", "nosuch").replace("{id}", "0123456789abcdef");
                ApiClient.Reply r = api.send(method, path, described.has("requestBody") ? Map.of() : null);
                assertNotEquals(405, r.status(), operation);
                assertFalse(r.text().contains("no route for"), operation + ": " + r.text());
                assertTrue(described.path("responses").has(Integer.toString(r.status())),
                        operation + " answered " + r.status() + ", which the document does not list: " + r.text());
            }

            // Tokens and a node's join.
            JsonNode badTtl = conforms(doc, "post", "/v1/tokens", 400, api.post("/v1/tokens", Map.of("ttlSeconds", "1h")));
            assertEquals("ttlSeconds", badTtl.get("field").asText());
            String token = conforms(doc, "post", "/v1/tokens", 201, api.post("/v1/tokens", Map.of("ttlSeconds", 3600))).get("token").asText();
            Identity node = Identity.generate();
            JsonNode forged = conforms(doc, "post", "/v1/nodes", 403, api.post("/v1/nodes", NodeApiTest.request("n1", token, node, Identity.generate())));
            assertTrue(forged.get("message").asText().contains("bad signature"), forged.toString());
            conforms(doc, "post", "/v1/nodes", 201, api.post("/v1/nodes", NodeApiTest.request("n1", token, node, node)));
            conforms(doc, "get", "/v1/nodes/pending", 200, api.get("/v1/nodes/pending"));

            // Jobs: bad, strict and never fitting, placed; their allocations and the node's desired state and reports.
            JsonNode badSpec = conforms(doc, "post", "/v1/jobs", 400, api.post("/v1/jobs", ((ObjectNode) JSON.readTree(STUB_JOB)).put("replicas", -1)));
            assertEquals("replicas", badSpec.get("field").asText());
            ObjectNode huge = (ObjectNode) JSON.readTree(STUB_JOB);
            huge.put("name", "huge").putObject("resources").put("vcpus", 64).put("memory", "32M");
            conforms(doc, "post", "/v1/jobs", 409, api.post("/v1/jobs?strict=true", huge));
            conforms(doc, "post", "/v1/jobs", 201, api.post("/v1/jobs", huge));
            conforms(doc, "post", "/v1/jobs", 201, api.post("/v1/jobs", JSON.readTree(STUB_JOB)));
            JsonNode jobs = conforms(doc, "get", "/v1/jobs", 200, api.get("/v1/jobs"));
            assertEquals(2, jobs.get("jobs").size(), jobs.toString());
            assertTrue(jobs.toString().contains("\"pending\""), "the job that cannot fit says why: " + jobs);
            JsonNode web = conforms(doc, "get", "/v1/jobs/{name}", 200, api.get("/v1/jobs/web"));
            assertEquals(2, web.get("allocations").size(), web.toString());
            conforms(doc, "get", "/v1/allocations", 200, api.get("/v1/allocations"));
            JsonNode desired = conforms(doc, "get", "/v1/nodes/{name}/desired", 200, api.get("/v1/nodes/n1/desired"));
            assertEquals(List.of("web.0", "web.1"), fieldNames(desired.get("vms")));
            AllocationReports reports = new AllocationReports(desired.get("revision").asLong(), List.of(new AllocationReports.Report("web.0", "running", null)));
            assertEquals(204, api.post("/v1/nodes/n1/reports", reports).status());
            conforms(doc, "post", "/v1/nodes/{name}/reports", 400, api.post("/v1/nodes/n1/reports",
                    JSON.readTree("{\"revision\": 1, \"reports\": [{\"allocation\": \"../x\", \"state\": \"running\"}]}")));
            conforms(doc, "get", "/v1/nodes", 200, api.get("/v1/nodes"));

            // Draining, revoking, and what a revoked node is refused.
            conforms(doc, "post", "/v1/nodes/{name}/drain", 200, api.send("POST", "/v1/nodes/n1/drain", null));
            conforms(doc, "post", "/v1/nodes/{name}/revoke", 200, api.send("POST", "/v1/nodes/n1/revoke", null));
            conforms(doc, "post", "/v1/nodes/{name}/drain", 409, api.send("POST", "/v1/nodes/n1/drain", null));
            conforms(doc, "get", "/v1/nodes/{name}/desired", 403, api.get("/v1/nodes/n1/desired"));
            conforms(doc, "post", "/v1/nodes/{name}/reports", 403, api.post("/v1/nodes/n1/reports", reports));

            assertEquals(204, api.send("DELETE", "/v1/jobs/web", null).status());
            conforms(doc, "delete", "/v1/jobs/{name}", 404, api.send("DELETE", "/v1/jobs/web", null));
            conforms(doc, "get", "/v1/jobs/{name}", 404, api.get("/v1/jobs/web"));
            JsonNode badAfter = conforms(doc, "get", "/v1/events", 400, api.get("/v1/events?after=-1"));
            assertEquals("after", badAfter.get("field").asText());
            JsonNode events = conforms(doc, "get", "/v1/events", 200, api.get("/v1/events?after=0"));
            TreeSet<String> kinds = new TreeSet<>();
            events.get("events").forEach(e -> kinds.add(e.get("kind").asText()));
            assertTrue(kinds.containsAll(List.of("TOKEN_CREATED", "NODE_JOINED", "JOB_SUBMITTED", "ALLOCATION_PLACED", "ALLOCATION_REPORTED",
                    "NODE_DRAINED", "NODE_REVOKED", "JOB_STOPPED")), kinds.toString());

            // The dashboard's files, in the media types documented for them.
            assertTrue(document.at("/paths/~1/get/responses/200/content").has(api.get("/").headers().get("content-type").split(";")[0]));
            assertTrue(document.at("/paths/~1ui~1{file}/get/responses/200/content").has(api.get("/ui/app.js").headers().get("content-type").split(";")[0]));
            conforms(doc, "get", "/ui/{file}", 404, api.get("/ui/nope.js"));
        }
    }

    private static List<String> fieldNames(JsonNode object) {
        List<String> names = new ArrayList<>();
        object.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
