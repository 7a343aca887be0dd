package io.aether.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.aether.agent.NodeAgent;
import io.aether.agentapi.AgentClient;
import io.aether.agentapi.StopVm;
import io.aether.arch.x86_64.StubGuest;
import io.aether.http.ApiClient;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code aether vm create|ls|pause|resume|stop|start|logs|console|rm} against a node agent in this JVM. */
@Timeout(60)
class VmClientCommandsTest {

    @TempDir
    Path dir;

    private NodeAgent agent;

    @AfterEach
    void stop() {
        if (agent != null) agent.close();
        NodeAgentTest.killProcessesUnder(dir);
    }

    record Result(int status, String out, String err) {
    }

    /** Runs {@code aether vm ARGS --node SOCKET} in this JVM, its output captured. */
    private Result vm(String... args) {
        List<String> all = new ArrayList<>(List.of("vm"));
        all.addAll(List.of(args));
        all.addAll(List.of("--node", agent.socket().toString()));
        return run(all.toArray(String[]::new));
    }

    private static Result run(String... args) {
        return run(new ByteArrayOutputStream(), args);
    }

    /** Runs {@code aether ARGS} in this JVM, its standard output going to {@code out} as it comes. */
    private static synchronized Result run(ByteArrayOutputStream out, String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int status = Main.run(args);
            return new Result(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    @Test
    void theVmCommandsDriveANodeWithAlignedTablesAndJson() throws Exception {
        VmRunCommandTest.requireKvm();
        agent = NodeAgent.start(NodeAgentTest.options(dir.resolve("data")));
        Result created = vm("create", "--id", "c1", "--stub", "count", "--label", "team=edge", "--restart", "on-failure");
        assertEquals(0, created.status(), created.err());
        List<String> lines = created.out().lines().toList();
        assertEquals(2, lines.size(), created.out());
        assertTrue(lines.get(0).startsWith("ID  STATE    PID"), lines.get(0));
        String pid = Long.toString(new AgentClient(ApiClient.unix(agent.socket(), Duration.ofSeconds(10))).get("c1").pid());
        assertEquals("c1  running  " + pid + "  1      16M     0         team=edge", lines.get(1));
        // Columns line up: each header starts where its values do.
        assertEquals(lines.get(0).indexOf("LABELS"), lines.get(1).indexOf("team=edge"));

        assertEquals("paused", vm("pause", "c1").out().lines().toList().get(1).split(" +")[1]);
        Result twice = vm("pause", "c1");
        assertEquals(1, twice.status());
        assertEquals("aether vm pause: 409 conflict: cannot pause: the VM is paused\n", twice.err());
        assertEquals("running", vm("resume", "c1").out().lines().toList().get(1).split(" +")[1]);

        JsonNode listed = new ObjectMapper().readTree(vm("ls", "--json").out());
        assertEquals("c1", listed.get("vms").get(0).get("id").asText());
        assertEquals("on-failure", listed.get("vms").get(0).get("restartPolicy").asText());

        // The console follows the guest until it stops.
        Result[] console = new Result[1];
        ByteArrayOutputStream followed = new ByteArrayOutputStream();
        String socket = agent.socket().toString();
        Thread follower = Thread.ofPlatform().start(() -> console[0] = run(followed, "vm", "console", "c1", "--node", socket));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!followed.toString(StandardCharsets.US_ASCII).contains(StubGuest.COUNT_LINE + StubGuest.COUNT_LINE)) {
            assertTrue(System.nanoTime() < deadline && follower.isAlive(), "no console output: " + followed);
            Thread.sleep(20);
        }
        new AgentClient(ApiClient.unix(agent.socket(), Duration.ofSeconds(30))).stop("c1", StopVm.forced());
        follower.join(TimeUnit.SECONDS.toMillis(30));
        assertEquals(0, console[0].status(), console[0].err());
        assertTrue(console[0].out().startsWith(StubGuest.MESSAGE + StubGuest.COUNT_LINE), console[0].out());

        Result logs = vm("logs", "c1", "--bytes", "100000");
        assertTrue(logs.out().startsWith(StubGuest.MESSAGE + StubGuest.COUNT_LINE), "the log outlives the VM");
        assertEquals("running", vm("start", "c1").out().lines().toList().get(1).split(" +")[1]);
        assertEquals("stopped", vm("stop", "c1", "--force").out().lines().toList().get(1).split(" +")[1]);
        assertEquals(0, vm("rm", "c1").status());
        assertEquals("ID  STATE  PID  VCPUS  MEMORY  RESTARTS  LABELS  REASON\n", vm("ls").out());
    }

    @Test
    void badArgumentsAndAMissingNodeAreOneLine() throws Exception {
        agent = NodeAgent.start(NodeAgentTest.options(dir.resolve("data")));
        Result stub = vm("create", "--stub", "nope");
        assertEquals(2, stub.status());
        assertEquals("aether vm create: --stub/--memory: boot.stub: 'nope' is not hello, echo, count, crash or keyboard\n", stub.err());
        Result neither = vm("create");
        assertEquals("aether vm create: give either --spec FILE or --stub PROGRAM\n", neither.err());
        Result unknown = vm("rm", "ghost");
        assertEquals(1, unknown.status());
        assertEquals("aether vm rm: 404 not_found: no VM named ghost\n", unknown.err());
        Result noNode = run("vm", "ls", "--node", dir.resolve("nothing.sock").toString());
        assertEquals(1, noNode.status());
        assertTrue(noNode.err().startsWith("aether vm ls: " + dir.resolve("nothing.sock") + ": "), noNode.err());
    }

    @Test
    void nodeHelpTeachesAndBadNodeOptionsAreOneLine() {
        Result help = run("node", "--help");
        assertEquals(0, help.status());
        for (String taught : List.of("--data", "--listen", "--client-cert", "--overcommit", "restart policy", "SIGKILL", "/openapi.json")) {
            assertTrue(help.out().contains(taught), taught + " in " + help.out());
        }
        Result listen = run("node", "--data", dir.resolve("data").toString(), "--listen", "127.0.0.1:0");
        assertEquals(2, listen.status());
        assertEquals("aether node: --listen: needs at least one --client-cert (the API is never served to anyone who asks)\n", listen.err());
        Result overcommit = run("node", "--data", dir.resolve("data").toString(), "--overcommit", "0.5");
        assertEquals("aether node: --overcommit: 0.5 is out of range (1.0 to 16.0)\n", overcommit.err());
    }
}
