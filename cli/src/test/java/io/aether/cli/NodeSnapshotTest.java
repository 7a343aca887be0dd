package io.aether.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.aether.agent.NodeAgent;
import io.aether.agentapi.AgentClient;
import io.aether.agentapi.RestartPolicy;
import io.aether.agentapi.SnapshotInfo;
import io.aether.agentapi.VmInfo;
import io.aether.arch.x86_64.StubGuest;
import io.aether.http.ApiClient;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Snapshots through the node agent's API, restored as new VMs in new monitor processes (stub guests on this host's KVM). */
@Timeout(120)
class NodeSnapshotTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private NodeAgent agent;

    @AfterEach
    void stop() {
        if (agent != null) agent.close();
        NodeAgentTest.killProcessesUnder(dir);
    }

    private Path data() {
        return dir.resolve("data");
    }

    /** The console log of {@code id} once it holds at least {@code bytes}; fails after 30 s. */
    static String awaitLog(AgentClient node, String id, int bytes) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        String log;
        while ((log = new String(node.logs(id, 1 << 20), StandardCharsets.US_ASCII)).length() < bytes) {
            assertTrue(System.nanoTime() < deadline, id + " printed only " + log.length() + " bytes");
            Thread.sleep(20);
        }
        return log;
    }

    /** Asserts that a create answered {@code status} naming {@code field} (400) or saying {@code message} (409), and left no VM. */
    private void assertRefused(ApiClient api, String body, int status, String text) throws Exception {
        ApiClient.Reply r = api.post("/v1/vms", JSON.readTree(body));
        assertEquals(status, r.status(), r.text());
        JsonNode error = JSON.readTree(r.body());
        String said = status == 400 ? error.get("field").asText() + ": " + error.get("message").asText() : error.get("message").asText();
        assertTrue(said.contains(text), said);
        assertFalse(Files.exists(data().resolve("vms/again")), "the refused VM's folder is left");
    }

    @Test
    void aCountingGuestSnapshottedThroughTheApiGoesOnCountingAsANewVm() throws Exception {
        VmRunCommandTest.requireKvm();
        // Room for the source, its copy and a refused third: the refusals checked are the restore's, not admission's.
        agent = NodeAgent.start(NodeAgentTest.options(data()).withCapacity(4, 1L << 30, 1.0));
        ApiClient api = ApiClient.unix(agent.socket(), Duration.ofSeconds(90));
        AgentClient node = new AgentClient(api);
        node.create(NodeAgentTest.counter(), Map.of(), RestartPolicy.NEVER, "source", true);
        awaitLog(node, "source", 2000);

        Instant before = Instant.now().minusSeconds(1);
        SnapshotInfo taken = node.snapshot("source", "one", false);
        Path folder = data().resolve("vms/source/snapshots/one");
        assertEquals("one", taken.name());
        assertEquals(16L << 20, taken.memoryBytes());
        assertEquals(Files.size(folder.resolve("memory")), taken.memoryBytes());
        assertEquals(Files.size(folder.resolve("state")), taken.stateBytes());
        assertNotNull(taken.millis());
        assertTrue(taken.memoryDataBytes() < 1 << 20, "the stub touched a few pages: " + taken.memoryDataBytes());
        assertFalse(Instant.parse(taken.time()).isBefore(before), taken.time());
        assertEquals("paused", node.get("source").state(), "resume false leaves the VM paused");
        assertEquals(List.of(new SnapshotInfo("one", taken.memoryBytes(), taken.stateBytes(), taken.time(), null, null)),
                node.snapshots("source").snapshots());
        ApiClient.Reply again = api.post("/v1/vms/source/snapshot", Map.of("name", "one"));
        assertEquals(409, again.status(), again.text());
        assertTrue(again.text().contains("a snapshot named one exists"), again.text());
        String counted = new String(node.logs("source", 1 << 20), StandardCharsets.US_ASCII);

        VmInfo copy = node.restore("source", "one", false, "copy");
        assertEquals("running", copy.state());
        assertEquals(node.get("source").spec(), copy.spec(), "a restored VM has its snapshot's spec");
        String after = awaitLog(node, "copy", 1000);
        assertFalse(after.startsWith(StubGuest.MESSAGE), "the restored guest does not start over");
        VmSnapshotRestoreTest.assertCountedInOrder(counted + after);
        // Each counting guest burns a CPU: the copy waits paused (its monitor, holding the restore lock, runs on).
        assertEquals("paused", node.pause("copy").state());

        // Refusals: each leaves no VM and no folder behind.
        String restoreOne = "{\"id\": \"again\", \"restore\": {\"vm\": \"source\", \"snapshot\": \"one\"}}";
        assertRefused(api, restoreOne, 409, "this snapshot is already restored and running");
        assertRefused(api, "{\"id\": \"again\", \"restore\": {\"vm\": \"source\", \"snapshot\": \"nope\"}}", 400,
                "restore.snapshot: VM source has no snapshot named nope");
        assertRefused(api, "{\"id\": \"again\", \"restore\": {\"vm\": \"nosuch\", \"snapshot\": \"one\"}}", 400, "restore.vm: no VM named nosuch");
        assertRefused(api, "{\"id\": \"again\", \"restore\": {\"vm\": \"source\", \"snapshot\": \"../x\"}}", 400, "restore.snapshot: '../x' is not a snapshot name");
        assertRefused(api, "{\"id\": \"again\", \"spec\": " + NodeAgentTest.COUNTER + ", \"restore\": {\"vm\": \"source\", \"snapshot\": \"one\"}}",
                400, "spec: give a spec or restore, not both");

        node.snapshot("source", "cut", true);
        assertEquals("running", node.get("source").state(), "resume true lets the VM go on");
        node.pause("source");
        try (FileChannel state = FileChannel.open(data().resolve("vms/source/snapshots/cut/state"), StandardOpenOption.WRITE)) {
            state.truncate(state.size() / 2);
        }
        assertRefused(api, "{\"id\": \"again\", \"restore\": {\"vm\": \"source\", \"snapshot\": \"cut\"}}", 409, "monitor refused the spec or snapshot");
        assertEquals(List.of("copy", "source"), node.list().vms().stream().map(VmInfo::id).toList());
    }
}
