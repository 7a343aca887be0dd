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

/** {@code aether vm create|ls|pause|resume|stop|start|logs|console|rm|snapshot|restore|top} against a node agent in this JVM. */
@Timeout(240)
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

    static Result run(String... args) {
        return run(new ByteArrayOutputStream(), args);
    }

    /** Runs {@code aether ARGS} in this JVM, its standard output going to {@code out} as it comes. */
    static synchronized Result run(ByteArrayOutputStream out, String... args) {
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
    void theDefaultNodeIsTheSystemAgentUnlessOnlyTheOneOfAetherUpExists() throws Exception {
        Path system = dir.resolve("var/node.sock");
        Path up = dir.resolve("home/node.sock");
        assertEquals(system, VmClientCommands.NodeOptions.defaultSocket(system, up), "neither: the system's, named in the error");
        java.nio.file.Files.createDirectories(up.getParent());
        java.nio.file.Files.createFile(up);
        assertEquals(up, VmClientCommands.NodeOptions.defaultSocket(system, up));
        java.nio.file.Files.createDirectories(system.getParent());
        java.nio.file.Files.createFile(system);
        assertEquals(system, VmClientCommands.NodeOptions.defaultSocket(system, up));
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
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (!followed.toString(StandardCharsets.US_ASCII).contains(StubGuest.COUNT_LINE + StubGuest.COUNT_LINE)) {
            assertTrue(System.nanoTime() < deadline && follower.isAlive(), "no console output: " + followed + (console[0] == null ? "" : console[0].err()));
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
    void snapshotRestoreAndTopThroughTheNode() throws Exception {
        VmRunCommandTest.requireKvm();
        agent = NodeAgent.start(NodeAgentTest.options(dir.resolve("data")).withCapacity(4, 1L << 30, 1.0));
        assertEquals(0, vm("create", "--id", "c1", "--stub", "count").status());

        Result snapshot = vm("snapshot", "c1", "one");
        assertEquals(0, snapshot.status(), snapshot.err());
        assertEquals("aether vm snapshot: pausing c1 and writing its snapshot one...\n", snapshot.err(), "what it waits for, on stderr");
        List<String> taken = snapshot.out().lines().toList();
        assertEquals(2, taken.size(), snapshot.out());
        assertTrue(taken.get(0).startsWith("SNAPSHOT  MEMORY  WRITTEN"), taken.get(0));
        assertTrue(taken.get(1).startsWith("one       16.0M   "), taken.get(1));
        assertEquals(taken.get(0).indexOf("TIME"), taken.get(1).lastIndexOf(" ") + 1, "the time lines up under its header");
        assertEquals(0, vm("stop", "c1", "--force").status()); // the copy is restored while its source rests

        Result restore = vm("restore", "--from", "c1/one", "--id", "c2");
        assertEquals(0, restore.status(), restore.err());
        assertEquals("c2 running", String.join(" ", java.util.Arrays.copyOf(restore.out().lines().toList().get(1).split(" +"), 2)));
        Result twice = vm("restore", "--from", "c1/one", "--id", "c3");
        assertEquals(1, twice.status());
        assertTrue(twice.err().contains("this snapshot is already restored and running"), twice.err());
        Result badFrom = vm("restore", "--from", "c1");
        assertEquals(2, badFrom.status());
        assertEquals("aether vm restore: --from: 'c1' is not VM/SNAPSHOT\n", badFrom.err());

        Result top = vm("top", "--once", "--interval", "500");
        assertEquals(0, top.status(), top.err());
        List<String> frame = top.out().lines().toList();
        assertEquals("VM  STATE    CPU%", frame.get(0).substring(0, 17), top.out());
        assertEquals(3, frame.size(), top.out());
        String[] c1 = frame.get(1).split(" +");
        assertEquals(List.of("c1", "stopped", "-", "-", "-"), List.of(c1).subList(0, 5), "a stopped VM has no monitor to measure");
        String[] c2 = frame.get(2).split(" +");
        assertEquals("c2", c2[0]);
        assertEquals("running", c2[1]);
        assertTrue(Double.parseDouble(c2[2]) > 5, "the counting guest burns CPU: " + frame.get(2));
        assertTrue(Double.parseDouble(c2[3]) > 100, "and exits for each byte it prints: " + frame.get(2));
        assertTrue(c2[4].endsWith("M"), "its monitor's RSS: " + frame.get(2));
        assertEquals(frame.get(0).indexOf("EXITS/S"), frame.get(2).indexOf(c2[3]), "columns line up");
        assertEquals(2, vm("top", "--interval", "5").status());
        new AgentClient(ApiClient.unix(agent.socket(), Duration.ofSeconds(30))).stop("c2", StopVm.forced());
    }

    @Test
    void badArgumentsAndAMissingNodeAreOneLine() throws Exception {
        agent = NodeAgent.start(NodeAgentTest.options(dir.resolve("data")));
        Result stub = vm("create", "--stub", "nope");
        assertEquals(2, stub.status());
        assertEquals("aether vm create: --stub/--memory: boot.stub: 'nope' is not hello, echo, count, crash, keyboard or hypercall\n", stub.err());
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
