package io.aether.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.aether.agent.NodeAgent;
import io.aether.agentapi.AgentClient;
import io.aether.agentapi.NodeInfo;
import io.aether.agentapi.RestartPolicy;
import io.aether.agentapi.VmInfo;
import io.aether.arch.x86_64.StubGuest;
import io.aether.http.ApiClient;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code aether node --warm-pool N}: VMs handed to standby monitor processes (stub guests on this host's KVM). */
@Timeout(120)
class NodeWarmPoolTest {

    private static final Duration CLIENT_TIMEOUT = Duration.ofSeconds(90);
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void stopEverything() throws Exception {
        for (AutoCloseable c : open.reversed()) c.close();
        NodeAgentTest.killProcessesUnder(dir);
    }

    private Path data() {
        return dir.resolve("data");
    }

    /**
     * The pids of the monitors started as standbys of this test's pool (their command line does not
     * change when one is handed a VM), but {@code launched}.
     */
    private List<Long> standbyPids(long... launched) {
        String pool = data().resolve("pool").toString();
        try (Stream<ProcessHandle> all = ProcessHandle.allProcesses()) {
            return all.filter(p -> {
                List<String> args = NodeAgentTest.arguments(p);
                return args.contains("--standby") && args.stream().anyMatch(a -> a.startsWith(pool));
            }).map(ProcessHandle::pid).filter(pid -> java.util.Arrays.stream(launched).noneMatch(l -> l == pid)).sorted().toList();
        }
    }

    /** Polls the node until its pool satisfies {@code done}, for at most 60 s (a standby is a JVM starting on a busy machine). */
    private static NodeInfo.Pool awaitPool(AgentClient node, Predicate<NodeInfo.Pool> done, String what) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        NodeInfo.Pool pool;
        while (!done.test(pool = node.node().pool())) {
            assertTrue(System.nanoTime() < deadline, "the pool never " + what + ": " + pool);
            Thread.sleep(50);
        }
        return pool;
    }

    @Test
    void aVmStartsInAStandbyMonitorThePoolRefillsAndAKilledAgentReadoptsIt() throws Exception {
        VmRunCommandTest.requireKvm();
        List<ProcessHandle> agents = new ArrayList<>();
        open.add(() -> agents.forEach(ProcessHandle::destroyForcibly));
        Process agent = NodeAgentTest.startAgentProcess(data(), dir.resolve("agent.out"), "--warm-pool", "1");
        agents.add(agent.toHandle());
        AgentClient node = new AgentClient(ApiClient.unix(data().resolve("node.sock"), CLIENT_TIMEOUT));
        NodeInfo.Pool ready = awaitPool(node, p -> p.ready() == 1, "had a ready standby");
        assertEquals(1, ready.size());
        assertTrue(ready.memoryBytes() > 1 << 20, "a standby JVM holds memory: " + ready.memoryBytes());
        List<Long> standby = standbyPids();
        assertEquals(1, standby.size(), "one standby monitor: " + standby);

        VmInfo vm = node.create(NodeAgentTest.counter(), Map.of(), RestartPolicy.NEVER, "warm", true);
        assertEquals("running", vm.state());
        assertEquals(standby.getFirst(), vm.pid(), "the VM runs in the standby monitor seen before");
        NodeSnapshotTest.awaitLog(node, "warm", 1000);
        VmSnapshotRestoreTest.assertCountedInOrder(new String(node.logs("warm", 1 << 20), StandardCharsets.US_ASCII));
        assertTrue(Files.exists(data().resolve("vms/warm/monitor.sock")), "the launched monitor's socket moved into the VM's folder");
        assertTrue(Files.exists(data().resolve("vms/warm/monitor.log")), "the standby's messages became the VM's monitor log");

        awaitPool(node, p -> p.ready() == 1, "refilled");
        List<Long> refilled = standbyPids(vm.pid());
        assertEquals(1, refilled.size(), "one standby monitor again: " + refilled);
        assertNotEquals(vm.pid(), refilled.getFirst());
        assertEquals("paused", node.pause("warm").state()); // it burns a CPU while the agents start

        agent.destroyForcibly().waitFor(); // SIGKILL: no chance to tidy anything
        ProcessHandle orphan = ProcessHandle.of(refilled.getFirst()).orElseThrow();
        orphan.onExit().get(30, TimeUnit.SECONDS); // the standby of a dead agent ends itself
        assertTrue(ProcessHandle.of(vm.pid()).orElseThrow().isAlive(), "the VM's monitor outlives its agent");

        agents.add(NodeAgentTest.startAgentProcess(data(), dir.resolve("agent.out"), "--warm-pool", "1").toHandle());
        VmInfo adopted = node.get("warm");
        assertEquals("paused", adopted.state());
        assertEquals(vm.pid(), adopted.pid(), "the same monitor process, re-adopted");
        // The counting guest's log soon outgrows what the API returns (the last 1 MiB), and the file
        // rotates at 16 MiB: its size, still while paused, must change once the guest counts again.
        Path consoleLog = data().resolve("vms/warm/console.log");
        long before = Files.size(consoleLog);
        assertEquals("running", node.resume("warm").state(), "the re-adopted monitor is controlled");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (Files.size(consoleLog) == before) {
            assertTrue(System.nanoTime() < deadline, "the resumed guest printed nothing in 30 s");
            Thread.sleep(20);
        }
        node.stop("warm", io.aether.agentapi.StopVm.forced());
    }

    @Test
    void aStartedVmsStandbyIsTakenAndClaimedBeforeItsFolderIsWrittenAndJoinedOnlyAfterItsAdmission() throws Exception {
        VmRunCommandTest.requireKvm();
        Path out = dir.resolve("agent.out");
        Process agent = NodeAgentTest.startAgentProcess(List.of("-Daether.trace.start=true"), data(), out, "--warm-pool", "1");
        open.add(agent::destroyForcibly);
        AgentClient node = new AgentClient(ApiClient.unix(data().resolve("node.sock"), CLIENT_TIMEOUT));
        awaitPool(node, p -> p.ready() == 1, "had a ready standby");
        long standby = standbyPids().getFirst();

        VmInfo vm = node.create(NodeAgentTest.counter(), Map.of(), RestartPolicy.NEVER, "traced", true);
        assertEquals(standby, vm.pid(), "the VM runs in the standby seen before");
        // The create's steps, in the order the agent's trace printed them ("trace-start STEP MS at NANOS").
        List<String> steps;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        do {
            steps = Files.readAllLines(out).stream().filter(l -> l.startsWith("trace-start ")).map(l -> l.split(" ")[1]).toList();
            Thread.sleep(20);
        } while (!steps.contains("answer") && System.nanoTime() < deadline);
        List<String> expected = List.of("claim-begun", "folder-written", "admitted", "standby-claimed", "standby-answered", "answer");
        assertEquals(expected, steps.stream().filter(expected::contains).toList(), "the create's steps: " + steps);
        assertEquals("paused", node.pause("traced").state()); // it burns a CPU
    }

    @Test
    void aVmRefusedAfterItsStandbyWasSentTheHandoverLeavesTheStandbyReadyForTheNext() throws Exception {
        VmRunCommandTest.requireKvm();
        // The standby is taken and sent the handover before the admission: a VM that does not fit
        // is refused there, and the standby, which prepared it, undoes it and waits on in the pool.
        NodeAgent agent = NodeAgent.start(NodeAgentTest.options(data()).withCapacity(2, 64L << 20, 1.0).withWarmPool(1));
        open.add(agent);
        ApiClient api = ApiClient.unix(agent.socket(), CLIENT_TIMEOUT);
        AgentClient node = new AgentClient(api);
        awaitPool(node, p -> p.ready() == 1, "had a ready standby");
        List<Long> standby = standbyPids();
        assertRefused(api, "big", "{\"id\": \"big\", \"spec\": {\"boot\": {\"stub\": \"count\"}, \"memory\": \"128M\"}}",
                "does not fit: memory: 128M asked");
        assertEquals(1, node.node().pool().ready(), "the standby is back in the pool");
        assertEquals(standby, standbyPids(), "the same standby");
        VmInfo vm = node.create(NodeAgentTest.counter(), Map.of(), RestartPolicy.NEVER, "fits", true);
        assertEquals("running", vm.state());
        assertEquals(standby.getFirst(), vm.pid(), "the next VM runs in the standby that prepared the refused one");
        NodeSnapshotTest.awaitLog(node, "fits", 100);
        assertEquals("paused", node.pause("fits").state()); // it burns a CPU
    }

    @Test
    void withNoStandbyReadyAVmStartsInAColdMonitor() throws Exception {
        VmRunCommandTest.requireKvm();
        // Every standby monitor fails to start (a wrapper ends it); a monitor given a VM runs.
        NodeAgent.Options defaults = NodeAgentTest.options(data());
        List<String> failingStandbys = new ArrayList<>(List.of("sh", "-c", "case \"$*\" in *--standby*) exit 1;; esac; exec \"$@\"", "sh"));
        failingStandbys.addAll(defaults.monitorCommand());
        NodeAgent agent = NodeAgent.start(defaults.withMonitorCommand(failingStandbys).withWarmPool(1));
        open.add(agent);
        AgentClient node = new AgentClient(ApiClient.unix(agent.socket(), CLIENT_TIMEOUT));
        NodeInfo.Pool failing = awaitPool(node, p -> p.failed() > 0, "counted a failed standby");
        assertEquals(0, failing.ready());

        VmInfo cold = node.create(NodeAgentTest.counter(), Map.of(), RestartPolicy.NEVER, "cold", true);
        assertEquals("running", cold.state());
        List<String> arguments = NodeAgentTest.arguments(ProcessHandle.of(cold.pid()).orElseThrow());
        assertTrue(arguments.contains("--spec") && !arguments.contains("--standby"), "a cold monitor: " + arguments);
        NodeSnapshotTest.awaitLog(node, "cold", 1000);
        node.stop("cold", io.aether.agentapi.StopVm.forced());
    }

    @Test
    void anAgentRemovesTheMonitorsClassDataArchiveAnEarlierOneLeft() throws Exception {
        // The JVM ignores an archive made with an older jar for ever, and never rewrites it.
        Path archive = data().resolve("monitor.jsa");
        Files.createDirectories(data());
        Files.writeString(archive, "an archive an older jar made");
        open.add(NodeAgent.start(NodeAgentTest.options(data())));
        assertFalse(Files.exists(archive), "the agent removes what an earlier one left");
    }

    /** Asserts that a create with {@code body} answered 409 saying {@code text} and left no VM folder named {@code id}. */
    private void assertRefused(ApiClient api, String id, String body, String text) throws Exception {
        ApiClient.Reply r = api.post("/v1/vms", JSON.readTree(body));
        assertEquals(409, r.status(), r.text());
        assertTrue(JSON.readTree(r.body()).get("message").asText().contains(text), r.text());
        assertFalse(Files.exists(data().resolve("vms").resolve(id)), "the refused VM's folder is left");
    }

    @Test
    void aSnapshotRestoredThroughTheApiRunsInAStandbyMonitorAndARefusedOneLeavesTheStandbyReady() throws Exception {
        VmRunCommandTest.requireKvm();
        NodeAgent agent = NodeAgent.start(NodeAgentTest.options(data()).withCapacity(4, 1L << 30, 1.0).withWarmPool(1));
        open.add(agent);
        ApiClient api = ApiClient.unix(agent.socket(), CLIENT_TIMEOUT);
        AgentClient node = new AgentClient(api);
        awaitPool(node, p -> p.ready() == 1, "had a ready standby");
        VmInfo source = node.create(NodeAgentTest.counter(), Map.of(), RestartPolicy.NEVER, "source", true);
        NodeSnapshotTest.awaitLog(node, "source", 2000);
        node.snapshot("source", "one", false);
        String counted = new String(node.logs("source", 1 << 20), StandardCharsets.US_ASCII);
        node.snapshot("source", "cut", false);
        try (FileChannel state = FileChannel.open(data().resolve("vms/source/snapshots/cut/state"), StandardOpenOption.WRITE)) {
            state.truncate(state.size() / 2);
        }

        awaitPool(node, p -> p.ready() == 1, "refilled");
        List<Long> standby = standbyPids(source.pid());
        assertEquals(1, standby.size(), "one standby monitor: " + standby);
        assertRefused(api, "cut", "{\"id\": \"cut\", \"restore\": {\"vm\": \"source\", \"snapshot\": \"cut\"}}",
                "cannot start cut: the standby monitor refused the spec or snapshot: snapshot: ");
        assertEquals(1, node.node().pool().ready(), "the standby that refused is back in the pool");
        assertEquals(standby, standbyPids(source.pid()), "the same standby, not a cold monitor nor a new one");

        VmInfo copy = node.restore("source", "one", false, "copy");
        assertEquals("running", copy.state());
        assertEquals(standby.getFirst(), copy.pid(), "the snapshot runs in the standby monitor seen before");
        assertEquals(node.get("source").spec(), copy.spec(), "a restored VM has its snapshot's spec");
        String after = NodeSnapshotTest.awaitLog(node, "copy", 1000);
        assertFalse(after.startsWith(StubGuest.MESSAGE), "the restored guest does not start over");
        VmSnapshotRestoreTest.assertCountedInOrder(counted + after);
        assertEquals("paused", node.pause("copy").state()); // it burns a CPU

        awaitPool(node, p -> p.ready() == 1, "refilled");
        List<Long> next = standbyPids(source.pid(), copy.pid());
        assertRefused(api, "again", "{\"id\": \"again\", \"restore\": {\"vm\": \"source\", \"snapshot\": \"one\"}}",
                "this snapshot is already restored and running (monitor process " + copy.pid() + ")");
        assertEquals(next, standbyPids(source.pid(), copy.pid()), "the standby that refused waits on");
        assertEquals(1, node.node().pool().ready());
        assertEquals(List.of("copy", "source"), node.list().vms().stream().map(VmInfo::id).toList());
    }
    @Test
    void aStandbyThatRefusesItsLaunchHasTheRecordNamingItPutBackBeforeAColdMonitorStarts() throws Exception {
        VmRunCommandTest.requireKvm();
        Path folder = data().resolve("vms/w");
        Path seen = dir.resolve("record-at-cold-spawn.json");
        // A cold monitor (any but a standby) first copies the VM's record as the agent left it when
        // it spawned it, and removes what made the standby refuse.
        String script = "case \"$*\" in *--standby*) ;; *) cp '" + folder.resolve("record.json") + "' '" + seen + "'; rmdir '"
                + folder.resolve("console.log") + "';; esac; exec \"$@\"";
        NodeAgent.Options defaults = NodeAgentTest.options(data());
        List<String> command = new ArrayList<>(List.of("sh", "-c", script, "sh"));
        command.addAll(defaults.monitorCommand());
        NodeAgent agent = NodeAgent.start(defaults.withMonitorCommand(command).withWarmPool(1));
        open.add(agent);
        AgentClient node = new AgentClient(ApiClient.unix(agent.socket(), CLIENT_TIMEOUT));
        VmInfo created = node.create(NodeAgentTest.counter(), Map.of(), RestartPolicy.NEVER, "w", false);
        awaitPool(node, p -> p.ready() == 1, "had a ready standby");
        List<Long> standby = standbyPids();
        assertEquals(1, standby.size(), "one standby monitor: " + standby);
        // The standby cannot open a console log that is a directory, and refuses the launch.
        Files.createDirectory(folder.resolve("console.log"));

        VmInfo started = node.start("w");
        assertEquals("running", started.state());
        assertFalse(standby.contains(started.pid()), "a cold monitor runs it: " + started.pid());
        JsonNode atSpawn = JSON.readTree(seen.toFile());
        // The agent records the cold monitor right after spawning it, so the copy can come after
        // that (the cold monitor's own pid, as created): only the refusing standby's pid is wrong.
        assertTrue(atSpawn.get("pid").isNull() || atSpawn.get("pid").asLong() == started.pid(),
                "the record that named the standby is put back: " + atSpawn + " (the standby: " + standby + ")");
        assertEquals(created.state(), atSpawn.get("state").asText(), atSpawn.toString());
        JsonNode now = JSON.readTree(folder.resolve("record.json").toFile());
        assertEquals(started.pid().longValue(), now.get("pid").asLong(), "the cold monitor is recorded: " + now);
        assertEquals(standby, standbyPids(started.pid()), "the standby that refused waits on");
        node.stop("w", io.aether.agentapi.StopVm.forced());
    }

    @Test
    void anAgentKilledAfterRecordingTheStandbyBeforeItsLaunchWasSentReportsTheVmFailed() throws Exception {
        VmRunCommandTest.requireKvm();
        long standby;
        try (NodeAgent first = NodeAgent.start(NodeAgentTest.options(data()).withWarmPool(1))) {
            AgentClient node = new AgentClient(ApiClient.unix(first.socket(), CLIENT_TIMEOUT));
            node.create(NodeAgentTest.counter(), Map.of(), RestartPolicy.NEVER, "early", false);
            awaitPool(node, p -> p.ready() == 1, "had a ready standby");
            standby = standbyPids().getFirst();
        }
        // The standby ends with its agent (closed here; a killed agent's standby ends itself).
        ProcessHandle.of(standby).ifPresent(p -> p.onExit().join());
        // What the window leaves: the VM wanted running, recorded as running in the standby that
        // the launch was about to be sent to, and nothing on the VM's socket.
        Path file = data().resolve("vms/early/record.json");
        ObjectNode record = (ObjectNode) JSON.readTree(file.toFile());
        record.put("desired", "running").put("state", "running").put("pid", standby);
        Files.write(file, JSON.writeValueAsBytes(record));

        NodeAgent second = NodeAgent.start(NodeAgentTest.options(data()));
        open.add(second);
        VmInfo early = new AgentClient(ApiClient.unix(second.socket(), CLIENT_TIMEOUT)).get("early");
        assertEquals("failed", early.state());
        assertTrue(early.reason().startsWith("monitor process " + standby + " vanished"), early.reason());
        assertTrue(early.reason().endsWith(" while the agent was down"), early.reason());
    }
}
