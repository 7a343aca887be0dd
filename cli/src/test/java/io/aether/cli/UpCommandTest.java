package io.aether.cli;

import static io.aether.cli.VmRunCommandTest.aether;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.aether.agentapi.AgentClient;
import io.aether.agentapi.VmInfo;
import io.aether.discovery.Beacon;
import io.aether.discovery.BeaconSender;
import io.aether.discovery.MulticastGroup;
import io.aether.http.ApiClient;
import io.aether.security.Identity;
import io.aether.security.KeyId;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code aether up} as a real process on this host's KVM (stub guests): a job run with the CLI
 * becomes VMs on the node agent, survives {@code up} being killed with SIGKILL and started again
 * without a VM started twice, and {@code job stop} removes them.
 */
@Timeout(300)
class UpCommandTest {

    /**
     * {@code aether ARGS}, the client's commands, run in this JVM against the {@code up} process:
     * the same code either way, and a JVM's start for each would cost minutes where this test runs
     * emulated.
     */
    private static VmRunCommandTest.Result cli(String... args) {
        VmClientCommandsTest.Result r = VmClientCommandsTest.run(args);
        return new VmRunCommandTest.Result(r.status(), r.out(), r.err());
    }

    private static final Path EXAMPLES = Path.of(System.getProperty("user.dir")).getParent().resolve("examples");

    @TempDir
    Path dir;

    private final List<Process> ups = new ArrayList<>();
    /** A multicast group of this test's own, so that parallel runs do not hear each other's beacons. */
    private final String discoveryGroup = "239.255." + ThreadLocalRandom.current().nextInt(1, 255) + "." + ThreadLocalRandom.current().nextInt(1, 255) + ":"
            + ThreadLocalRandom.current().nextInt(20_000, 60_000);

    @AfterEach
    void stopEverything() {
        ups.forEach(Process::destroyForcibly);
        NodeAgentTest.killProcessesUnder(dir);
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** Starts {@code aether up} and waits for its last start-up line; returns what it printed. */
    private List<String> up(int raftPort) throws Exception {
        Process p = new ProcessBuilder(aether("up", "--data", dir.resolve("data").toString(), "--name", "n1", "--raft-port", Integer.toString(raftPort),
                "--discovery-group", discoveryGroup))
                .redirectError(dir.resolve("up-" + ups.size() + ".err").toFile()).start();
        ups.add(p);
        List<String> lines = new ArrayList<>();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line;
        while ((line = out.readLine()) != null) {
            lines.add(line);
            if (line.startsWith("Try: ")) return lines;
        }
        throw new AssertionError("aether up ended: " + lines + " " + Files.readString(dir.resolve("up-" + (ups.size() - 1) + ".err")));
    }

    /** The fabric's VMs on the node, by id, once {@code done} holds for them (polled for at most 90 s). */
    private static Map<String, VmInfo> await(AgentClient node, Predicate<Map<String, VmInfo>> done, String what) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (true) {
            Map<String, VmInfo> vms = new TreeMap<>();
            for (VmInfo vm : node.list().vms()) if (vm.labels().containsKey("aether.fabric/allocation")) vms.put(vm.id(), vm);
            if (done.test(vms)) return vms;
            assertTrue(System.nanoTime() < deadline, "never " + what + ": " + vms);
            Thread.sleep(200);
        }
    }

    private static boolean running(Map<String, VmInfo> vms, String... ids) {
        return vms.keySet().equals(java.util.Set.of(ids)) && vms.values().stream().allMatch(vm -> vm.state().equals("running"));
    }

