package io.aether.cli;

import static io.aether.cli.VmRunCommandTest.aether;
import static io.aether.cli.VmRunCommandTest.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.aether.agentapi.AgentClient;
import io.aether.http.ApiClient;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.RandomAccessFile;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A job volume end to end, with {@code aether up} as a real process: the node makes the job's
 * volume and asks its agent for the replica's VM with it as its disk; bytes written into the image
 * are there after the job is stopped and run again (the same image, not a new one); the volume
 * outlives the stopped job until {@code job stop --purge-volumes} deletes it; deleting it while its
 * job runs is refused. Stub guests have no disks and this host's PVM-backed KVM boots no Linux
 * kernel, so the agent refuses the replica's kernel VM here and the node reports it failed with
 * that reason: the attaching itself is covered by ReconcilerTest (the VM is created with its
 * volumes) and VolumeCommandTest (the agent turns them into the spec's disks).
 */
@Timeout(300)
class JobVolumeTest {

    private static final Path EXAMPLES = Path.of(System.getProperty("user.dir")).getParent().resolve("examples");
    private static final String VOLUME = "hello-volume.0.data";

    @TempDir
    Path dir;

    private Process up;
    private final String discoveryGroup = "239.255." + ThreadLocalRandom.current().nextInt(1, 255) + "." + ThreadLocalRandom.current().nextInt(1, 255) + ":"
            + ThreadLocalRandom.current().nextInt(20_000, 60_000);

    @AfterEach
    void stopEverything() {
        if (up != null) up.destroyForcibly();
        NodeAgentTest.killProcessesUnder(dir);
    }

    private void up() throws IOException {
        int raftPort;
        try (ServerSocket s = new ServerSocket(0)) {
            raftPort = s.getLocalPort();
        }
        up = new ProcessBuilder(aether("up", "--data", dir.resolve("data").toString(), "--name", "n1", "--raft-port", Integer.toString(raftPort),
                "--discovery-group", discoveryGroup)).redirectError(dir.resolve("up.err").toFile()).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(up.getInputStream(), StandardCharsets.UTF_8));
        String line;
        while ((line = out.readLine()) != null) {
            if (line.startsWith("Try: ")) {
                Thread.ofVirtual().start(() -> out.lines().forEach(l -> { }));
                return;
            }
        }
        throw new AssertionError("aether up ended: " + Files.readString(dir.resolve("up.err")));
    }

    /** The replica's reported state once {@code done} holds for it (polled for at most 90 s). */
    private String awaitState(ApiClient api, Predicate<String> done, String what) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (true) {
            String state = api.get("/v1/allocations").json(JsonNode.class).path("allocations").valueStream()
                    .filter(a -> a.path("job").asText().equals("hello-volume")).map(a -> a.path("state").asText()).findFirst().orElse("");
            if (done.test(state)) return state;
            if (System.nanoTime() > deadline) throw new AssertionError("never " + what + ": " + state + "\n" + diagnostics());
            Thread.sleep(200);
        }
    }

    /** What the controller and the node say, for a failure's message. */
    private String diagnostics() {
        StringBuilder out = new StringBuilder();
        try {
            ApiClient c = ApiClient.unix(dir.resolve("data/controller/controller.sock"), Duration.ofSeconds(30));
            out.append("jobs: ").append(c.get("/v1/jobs").text()).append("\nnodes: ").append(c.get("/v1/nodes").text())
                    .append("\nvolumes: ").append(c.get("/v1/volumes").text()).append("\nevents: ").append(c.get("/v1/events").text())
                    .append("\nnode volumes: ").append(node().volumes()).append("\nnode vms: ").append(node().list());
            String err = Files.readString(dir.resolve("up.err"));
            out.append("\nup.err: ").append(err.substring(Math.max(0, err.length() - 4000)));
        } catch (IOException e) {
            out.append(e);
        }
        return out.toString();
    }

    private AgentClient node() {
        return new AgentClient(ApiClient.unix(dir.resolve("data/node/node.sock"), Duration.ofSeconds(90)));
    }

    private static String expect(int status, String... args) throws Exception {
        VmRunCommandTest.Result r = run(new byte[0], aether(args));
        assertEquals(status, r.status(), List.of(args) + ": " + r.out() + r.err());
        return r.out() + r.err();
    }

    @Test
    void aJobVolumeKeepsItsBytesAcrossRestartsAndIsDeletedOnlyWhenPurged() throws Exception {
        VmRunCommandTest.requireKvm();
        up();
        String controller = dir.resolve("data/controller/controller.sock").toString();
        String nodeSocket = dir.resolve("data/node/node.sock").toString();
        AgentClient node = node();
        Path image = dir.resolve("data/node/volumes").resolve(VOLUME).resolve("data.img");

        Path kernel = Files.writeString(dir.resolve("vmlinuz"), "a placeholder, not a kernel");
        Path spec = Files.writeString(dir.resolve("hello-volume.json"), Files.readString(EXAMPLES.resolve("hello-volume.json"))
                .replace("\"/var/lib/aether/images/vmlinuz\", \"initrd\": \"/var/lib/aether/images/initrd.img\"", "\"" + kernel + "\"")
                .replace("\"1G\"", "\"16M\"").replace("on-failure", "never"));
        assertTrue(Files.readString(spec).contains(kernel.toString()), Files.readString(spec));
        expect(0, "job", "run", spec.toString(), "--controller", controller);
        ApiClient api = ApiClient.unix(Path.of(controller), Duration.ofSeconds(30));
        String tried = awaitState(api, state -> state.startsWith("failed: "), "the replica tried on the node");
        assertTrue(tried.contains("hello-volume.0"), tried);
        assertTrue(Files.exists(image), "the node made the job volume before the VM");
        assertEquals(16L << 20, Files.size(image));
        Object inode = Files.getAttribute(image, "unix:ino");
        String nodes = expect(0, "node", "ls", "--controller", controller);
        assertTrue(nodes.lines().skip(1).findFirst().orElseThrow().matches(".* [0-9]+[GMK]? of [0-9]+[GMK]? .*"), nodes);
        String listed = expect(0, "volume", "ls", "--controller", controller);
        assertTrue(listed.lines().anyMatch(l -> l.matches(VOLUME.replace(".", "\\.") + " +hello-volume +n1 +16M +attached")), listed);
        JsonNode n1 = api.get("/v1/nodes").json(JsonNode.class).path("nodes").get(0);
        assertEquals(16L << 20, n1.path("volumes").path("jobBytes").asLong(), n1.toString());

        // A known pattern, written from the host into the image while the replica is placed.
        byte[] pattern = new byte[4096];
        ThreadLocalRandom.current().nextBytes(pattern);
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            f.seek(1 << 20);
            f.write(pattern);
        }

        assertTrue(expect(1, "volume", "rm", VOLUME, "--controller", controller)
                .contains("409 conflict: job hello-volume runs; stop it first"), "a running job's volume is not deleted");

        // Stopped: the volume stays on the node, counted; run again, the replica gets the same image back.
        assertTrue(expect(0, "job", "stop", "hello-volume", "--controller", controller).contains("its volumes stay on their nodes"));
        assertTrue(expect(0, "volume", "ls", "--controller", controller).lines().anyMatch(l -> l.matches(VOLUME.replace(".", "\\.") + " .* stopped")));
        assertTrue(expect(0, "volume", "ls", "--node", nodeSocket).contains(VOLUME), "the node keeps the image");
        expect(0, "job", "run", spec.toString(), "--controller", controller);
        awaitState(api, state -> state.startsWith("failed: "), "the replica tried again");
        assertEquals(inode, Files.getAttribute(image, "unix:ino"), "the same image");
        assertArrayEquals(pattern, read(image));

        // Purged: the node deletes the image and its room is free again.
        assertTrue(expect(0, "job", "stop", "hello-volume", "--purge-volumes", "--controller", controller).contains("delete its volumes"));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (Files.exists(image) || node.volumes().volumes().stream().anyMatch(v -> v.name().equals(VOLUME))) {
            assertTrue(System.nanoTime() < deadline, "the node never deleted the purged volume");
            Thread.sleep(200);
        }
        JsonNode none = ApiClient.unix(Path.of(controller), Duration.ofSeconds(30)).get("/v1/volumes").json(JsonNode.class);
        assertEquals(0, none.path("volumes").size(), none.toString());
    }

    private static byte[] read(Path image) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "r")) {
            byte[] out = new byte[4096];
            f.seek(1 << 20);
            f.readFully(out);
            return out;
        }
    }
}
