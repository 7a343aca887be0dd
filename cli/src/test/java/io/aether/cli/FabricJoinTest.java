package io.aether.cli;

import static io.aether.cli.VmRunCommandTest.aether;
import static io.aether.cli.VmRunCommandTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.aether.http.ApiClient;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A controller process with a TLS listener and two node agents, each a process of its own that
 * joins with {@code aether node --join 127.0.0.1:PORT --token TOKEN}: both register over TLS, get
 * node certificates, pull over mutual TLS and run a replica of the stub job each (this host's
 * KVM). A reused token is refused and the node started with it exits.
 */
@Timeout(300)
class FabricJoinTest {

    private static final Path EXAMPLES = Path.of(System.getProperty("user.dir")).getParent().resolve("examples");
    private static final Pattern HTTPS = Pattern.compile("https://127\\.0\\.0\\.1:([0-9]+)");

    @TempDir
    Path dir;

    private final List<Process> processes = new ArrayList<>();

    @AfterEach
    void stopEverything() {
        processes.forEach(Process::destroyForcibly);
        NodeAgentTest.killProcessesUnder(dir);
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** Starts {@code aether ARGS} and returns once it printed a line containing {@code ready}; the lines it printed so far. */
    private List<String> started(String ready, String log, String... args) throws IOException {
        Process p = new ProcessBuilder(aether(args)).redirectError(dir.resolve(log).toFile()).start();
        processes.add(p);
        List<String> lines = new ArrayList<>();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line;
        while ((line = out.readLine()) != null) {
            lines.add(line);
            if (line.contains(ready)) {
                Thread.ofVirtual().start(() -> out.lines().forEach(l -> { })); // keep draining
                return lines;
            }
        }
        throw new AssertionError("aether " + List.of(args) + " ended: " + lines + " " + Files.readString(dir.resolve(log)));
    }

    private String token(Path socket) throws Exception {
        VmRunCommandTest.Result r = run(new byte[0], aether("token", "create", "--ttl", "10m", "--controller", socket.toString()));
        assertEquals(0, r.status(), r.err());
        return r.out().strip();
    }

    private List<String> node(String name, int port, String token) throws IOException {
        return started("joined;", name + ".err", "node", "--data", dir.resolve(name).toString(), "--name", name, "--join", "127.0.0.1:" + port,
                "--token", token, "--no-discovery", "--warm-pool", "0", "--cpus", "1", "--memory", "1G");
    }

    @Test
    void twoNodesJoinOverTlsAndEachRunsAReplica() throws Exception {
        VmRunCommandTest.requireKvm();
        Path controllerData = dir.resolve("controller");
        List<String> printed = started("TLS 1.3", "controller.err", "controller", "--data", controllerData.toString(), "--raft-port",
                Integer.toString(freePort()), "--listen", "127.0.0.1:0", "--no-discovery");
        Matcher https = HTTPS.matcher(String.join("\n", printed));
        assertTrue(https.find(), printed.toString());
        int port = Integer.parseInt(https.group(1));
        Path socket = controllerData.resolve("controller.sock");

        String first = token(socket);
        assertTrue(first.matches("aether-join-[A-Za-z0-9_-]{43}\\.[0-9a-f]{64}"), first);
        List<String> n1 = node("n1", port, first);
        assertTrue(n1.getLast().endsWith("over mutual TLS from 127.0.0.1 " + port + " " + first.substring(first.indexOf('.') + 1)), n1.toString());
        node("n2", port, token(socket));
        for (String name : List.of("n1", "n2")) {
            Path link = dir.resolve(name).resolve("link");
            assertTrue(Files.readString(link.resolve("node.crt")).startsWith("-----BEGIN CERTIFICATE-----"), name);
            assertEquals(Files.readString(controllerData.resolve("ca/ca.crt")), Files.readString(link.resolve("authority.crt")), name);
        }

        VmRunCommandTest.Result submitted = run(new byte[0], aether("job", "run", EXAMPLES.resolve("hello-stub.json").toString(), "--controller", socket.toString()));
        assertEquals(0, submitted.status(), submitted.err());
        ApiClient local = ApiClient.unix(socket, Duration.ofSeconds(10));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        Map<String, String> running = new TreeMap<>();
        while (running.size() < 2) {
            assertTrue(System.nanoTime() < deadline, "the replicas never ran on both nodes: " + local.get("/v1/allocations").text());
            Thread.sleep(300);
            running.clear();
            for (JsonNode a : local.get("/v1/allocations").json(JsonNode.class).path("allocations")) {
                if (a.path("state").asText().equals("running")) running.put(a.path("node").asText(), a.path("id").asText());
            }
        }
        assertEquals(List.of("n1", "n2"), List.copyOf(running.keySet()), "one replica on each node (each has room for one)");
        for (JsonNode n : local.get("/v1/nodes").json(JsonNode.class).path("nodes")) {
            assertTrue(n.has("lastContact"), "node " + n.path("name").asText() + " pulls over mutual TLS");
        }

        Process reused = new ProcessBuilder(aether("node", "--data", dir.resolve("n3").toString(), "--name", "n3", "--join", "127.0.0.1:" + port,
                "--token", first, "--no-discovery", "--warm-pool", "0")).redirectErrorStream(true).start();
        processes.add(reused);
        assertTrue(reused.waitFor(60, TimeUnit.SECONDS), "a node with a used token exits");
        String said = new String(reused.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(1, reused.exitValue(), said);
        assertTrue(said.contains("aether node: cannot join the fabric: 403 forbidden: join refused: join token already used"), said);
        assertEquals(2, local.get("/v1/nodes").json(JsonNode.class).path("nodes").size());
    }
}