    @Test
    void aJobRunsAsVmsSurvivesAKilledUpWithoutDuplicatesAndStopRemovesThem() throws Exception {
        VmRunCommandTest.requireKvm();
        int raftPort = freePort();
        List<String> printed = up(raftPort);
        Path controllerSocket = dir.resolve("data/controller/controller.sock");
        assertTrue(printed.stream().anyMatch(l -> l.matches("Dashboard on https://127\\.0\\.0\\.1:[0-9]+/ \\(TLS 1\\.3, X25519MLKEM768 preferred; ECDSA P-256 certificate sha256:[0-9a-f]{64}, .*")), printed.toString());
        assertTrue(printed.stream().anyMatch(l -> l.matches("  log in with aether-session-[A-Za-z0-9_-]{43} \\(role operate, until .*")), printed.toString());

        VmRunCommandTest.Result submitted = cli("job", "run", EXAMPLES.resolve("hello-stub.json").toString(),
                "--controller", controllerSocket.toString());
        assertEquals(0, submitted.status(), submitted.err());
        assertTrue(submitted.out().startsWith("Job hello-stub version 1 submitted."), submitted.out());
        assertTrue(submitted.out().contains("hello-stub.0  n1"), submitted.out());

        // up made an admin client identity: a certificate of its own key, recorded with role admin.
        assertTrue(Files.readString(dir.resolve("data/admin/client.crt")).startsWith("-----BEGIN CERTIFICATE-----"));
        assertEquals("admin admin false", ApiClient.unix(controllerSocket, Duration.ofSeconds(30)).get("/v1/clients").json(JsonNode.class)
                .path("clients").valueStream().map(c -> c.path("name").asText() + " " + c.path("role").asText() + " " + c.path("revoked").asBoolean())
                .reduce("", (a, b) -> a + b));

        AgentClient node = new AgentClient(ApiClient.unix(dir.resolve("data/node/node.sock"), Duration.ofSeconds(90)));
        Map<String, VmInfo> first = await(node, vms -> running(vms, "hello-stub.0", "hello-stub.1"), "two VMs running");
        ApiClient controller = ApiClient.unix(controllerSocket, Duration.ofSeconds(30));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!controller.get("/v1/allocations").json(JsonNode.class).path("allocations").valueStream()
                .allMatch(a -> a.path("state").asText().equals("running"))) {
            assertTrue(System.nanoTime() < deadline, "the node never reported its VMs running");
            Thread.sleep(200);
        }
        VmRunCommandTest.Result ls = cli("job", "ls", "--controller", controllerSocket.toString());
        assertTrue(ls.out().lines().anyMatch(l -> l.matches("hello-stub +1 +2 +2 +2")), ls.out());

        ups.getLast().destroyForcibly().waitFor();
        up(raftPort);
        Thread.sleep(3000); // three pulls of the desired state
        Map<String, VmInfo> again = await(node, vms -> running(vms, "hello-stub.0", "hello-stub.1"), "two VMs running after the restart");
        for (String id : first.keySet()) assertEquals(first.get(id).pid(), again.get(id).pid(), id + " was started again");

