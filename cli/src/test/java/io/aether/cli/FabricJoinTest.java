package io.aether.cli;

import static io.aether.cli.VmRunCommandTest.aether;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.aether.http.ApiClient;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
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
 * KVM); the second has only its token and finds the controller by its beacons. Client identities
 * over TLS do what their role allows and no more, and a revoked one is refused. A reused token is
 * refused and the node started with it exits.
 */
/** Four daemons' JVMs start one after another; a loaded machine takes minutes. */
@Timeout(600)
class FabricJoinTest {

    private static final Path EXAMPLES = Path.of(System.getProperty("user.dir")).getParent().resolve("examples");
    private static final Pattern HTTPS = Pattern.compile("https://0\\.0\\.0\\.0:([0-9]+)");
    /** A multicast group of this test's own, so that parallel runs do not hear each other's beacons. */
    private final String discoveryGroup = "239.255." + ThreadLocalRandom.current().nextInt(1, 255) + "." + ThreadLocalRandom.current().nextInt(1, 255) + ":"
            + ThreadLocalRandom.current().nextInt(20_000, 60_000);

    @TempDir
    Path dir;

    private final List<Process> processes = new ArrayList<>();

    /** How long a daemon may take to say it is ready: minutes where the test runs emulated. */
    private static final Duration READY_WITHIN = Duration.ofMinutes(4);

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

