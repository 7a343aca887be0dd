package io.aether.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.aether.agent.NodeAgent;
import io.aether.http.ApiClient;
import io.aether.http.Event;
import io.aether.testkit.OpenApiSchema;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The agent's {@code /openapi.json} against what the agent really answers, route by route. */
@Timeout(60)
class NodeApiDocumentTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private NodeAgent agent;

    @AfterEach
    void stop() {
        if (agent != null) agent.close();
        NodeAgentTest.killProcessesUnder(dir);
    }

    /** Asserts that {@code reply} has {@code status} and a body the document describes for it. */
    private static JsonNode conforms(OpenApiSchema doc, String method, String path, int status, ApiClient.Reply reply) throws IOException {
        assertEquals(status, reply.status(), method + " " + path + ": " + reply.text());
        JsonNode body = JSON.readTree(reply.body());
        assertEquals(List.of(), doc.check(body, doc.responseSchema(path, method, status, "application/json")), method + " " + path + ": " + body);
        return body;
    }

    @Test
    void everyAnswerConformsToTheDocumentAndEveryDocumentedRouteIsServed() throws Exception {
        agent = NodeAgent.start(NodeAgentTest.options(dir.resolve("data")));
        ApiClient api = ApiClient.unix(agent.socket(), Duration.ofSeconds(90));
        ApiClient.Reply docReply = api.get("/openapi.json");
        assertEquals(200, docReply.status());
        assertEquals("application/json", docReply.headers().get("content-type").split(";")[0]);
        JsonNode document = JSON.readTree(docReply.body());
        assertEquals("3.1.0", document.get("openapi").asText());
        OpenApiSchema doc = new OpenApiSchema(document);

        // Every documented operation is routed (an unknown VM is a 404 from the handler, not "no route").
        for (Iterator<Map.Entry<String, JsonNode>> paths = document.get("paths").fields(); paths.hasNext(); ) {
            Map.Entry<String, JsonNode> p = paths.next();
            for (Iterator<String> methods = p.getValue().fieldNames(); methods.hasNext(); ) {
                String method = methods.next();
                if (method.equals("parameters") || p.getKey().equals("/v1/events")) continue;
                String path = p.getKey().replace("{id}", "nosuch").replace("{name}", "nosuch");
                ApiClient.Reply r = api.send(method.toUpperCase(java.util.Locale.ROOT), path, method.equals("post") ? Map.of() : null);
                assertNotEquals(405, r.status(), method + " " + path);
                assertFalse(r.text().contains("no route for"), method + " " + path + ": " + r.text());
                assertTrue(p.getValue().get(method).get("responses").has(Integer.toString(r.status())),
                        method + " " + path + " answered " + r.status() + ", which the document does not list");
            }
        }

        conforms(doc, "get", "/v1/node", 200, api.get("/v1/node"));
        conforms(doc, "get", "/v1/vms/{id}", 404, api.get("/v1/vms/nosuch"));
        JsonNode bad = conforms(doc, "post", "/v1/vms", 400, api.post("/v1/vms", JSON.readTree("{\"spec\": {\"boot\": {\"stub\": \"nope\"}}}")));
        assertEquals("spec.boot.stub", bad.get("field").asText());
        JsonNode badQuota = conforms(doc, "post", "/v1/vms", 400, api.post("/v1/vms",
                JSON.readTree("{\"resources\": {\"cpus\": 1000}, \"spec\": " + NodeAgentTest.COUNTER + "}")));
        assertEquals("resources.cpus", badQuota.get("field").asText());

        // Volumes, and a VM that has one (created stopped: no KVM needed).
        conforms(doc, "post", "/v1/volumes", 201, api.post("/v1/volumes", Map.of("name", "vol", "size", "2M", "labels", Map.of("job", "web"))));
        conforms(doc, "post", "/v1/volumes", 409, api.post("/v1/volumes", Map.of("name", "vol", "size", "2M")));
        JsonNode badSize = conforms(doc, "post", "/v1/volumes", 400, api.post("/v1/volumes", Map.of("name", "v2", "size", "3")));
        assertEquals("size", badSize.get("field").asText());
        Path kernel = java.nio.file.Files.writeString(dir.resolve("vmlinuz"), "never loaded: the VM is created stopped");
        conforms(doc, "post", "/v1/vms", 201, api.post("/v1/vms", JSON.readTree("{\"id\": \"withvol\", \"start\": false, \"spec\": {\"boot\": {\"kernel\": \""
                + kernel + "\"}}, \"volumes\": [{\"name\": \"vol\", \"readOnly\": true}]}")));
        JsonNode vol = conforms(doc, "get", "/v1/volumes/{name}", 200, api.get("/v1/volumes/vol"));
        assertEquals("[\"withvol\"]", vol.get("attachedTo").toString());
        conforms(doc, "get", "/v1/volumes", 200, api.get("/v1/volumes"));
        conforms(doc, "delete", "/v1/volumes/{name}", 409, api.send("DELETE", "/v1/volumes/vol", null));
        assertEquals(204, api.send("DELETE", "/v1/vms/withvol", null).status());
        assertEquals(204, api.send("DELETE", "/v1/volumes/vol", null).status());
        conforms(doc, "get", "/v1/volumes/{name}", 404, api.get("/v1/volumes/vol"));

        VmRunCommandTest.requireKvm();
        try (ApiClient.EventStream events = api.events("/v1/events")) {
            JsonNode created = conforms(doc, "post", "/v1/vms", 201,
                    api.post("/v1/vms", JSON.readTree("{\"id\": \"doc\", \"labels\": {\"a\": \"b\"}, \"spec\": " + NodeAgentTest.COUNTER + "}")));
            assertEquals("running", created.get("state").asText());
            conforms(doc, "get", "/v1/vms", 200, api.get("/v1/vms"));
            conforms(doc, "get", "/v1/vms/{id}", 200, api.get("/v1/vms/doc"));
            conforms(doc, "post", "/v1/vms/{id}/pause", 200, api.post("/v1/vms/doc/pause", Map.of()));
            conforms(doc, "post", "/v1/vms/{id}/pause", 409, api.post("/v1/vms/doc/pause", Map.of()));
            conforms(doc, "post", "/v1/vms/{id}/resume", 200, api.post("/v1/vms/doc/resume", Map.of()));
            conforms(doc, "delete", "/v1/vms/{id}", 409, api.send("DELETE", "/v1/vms/doc", null));
            conforms(doc, "post", "/v1/vms/{id}/stop", 400, api.post("/v1/vms/doc/stop", Map.of("timeoutMillis", -1)));
            JsonNode stopped = conforms(doc, "post", "/v1/vms/{id}/stop", 200, api.post("/v1/vms/doc/stop", Map.of("graceful", false)));
            assertTrue(stopped.has("reason"));
            conforms(doc, "post", "/v1/vms/{id}/start", 200, api.post("/v1/vms/doc/start", Map.of()));

            JsonNode changeSchema = document.at("/components/schemas/StateChange");
            for (int i = 0; i < 5; i++) {
                Event e = events.next(Duration.ofSeconds(30)).orElseThrow();
                assertEquals("state", e.type());
                assertEquals(List.of(), doc.check(JSON.readTree(e.data()), changeSchema), e.data());
            }
        }
        try (ApiClient.EventStream console = api.events("/v1/vms/doc/console")) {
            Event e = console.next(Duration.ofSeconds(30)).orElseThrow();
            assertEquals("output", e.type());
            assertEquals(List.of(), doc.check(JSON.readTree(e.data()), document.at("/components/schemas/ConsoleOutput")), e.data());
        }
        conforms(doc, "post", "/v1/vms/{id}/stop", 200, api.post("/v1/vms/doc/stop", Map.of()));
        assertEquals(204, api.send("DELETE", "/v1/vms/doc", null).status());
    }

    @Test
    void theCheckerFindsWhatIsWrong() throws Exception {
        agent = NodeAgent.start(NodeAgentTest.options(dir.resolve("data")));
        OpenApiSchema doc = new OpenApiSchema(JSON.readTree(ApiClient.unix(agent.socket(), Duration.ofSeconds(10)).get("/openapi.json").body()));
        JsonNode schema = doc.responseSchema("/v1/vms/{id}", "get", 200, "application/json");
        ObjectNode vm = (ObjectNode) JSON.readTree("{\"id\": \"a\", \"state\": \"running\", \"labels\": {}, \"restartPolicy\": \"never\","
                + " \"restarts\": 0, \"spec\": {\"boot\": {\"stub\": \"count\"}}, \"quota\": {\"cpus\": 0.5, \"memoryBytes\": 1, \"enforced\": true}}");
        assertEquals(List.of(), doc.check(vm, schema));
        assertEquals(List.of("$.state: \"sleeping\" is not one of [\"created\",\"running\",\"paused\",\"stopped\",\"failed\"]"),
                doc.check(vm.deepCopy().put("state", "sleeping"), schema));
        ObjectNode missing = vm.deepCopy();
        missing.remove("restarts");
        assertEquals(List.of("$: restarts is required"), doc.check(missing, schema));
        assertEquals(List.of("$.extra: not in the schema"), doc.check(vm.deepCopy().put("extra", 1), schema));
        assertEquals(List.of("$.pid: STRING where \"integer\" is due"), doc.check(vm.deepCopy().put("pid", "7"), schema));
        assertEquals(List.of("$.spec.boot: matches 0 of oneOf's schemas, not exactly one"),
                doc.check(vm.deepCopy().set("spec", JSON.readTree("{\"boot\": {\"stub\": \"count\", \"kernel\": \"k\"}}")), schema));
    }
}