        VmRunCommandTest.Result stopped = cli("job", "stop", "hello-stub", "--controller", controllerSocket.toString());
        assertEquals(0, stopped.status(), stopped.err());
        await(node, Map::isEmpty, "the VMs removed");
        VmRunCommandTest.Result unknown = cli("job", "status", "hello-stub", "--controller", controllerSocket.toString());
        assertEquals(1, unknown.status());
        assertEquals("aether job status: 404 not_found: no job hello-stub" + System.lineSeparator(), unknown.err());
    }
    @Test
    void aTokenIsPrintedAloneAndBadTtlsAndSpecsAreOneLineNamingTheProblem() throws Exception {
        // No VM runs here: this runs wherever the controller and the node start, /dev/kvm or not.
        up(freePort());
        String socket = dir.resolve("data/controller/controller.sock").toString();
        VmRunCommandTest.Result token = cli("token", "create", "--ttl", "1h", "--controller", socket);
        assertEquals(0, token.status(), token.err());
        assertTrue(token.out().matches("aether-join-[A-Za-z0-9_-]{43}\\R"), token.out());
        VmRunCommandTest.Result bad = cli("token", "create", "--ttl", "forever", "--controller", socket);
        assertEquals(2, bad.status());
        assertEquals("aether token create: --ttl: 'forever' is not a duration like 90s, 30m, 1h or 2d" + System.lineSeparator(), bad.err());
        VmRunCommandTest.Result tooLong = cli("token", "create", "--ttl", "30d", "--controller", socket);
        assertEquals(1, tooLong.status());
        assertTrue(tooLong.err().startsWith("aether token create: 400 bad_request: ttlSeconds: "), tooLong.err());

        VmRunCommandTest.Result login = cli("token", "create", "--dashboard", "--role", "read", "--ttl", "30m", "--controller", socket);
        assertEquals(0, login.status(), login.err());
        assertTrue(login.out().matches("aether-session-[A-Za-z0-9_-]{43}\\R"), login.out());
        assertTrue(login.err().matches("Log in at https://127\\.0\\.0\\.1:[0-9]+/ with it \\(role read\\) until \\S+; session [0-9a-f]{16}\\.\\R"), login.err());
        VmRunCommandTest.Result roleAlone = cli("token", "create", "--role", "read", "--controller", socket);
        assertEquals(2, roleAlone.status());
        assertEquals("aether token create: --role: only with --dashboard" + System.lineSeparator(), roleAlone.err());
        VmRunCommandTest.Result longLogin = cli("token", "create", "--dashboard", "--ttl", "2h", "--controller", socket);
        assertEquals(1, longLogin.status());
        assertEquals("aether token create: 400 bad_request: ttlSeconds: 7200 is out of range (10 to 3600)" + System.lineSeparator(), longLogin.err());

        Path noReplicas = Files.writeString(dir.resolve("bad.json"), "{\"name\":\"a\",\"workload\":{\"vm\":{\"boot\":{\"stub\":\"count\"}}},\"replicas\":0}");
        VmRunCommandTest.Result badSpec = cli("job", "run", noReplicas.toString(), "--controller", socket);
        assertEquals(1, badSpec.status());
        assertEquals(1, badSpec.err().lines().count(), badSpec.err());
        assertTrue(badSpec.err().startsWith("aether job run: " + noReplicas + ": 400 bad_request: replicas: "), badSpec.err());
        Path notJson = Files.writeString(dir.resolve("notes.txt"), "replicas: 2");
        VmRunCommandTest.Result notSpec = cli("job", "run", notJson.toString(), "--controller", socket);
        assertTrue(notSpec.err().startsWith("aether job run: " + notJson + ": not JSON ("), notSpec.err());
        VmRunCommandTest.Result missing = cli("job", "run", dir.resolve("absent.json").toString(), "--controller", socket);
        assertEquals("aether job run: " + dir.resolve("absent.json") + ": no such file" + System.lineSeparator(), missing.err());
        assertEquals("{\"jobs\":[]}", ApiClient.unix(Path.of(socket), Duration.ofSeconds(30)).get("/v1/jobs").requireOk().text(), "nothing was submitted");
    }

    @Test
    void nodeLsDrainAndRevokeGoThroughTheController() throws Exception {
        // No VM runs here: this runs wherever the controller and the node start, /dev/kvm or not.
        up(freePort());
        String socket = dir.resolve("data/controller/controller.sock").toString();
        // The node reports its volumes' free space with its first pull: until then the column says "-".
        String row = "n1 +[0-9a-f]{12} +ready +[0-9]+ vCPU, \\S+ +0 vCPU, \\S+ +\\S+ of \\S+ +0 +([0-9]+s ago|never) *";
        long reported = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        VmRunCommandTest.Result ls = cli("node", "ls", "--controller", socket);
        while (ls.out().lines().skip(1).noneMatch(l -> l.matches(row)) && System.nanoTime() < reported) {
            Thread.sleep(200);
            ls = cli("node", "ls", "--controller", socket);
        }
        assertEquals(0, ls.status(), ls.err());
        List<String> lines = ls.out().lines().toList();
        assertEquals(List.of("NAME", "KEY", "STATE", "CAPACITY", "USED", "VOLUMES", "FREE", "ALLOCATIONS", "LAST", "CONTACT"), List.of(lines.get(0).trim().split(" +")), ls.out());
        assertTrue(lines.get(1).matches(row), ls.out());

        String[] group = discoveryGroup.split(":");
        KeyId stranger = KeyId.of(Identity.generate().publicKey());
        try (BeaconSender beacons = BeaconSender.start(MulticastGroup.on(InetAddress.getByName(group[0]), Integer.parseInt(group[1])),
                () -> new Beacon(Beacon.Role.NODE, "edge-9", stranger, 7444, Instant.now()), Duration.ofMillis(200))) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            String listed;
            do {
                Thread.sleep(200);
                listed = cli("node", "ls", "--controller", socket).out();
                assertTrue(System.nanoTime() < deadline, "never pending: " + listed);
            } while (!listed.contains("edge-9"));
            assertTrue(listed.lines().anyMatch(l -> l.matches("edge-9 +" + stranger.hex().substring(0, 12) + " +pending +- +- +- +- +[0-9]+s ago, heard from [0-9.]+ *")),
                    listed);
        }

        VmRunCommandTest.Result drained = cli("node", "drain", "n1", "--controller", socket);
        assertEquals(0, drained.status(), drained.err());
        assertEquals("Node n1 is draining; its replicas move to other nodes." + System.lineSeparator(), drained.out());
        VmRunCommandTest.Result json = cli("node", "ls", "--json", "--controller", socket);
        JsonNode nodes = new ObjectMapper().readTree(json.out()).path("nodes");
        assertEquals("DRAINING", nodes.get(0).path("status").asText(), json.out());

        VmRunCommandTest.Result revoked = cli("node", "revoke", "n1", "--controller", socket);
        assertEquals(0, revoked.status(), revoked.err());
        assertTrue(cli("node", "ls", "--controller", socket).out().lines().skip(1).findFirst().orElseThrow().contains(" revoked "));
        VmRunCommandTest.Result unknown = cli("node", "drain", "nobody", "--controller", socket);
        assertEquals(1, unknown.status());
        assertEquals("aether node drain: 404 not_found: no node nobody" + System.lineSeparator(), unknown.err());
        VmRunCommandTest.Result again = cli("node", "drain", "n1", "--controller", socket);
        assertEquals("aether node drain: 409 conflict: node n1 is revoked" + System.lineSeparator(), again.err());
        String events = ApiClient.unix(Path.of(socket), Duration.ofSeconds(30)).get("/v1/events?after=0").requireOk().text();
        assertTrue(events.contains("\"NODE_REVOKED\""), events);
    }

    /** A job spec named roll: two replicas of the count stub, {@code boot} and {@code memory} telling versions apart. */
    /**
     * A good version's health timeout: a rollout goes on as soon as its replicas run, so a long one
     * costs nothing at home, and in the nested test host a replica's cold monitor takes tens of seconds.
     */
    private static final int HEALTHY_WITHIN = 120;

    private Path rollSpec(String file, String boot, String memory, int healthTimeoutSeconds) throws IOException {
        return Files.writeString(dir.resolve(file), ("{\"name\":\"roll\",\"workload\":{\"vm\":{\"boot\":%s,\"memory\":\"%s\"}},"
                + "\"resources\":{\"vcpus\":1,\"memory\":\"32M\"},\"replicas\":2,\"rollout\":{\"batch\":1,\"healthTimeoutSeconds\":%d}}")
                .formatted(boot, memory, healthTimeoutSeconds));
    }

    /** The job's answer from the controller once {@code done} holds for it (polled for at most 300 s). */
    private static JsonNode awaitJob(ApiClient controller, String name, Predicate<JsonNode> done, String what) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);
        while (true) {
            JsonNode job = controller.get("/v1/jobs/" + name).json(JsonNode.class);
            if (done.test(job)) return job;
            assertTrue(System.nanoTime() < deadline, "never " + what + ": " + job);
            Thread.sleep(300);
        }
    }

    private static boolean allRunning(JsonNode job, long version) {
        JsonNode allocations = job.path("allocations");
        return allocations.size() == job.path("job").path("spec").path("replicas").asInt()
                && allocations.valueStream().allMatch(a -> a.path("state").asText().equals("running") && a.path("version").asLong() == version);
    }

    /**
     * Updates through {@code aether job run}: a new version rolls out a replica at a time and
     * completes; a version whose kernel does not exist fails its health gate and the job goes back
     * to the version before; {@code job logs} prints a replica's console; a job allowed to preempt
     * stops a lower-priority one, which stays pending naming it, and one not allowed stays pending.
     */
    @Test
    void updatesRollOutOrRollBackLogsShowTheConsoleAndPreemptionMakesRoom() throws Exception {
        VmRunCommandTest.requireKvm();
        up(freePort());
        String socket = dir.resolve("data/controller/controller.sock").toString();
        String nodeSocket = dir.resolve("data/node/node.sock").toString();
        ApiClient controller = ApiClient.unix(Path.of(socket), Duration.ofSeconds(30));
        AgentClient node = new AgentClient(ApiClient.unix(Path.of(nodeSocket), Duration.ofSeconds(90)));

        assertEquals(0, cli("job", "run", rollSpec("v1.json", "{\"stub\":\"count\"}", "16M", HEALTHY_WITHIN).toString(), "--controller", socket).status());
        awaitJob(controller, "roll", job -> allRunning(job, 1), "version 1 running");
        Map<String, VmInfo> first = await(node, vms -> running(vms, "roll.0", "roll.1"), "two VMs running");
        VmRunCommandTest.Result logs = cli("job", "logs", "roll", "--replica", "1", "--bytes", "200", "--controller", socket, "--node", nodeSocket);
        assertEquals(0, logs.status(), logs.err());
        assertTrue(logs.out().contains("0123456789"), "the count stub's output: " + logs.out());
        VmRunCommandTest.Result noReplica = cli("job", "logs", "roll", "--replica", "5", "--controller", socket, "--node", nodeSocket);
        assertEquals("aether job logs: replica roll.5 runs on no node" + System.lineSeparator(), noReplica.err());

        VmRunCommandTest.Result updated = cli("job", "run", rollSpec("v2.json", "{\"stub\":\"count\"}", "24M", HEALTHY_WITHIN).toString(),
                "--controller", socket);
        assertTrue(updated.out().startsWith("Job roll version 2 submitted."), updated.out() + updated.err());
        awaitJob(controller, "roll", job -> job.path("job").path("rollout").path("status").asText().equals("complete") && allRunning(job, 2), "version 2 rolled out");
        Map<String, VmInfo> second = await(node, vms -> running(vms, "roll.0", "roll.1"), "two VMs of version 2 running");
        for (String id : first.keySet()) assertTrue(first.get(id).pid() != second.get(id).pid(), id + " was not replaced");
        VmRunCommandTest.Result status = cli("job", "status", "roll", "--controller", socket);
        assertTrue(status.out().contains("Rollout: version 1 to 2, complete (2 of 2 replicas on version 2)"), status.out());

        VmRunCommandTest.Result broken = cli("job", "run", rollSpec("v3.json", "{\"kernel\":\"/nonexistent/vmlinuz\"}", "24M", 3).toString(),
                "--controller", socket);
        assertTrue(broken.out().startsWith("Job roll version 3 submitted."), broken.out() + broken.err());
        JsonNode back = awaitJob(controller, "roll", job -> job.path("job").path("rollout").path("status").asText().equals("rolled back") && allRunning(job, 2),
                "version 3 rolled back");
        assertEquals(2, back.path("job").path("version").asLong(), back.toString());
        assertTrue(back.path("job").path("rollout").path("reason").asText().startsWith("replica roll.0 "), back.toString());
        assertEquals("count", back.path("job").path("spec").path("workload").path("vm").path("boot").path("stub").asText(), back.toString());
        String events = controller.get("/v1/events?after=0").requireOk().text();
        for (String kind : List.of("ROLLOUT_STARTED", "ROLLOUT_BATCH", "ROLLOUT_COMPLETED", "ROLLOUT_ROLLED_BACK")) assertTrue(events.contains(kind), kind + " in " + events);
        status = cli("job", "status", "roll", "--controller", socket);
        assertTrue(status.out().contains("Rollout: version 2 to 3, rolled back: replica roll.0 "), status.out());

        assertEquals(0, cli("job", "stop", "roll", "--controller", socket).status());
        await(node, Map::isEmpty, "the VMs removed");
        int vcpus = controller.get("/v1/nodes").json(JsonNode.class).path("nodes").get(0).path("vcpus").asInt();
        String job = "{\"name\":\"%s\",\"workload\":{\"vm\":{\"boot\":{\"stub\":\"count\"},\"memory\":\"16M\"}},\"resources\":{\"vcpus\":%d,\"memory\":\"32M\"},"
                + "\"priority\":%d,\"preempt\":%b}";
        assertEquals(0, cli("job", "run", Files.writeString(dir.resolve("filler.json"), job.formatted("filler", vcpus, 1, false)).toString(),
                "--controller", socket).status());
        await(node, vms -> running(vms, "filler.0"), "the filler running");
        VmRunCommandTest.Result polite = cli("job", "run", Files.writeString(dir.resolve("polite.json"), job.formatted("polite", 1, 10, false))
                .toString(), "--controller", socket);
        assertTrue(polite.out().contains("Pending: 1 of 1 replicas have no node: 1 node without 1 vCPUs and 32M free"), polite.out() + polite.err());
        assertEquals(0, cli("job", "stop", "polite", "--controller", socket).status());
        assertTrue(running(await(node, vms -> vms.containsKey("filler.0"), "the filler"), "filler.0"), "without preempt nothing was stopped");

        assertEquals(0, cli("job", "run", Files.writeString(dir.resolve("urgent.json"), job.formatted("urgent", 1, 10, true)).toString(),
                "--controller", socket).status());
        await(node, vms -> running(vms, "urgent.0"), "the urgent job running instead of the filler");
        JsonNode filler = awaitJob(controller, "filler", j -> j.path("job").path("pending").asText().startsWith("1 of 1 replicas have no node: preempted by urgent; "),
                "the filler pending");
        assertEquals(0, filler.path("allocations").size(), filler.toString());

        Path huge = Files.writeString(dir.resolve("huge.json"), job.formatted("huge", vcpus + 1, 0, false));
        VmRunCommandTest.Result strict = cli("job", "run", "--strict", huge.toString(), "--controller", socket);
        assertEquals(1, strict.status());
        assertEquals("aether job run: " + huge + ": 409 conflict: job huge can never fit: 1 node smaller than " + (vcpus + 1) + " vCPUs and 32M"
                + System.lineSeparator(), strict.err());
        assertEquals(404, controller.get("/v1/jobs/huge").status(), "nothing was submitted");
        VmRunCommandTest.Result lenient = cli("job", "run", huge.toString(), "--controller", socket);
        assertTrue(lenient.out().contains("Pending: 1 of 1 replicas have no node: 1 node without " + (vcpus + 1) + " vCPUs"), lenient.out() + lenient.err());
    }
}