    /**
     * Starts {@code aether ARGS} and returns once it printed a line containing {@code ready} (within
     * {@link #READY_WITHIN}); the lines it printed so far.
     */
    private List<String> started(String ready, String log, String... args) throws Exception {
        Process p = new ProcessBuilder(aether(args)).redirectError(dir.resolve(log).toFile()).start();
        processes.add(p);
        BlockingQueue<Optional<String>> printed = new LinkedBlockingQueue<>();
        Thread.ofVirtual().start(() -> {
            try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                out.lines().forEach(l -> printed.add(Optional.of(l)));
            } catch (IOException | UncheckedIOException e) {
                // the process ended
            }
            printed.add(Optional.empty());
        });
        List<String> lines = new ArrayList<>();
        long deadline = System.nanoTime() + READY_WITHIN.toNanos();
        Optional<String> line;
        while ((line = printed.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) != null && line.isPresent()) {
            lines.add(line.get());
            if (line.get().contains(ready)) return lines;
        }
        Path controllerLog = dir.resolve("controller.err");
        throw new AssertionError("aether " + List.of(args) + (line == null ? " did not say '" + ready + "' within " + READY_WITHIN : " ended") + ": "
                + lines + " " + Files.readString(dir.resolve(log))
                + (Files.exists(controllerLog) && !log.equals("controller.err") ? "\ncontroller: " + Files.readString(controllerLog) : ""));
    }

    private String token(Path socket) {
        VmClientCommandsTest.Result r = VmClientCommandsTest.run("token", "create", "--ttl", "10m", "--controller", socket.toString());
        assertEquals(0, r.status(), r.err());
        return r.out().strip();
    }

    private List<String> node(String name, String token, String... how) throws Exception {
        List<String> args = new ArrayList<>(List.of("node", "--data", dir.resolve(name).toString(), "--name", name, "--token", token,
                "--warm-pool", "0", "--cpus", "1", "--memory", "1G"));
        args.addAll(List.of(how));
        return started("joined;", name + ".err", args.toArray(String[]::new));
    }

    /**
     * {@code aether ARGS}, which must end with {@code status}; what it printed on stdout and stderr.
     * Run in this JVM: the client's commands are the same code either way, and a JVM's start for
     * each would cost minutes where this test runs emulated (the daemons are processes of their own).
     */
    private static String expect(int status, String... args) {
        VmClientCommandsTest.Result r = VmClientCommandsTest.run(args);
        assertEquals(status, r.status(), List.of(args) + ": " + r.out() + r.err());
        return r.out() + r.err();
    }

    @Test
    void twoNodesJoinOverTlsAndEachRunsAReplica() throws Exception {
        VmRunCommandTest.requireKvm();
        Path controllerData = dir.resolve("controller");
        List<String> printed = started("TLS 1.3", "controller.err", "controller", "--data", controllerData.toString(), "--raft-port",
                Integer.toString(freePort()), "--listen", "0.0.0.0:0", "--discovery-group", discoveryGroup);
        Matcher https = HTTPS.matcher(String.join("\n", printed));
        assertTrue(https.find(), printed.toString());
        int port = Integer.parseInt(https.group(1));
        Path socket = controllerData.resolve("controller.sock");

        String first = token(socket);
        assertTrue(first.matches("aether-join-[A-Za-z0-9_-]{43}\\.[0-9a-f]{64}"), first);
        List<String> n1 = node("n1", first, "--join", "127.0.0.1:" + port, "--no-discovery");
        assertTrue(n1.getLast().endsWith("over mutual TLS from 127.0.0.1 " + port + " " + first.substring(first.indexOf('.') + 1)), n1.toString());
        // n2 has only its token: it joins the controller it hears announcing itself whose certificate is the token's.
        List<String> n2 = node("n2", token(socket), "--discovery-group", discoveryGroup);
        assertTrue(n2.getLast().endsWith(" " + port + " " + first.substring(first.indexOf('.') + 1)), n2.toString());
        for (String name : List.of("n1", "n2")) {
            Path link = dir.resolve(name).resolve("link");
            assertTrue(Files.readString(link.resolve("node.crt")).startsWith("-----BEGIN CERTIFICATE-----"), name);
            assertEquals(Files.readString(controllerData.resolve("ca/ca.crt")), Files.readString(link.resolve("authority.crt")), name);
        }

        // Client identities over TLS: a reader may look but not run a job, an operator runs it, an admin makes tokens.
        String tls = "127.0.0.1:" + port;
        String job = EXAMPLES.resolve("hello-stub.json").toString();
        for (String role : List.of("read", "operate", "admin")) {
            expect(0, "client", "create", role + "-client", "--role", role, "--out", dir.resolve(role).toString(), "--controller", socket.toString());
        }
        expect(0, "job", "ls", "--controller", tls, "--identity", dir.resolve("read").toString());
        assertTrue(expect(1, "job", "run", job, "--controller", tls, "--identity", dir.resolve("read").toString())
                .contains("403 forbidden: client read-client has role read; this needs role operate"));
        assertTrue(expect(1, "token", "create", "--controller", tls, "--identity", dir.resolve("operate").toString())
                .contains("403 forbidden: client operate-client has role operate; this needs role admin"));
        expect(0, "job", "run", job, "--controller", tls, "--identity", dir.resolve("operate").toString());
        assertTrue(expect(0, "token", "create", "--controller", tls, "--identity", dir.resolve("admin").toString()).startsWith("aether-join-"));
        expect(0, "client", "revoke", "read-client", "--controller", tls, "--identity", dir.resolve("admin").toString());
        String refused = expect(1, "job", "ls", "--controller", tls, "--identity", dir.resolve("read").toString());
        assertTrue(refused.startsWith("aether job ls: ") && refused.lines().count() == 1, refused);

        ApiClient local = ApiClient.unix(socket, Duration.ofSeconds(10));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);
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

        Process reused = new ProcessBuilder(aether("node", "--data", dir.resolve("n3").toString(), "--name", "n3", "--join", tls,
                "--token", first, "--no-discovery", "--warm-pool", "0")).redirectErrorStream(true).start();
        processes.add(reused);
        assertTrue(reused.waitFor(180, TimeUnit.SECONDS), "a node with a used token exits");
        String said = new String(reused.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(1, reused.exitValue(), said);
        assertTrue(said.contains("aether node: cannot join the fabric: 403 forbidden: join refused: join token already used"), said);
        assertEquals(2, local.get("/v1/nodes").json(JsonNode.class).path("nodes").size());
    }
}
