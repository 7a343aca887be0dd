package io.aether.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.aether.agent.NodeAgent;
import io.aether.agentapi.AgentClient;
import io.aether.agentapi.RestartPolicy;
import io.aether.agentapi.StateChange;
import io.aether.agentapi.StopVm;
import io.aether.agentapi.VmInfo;
import io.aether.arch.x86_64.StubGuest;
import io.aether.http.ApiClient;
import io.aether.http.Event;
import io.aether.vmspec.VmSpec;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code aether node} with real monitor processes on this host's KVM (stub guests), driven
 * through its API on the Unix socket.
 */
@Timeout(60)
class NodeAgentTest {

    static final String COUNTER = "{\"boot\": {\"stub\": \"count\"}, \"memory\": \"16M\"}";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration CLIENT_TIMEOUT = Duration.ofSeconds(90);

    @TempDir
    Path dir;

    private final List<AutoCloseable> open = new ArrayList<>();
    private final List<ProcessHandle> processes = new ArrayList<>();

    @AfterEach
    void stopEverything() throws Exception {
        for (AutoCloseable c : open.reversed()) c.close();
        killProcessesUnder(dir);
        processes.forEach(ProcessHandle::destroyForcibly);
    }

    /** Kills every process whose arguments name {@code dir}: monitors outlive their agent by design. */
    static void killProcessesUnder(Path dir) {
        try (Stream<ProcessHandle> all = ProcessHandle.allProcesses()) {
            all.filter(p -> arguments(p).stream().anyMatch(a -> a.contains(dir.toString())))
                    .forEach(ProcessHandle::destroyForcibly);
        }
    }

    /**
     * Each test JVM's VM groups under a parent of its own: a monitor that a failed run leaves
     * behind keeps its group busy, and must not refuse the next run's VM of the same id.
     */
    static final String CGROUP_PARENT = "aether-test/jvm" + ProcessHandle.current().pid();

    /** The agent's defaults on {@code data}, its VM groups under {@link #CGROUP_PARENT}. */
    static NodeAgent.Options options(Path data) {
        return NodeAgent.Options.defaults(data).withCgroupParent(CGROUP_PARENT);
    }

    /**
     * A process's arguments from /proc/PID/cmdline. Not {@code ProcessHandle.info().arguments()}:
     * the JDK reads one page of the command line and gives up on longer ones, and a monitor's
     * class path alone is longer.
     */
    static List<String> arguments(ProcessHandle p) {
        try {
            String cmdline = Files.readString(Path.of("/proc", Long.toString(p.pid()), "cmdline"), StandardCharsets.UTF_8);
            return List.of(cmdline.split("\0"));
        } catch (IOException | RuntimeException e) {
            return List.of(); // it ended, or is not ours to read
        }
    }

    private Path data() {
        return dir.resolve("data");
    }

    /** An agent in this JVM on {@link #data()}, with a node of {@code memory} bytes. */
    private AgentClient agent(NodeAgent.Options options) throws IOException {
        NodeAgent agent = NodeAgent.start(options);
        open.add(agent);
        return new AgentClient(ApiClient.unix(agent.socket(), CLIENT_TIMEOUT));
    }

    private AgentClient agent() throws IOException {
        return agent(NodeAgentTest.options(data()));
    }

    static VmSpec counter() {
        return VmSpec.stub(VmSpec.StubProgram.COUNT);
    }

    static ApiClient.Reply post(Path socket, String path, String json) throws IOException {
        return ApiClient.unix(socket, CLIENT_TIMEOUT).post(path, JSON.readTree(json));
    }

    /** Polls {@code get} until {@code done} holds, for at most 30 s. */
    static VmInfo await(AgentClient node, String id, Predicate<VmInfo> done, String what) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        VmInfo vm;
        while (!done.test(vm = node.get(id))) {
            assertTrue(System.nanoTime() < deadline, id + " never " + what + ": " + vm);
            Thread.sleep(20);
        }
        return vm;
    }

    /** The next state change on {@code events}, skipping heartbeats; fails after 30 s. */
    static StateChange nextChange(ApiClient.EventStream events) throws IOException {
        Optional<Event> e = events.next(Duration.ofSeconds(30));
        assertTrue(e.isPresent(), "the event stream ended");
        assertEquals("state", e.get().type());
        return AgentClient.stateChange(e.get());
    }

    private List<String> vmFolders() throws IOException {
        try (Stream<Path> s = Files.list(data().resolve("vms"))) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void aVmIsCreatedPausedResumedWatchedStoppedAndDeletedThroughTheApi() throws Exception {
        VmRunCommandTest.requireKvm();
        AgentClient node = agent();
        try (ApiClient.EventStream events = node.events(Optional.empty())) {
            VmInfo vm = node.create(counter(), Map.of("team", "edge"), RestartPolicy.NEVER, "counter", true);
            assertEquals("running", vm.state());
            assertEquals(Map.of("team", "edge"), vm.labels());
            long pid = vm.pid();
            assertTrue(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "monitor " + pid + " runs");
            assertEquals(List.of("counter"), vmFolders());
            for (String file : List.of("spec.json", "record.json", "monitor.sock")) {
                assertTrue(Files.exists(data().resolve("vms/counter").resolve(file)), file);
            }
            StateChange first = nextChange(events);
            assertEquals("counter", first.id());
            assertEquals("running", first.state());

            assertEquals("paused", node.pause("counter").state());
            assertEquals("running", node.resume("counter").state());
            assertEquals(List.of("paused", "running"), List.of(nextChange(events).state(), nextChange(events).state()));

            // The console: the greeting first (replayed), then the count, as it comes.
            try (ApiClient.EventStream console = node.console("counter", true)) {
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                String expected = StubGuest.MESSAGE + StubGuest.COUNT_LINE + StubGuest.COUNT_LINE;
                while (out.size() < expected.length()) {
                    Optional<Event> e = console.next(Duration.ofSeconds(30));
                    assertTrue(e.isPresent(), "the console ended");
                    AgentClient.copyOutput(e.get(), out);
                }
                assertTrue(out.toString(StandardCharsets.US_ASCII).startsWith(expected), out.toString(StandardCharsets.US_ASCII));
            }
            // Detached: the guest runs on undisturbed.
            assertEquals("running", node.get("counter").state());
            assertEquals(pid, node.get("counter").pid());

            // Monitors refuse graceful stops today (one that learns them ends the guest itself): the agent forces the stop and says so.
            VmInfo stopped = node.stop("counter", new StopVm(true, 2000L));
            assertEquals("stopped", stopped.state());
            assertNull(stopped.pid());
            assertTrue(stopped.reason().equals("stopped through the API")
                    || stopped.reason().matches("stopped through the API \\(graceful stop refused: .+; forced\\)"), stopped.reason());
            assertTrue(ProcessHandle.of(pid).map(p -> p.onExit().orTimeout(15, TimeUnit.SECONDS).join()).isPresent()
                    || ProcessHandle.of(pid).isEmpty());
            assertEquals("stopped", nextChange(events).state());
            assertEquals(0, node.node().admitted().vms());

            node.delete("counter", false);
            StateChange deleted = nextChange(events);
            assertEquals("deleted", deleted.state());
            assertEquals(first.seq() + 4, deleted.seq(), "one sequence number per change");
            assertEquals(List.of(), vmFolders());
            IOException gone = org.junit.jupiter.api.Assertions.assertThrows(IOException.class, () -> node.get("counter"));
            assertEquals("404 not_found: no VM named counter", gone.getMessage());
        }
        // A client that lost its stream asks for what came after the last change it saw.
        try (ApiClient.EventStream replay = node.events(Optional.of(2L))) {
            StateChange third = nextChange(replay);
            assertEquals(3, third.seq());
            assertEquals("running", third.state());
            assertEquals(4, nextChange(replay).seq());
        }
    }

    @Test
    @Timeout(120) // two agent JVMs and two monitor JVMs: about 15 s here, several times that on a loaded machine
    void killedAgentReadoptsItsMonitorsAndReportsTheOneThatDied() throws Exception {
        VmRunCommandTest.requireKvm();
        Path socket = data().resolve("node.sock");
        Process agent = startAgentProcess();
        AgentClient node = new AgentClient(ApiClient.unix(socket, CLIENT_TIMEOUT));
        // Created side by side: each waits for its monitor's JVM.
        var creating = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor();
        var createA = creating.submit(() -> node.create(counter(), Map.of(), RestartPolicy.NEVER, "a", true));
        var createB = creating.submit(() -> node.create(counter(), Map.of(), RestartPolicy.NEVER, "b", true));
        VmInfo a = createA.get();
        VmInfo b = createB.get();
        creating.close();

        agent.destroyForcibly().waitFor(); // SIGKILL: no chance to tidy anything
        assertTrue(ProcessHandle.of(a.pid()).orElseThrow().isAlive());
        Process second = startAgentProcess();

        List<VmInfo> listed = node.list().vms();
        assertEquals(List.of("a", "b"), listed.stream().map(VmInfo::id).toList());
        for (int i = 0; i < 2; i++) {
            assertEquals("running", listed.get(i).state());
            assertEquals(List.of(a, b).get(i).pid(), listed.get(i).pid(), "the same monitor process");
        }
        assertEquals(2, node.node().admitted().vms());
        assertEquals("paused", node.pause("a").state(), "the re-adopted monitor is controlled");
        assertEquals("running", node.resume("a").state());

        ProcessHandle.of(a.pid()).orElseThrow().destroyForcibly();
        VmInfo failed = await(node, "a", v -> v.state().equals("failed"), "failed");
        // Adopted, the monitor is not the agent's child: no exit status, only its disappearance.
        assertTrue(failed.reason().startsWith("monitor process " + a.pid() + " vanished"), failed.reason());
        assertEquals(failed.reason(), failed.lastFailure());
        assertNull(failed.pid());
        assertEquals("running", node.get("b").state());
        assertEquals(b.pid(), node.get("b").pid());
        assertEquals(1, node.node().admitted().vms());

        second.destroy(); // SIGTERM: a stop on request is the agent's normal end
        assertTrue(second.waitFor(60, TimeUnit.SECONDS), "aether node did not stop on SIGTERM");
        String out = Files.readString(dir.resolve("agent.out"));
        assertEquals(0, second.exitValue(), out);
        assertTrue(out.contains("aether node: TERM received; stopping (the VMs keep running)"), out);
        assertTrue(out.contains("aether node: page merging: "), "the start-up log says whether the host runs KSM: " + out);
        assertTrue(ProcessHandle.of(b.pid()).orElseThrow().isAlive(), "the VMs outlive a stopped agent");
    }

    /** {@code aether node} as a process on {@link #data()}, every monitor cold (no pool); returns once its API answers. */
    private Process startAgentProcess() throws Exception {
        Process p = startAgentProcess(data(), dir.resolve("agent.out"), "--warm-pool", "0");
        processes.add(p.toHandle());
        return p;
    }

    /** {@code aether node --data DATA OPTIONS} as a process, its output appended to {@code out}; returns once its API answers. */
    static Process startAgentProcess(Path data, Path out, String... options) throws Exception {
        return startAgentProcess(List.of(), data, out, options);
    }

    /** As {@link #startAgentProcess(Path, Path, String...)}, its JVM given {@code jvmOptions}. */
    static Process startAgentProcess(List<String> jvmOptions, Path data, Path out, String... options) throws Exception {
        List<String> command = new ArrayList<>(VmRunCommandTest.aether("node", "--data", data.toString()));
        command.addAll(1, jvmOptions);
        command.addAll(List.of(options));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(out.toFile())).start();
        AgentClient node = new AgentClient(ApiClient.unix(data.resolve("node.sock"), Duration.ofSeconds(5)));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            try {
                node.node();
                return p;
            } catch (IOException e) {
                if (!p.isAlive()) fail("aether node exited: " + Files.readString(out));
                if (System.nanoTime() > deadline) {
                    p.destroyForcibly();
                    fail("aether node never answered: " + e.getMessage());
                }
                Thread.sleep(50);
            }
        }
    }

    /** Rewrites {@code id}'s record as an agent killed right after spawning its monitor left it: created, wanted running, no pid. */
    private void recordStartCutShort(String id) throws IOException {
        Path file = data().resolve("vms").resolve(id).resolve("record.json");
        com.fasterxml.jackson.databind.node.ObjectNode record = (com.fasterxml.jackson.databind.node.ObjectNode) JSON.readTree(file.toFile());
        assertEquals("created", record.get("state").asText());
        assertTrue(record.get("pid").isNull(), record.toString());
        record.put("desired", "running");
        Files.write(file, JSON.writeValueAsBytes(record));
    }

    @Test
    void anAgentKilledBeforeItRecordedItsMonitorsPidFindsTheMonitorByItsSocket() throws Exception {
        VmRunCommandTest.requireKvm();
        try (NodeAgent first = NodeAgent.start(options(data()))) {
            AgentClient node = new AgentClient(ApiClient.unix(first.socket(), CLIENT_TIMEOUT));
            node.create(counter(), Map.of(), RestartPolicy.NEVER, "found", false);
            node.create(counter(), Map.of(), RestartPolicy.NEVER, "lost", false);
        }
        recordStartCutShort("found");
        recordStartCutShort("lost");
        // The monitor the killed agent had spawned, on the VM's socket; "lost" had none.
        Path folder = data().resolve("vms/found");
        List<String> command = new ArrayList<>(options(data()).monitorCommand());
        command.addAll(List.of("--spec", folder.resolve("spec.json").toString(), "--socket", folder.resolve("monitor.sock").toString()));
        Process monitor = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(dir.resolve("monitor.out").toFile()).start();
        processes.add(monitor.toHandle());
        io.aether.monitorapi.MonitorClient client = new io.aether.monitorapi.MonitorClient(folder.resolve("monitor.sock"), CLIENT_TIMEOUT);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try {
                assertEquals(io.aether.monitorapi.VmState.RUNNING, client.awaitStarted(Duration.ofSeconds(10)).state());
                break;
            } catch (IOException notYet) {
                assertTrue(System.nanoTime() < deadline, "the monitor never answered: " + Files.readString(dir.resolve("monitor.out")));
                Thread.sleep(50);
            }
        }

        AgentClient node = agent();
        VmInfo found = node.get("found");
        assertEquals("running", found.state());
        assertEquals(monitor.pid(), found.pid(), "the monitor found by its socket is adopted");
        assertEquals("paused", node.pause("found").state(), "and controlled");
        VmInfo lost = node.get("lost");
        assertEquals("failed", lost.state());
        assertEquals("the agent ended while the VM's monitor was starting, and no monitor answers on its socket", lost.reason());
        node.stop("found", StopVm.forced());
        assertTrue(monitor.waitFor(30, TimeUnit.SECONDS));
    }

    @Test
    void aMonitorThatDiesIsReportedWithItsExitAndRestartedUnderItsPolicy() throws Exception {
        VmRunCommandTest.requireKvm();
        AgentClient node = agent();
        VmInfo vm = node.create(counter(), Map.of(), RestartPolicy.ON_FAILURE, "phoenix", true);
        try (ApiClient.EventStream events = node.events(Optional.empty())) {
            ProcessHandle.of(vm.pid()).orElseThrow().destroyForcibly();
            StateChange failed = nextChange(events);
            assertEquals("failed", failed.state());
            assertEquals("monitor process " + vm.pid() + " was killed by signal 9 (exit status 137)", failed.reason());
            assertEquals("created", nextChange(events).state(), "a new monitor builds the VM");
            assertEquals("running", nextChange(events).state());
        }
        VmInfo again = node.get("phoenix");
        assertEquals(1, again.restarts());
        assertNotEquals(vm.pid(), again.pid());
        assertTrue(again.lastFailure().contains("killed by signal 9"), again.lastFailure());
        assertNull(again.reason());
    }

    @Test
    void refusalsNameTheFieldAndLeaveNothingBehind() throws Exception {
        AgentClient node = agent(NodeAgentTest.options(data()).withCapacity(1, 32L << 20, 1.0));
        Path socket = data().resolve("node.sock");
        String[][] badRequests = {
            {"{\"spec\": {\"boot\": {\"kernel\": \"" + dir.resolve("missing-vmlinuz") + "\"}}}", "spec.boot.kernel",
                "no such file: " + dir.resolve("missing-vmlinuz")},
            {"{\"spec\": {\"boot\": {\"stub\": \"count\"}, \"memory\": \"8M\"}}", "spec.memory", "8M is too small (at least 16M)"},
            {"{\"spec\": {\"boot\": {\"stub\": \"count\"}, \"memroy\": \"16M\"}}", "spec.memroy", "unknown field"},
            {"{\"spec\": " + COUNTER + ", \"restartPolicy\": \"sometimes\"}", "restartPolicy", "'sometimes' is not never, on-failure or always"},
            {"{\"spec\": " + COUNTER + ", \"id\": \"../etc\"}", "id", "'../etc' is not a VM id"},
            {"{\"labels\": {}}", "spec", "required"},
        };
        for (String[] c : badRequests) {
            ApiClient.Reply r = post(socket, "/v1/vms", c[0]);
            assertEquals(400, r.status(), c[0]);
            JsonNode error = JSON.readTree(r.body());
            assertEquals(c[1], error.get("field").asText(), r.text());
            assertTrue(error.get("message").asText().startsWith(c[1] + ": " + c[2]), r.text());
        }
        ApiClient.Reply tooBig = post(socket, "/v1/vms", "{\"spec\": {\"boot\": {\"stub\": \"count\"}, \"memory\": \"64M\"}}");
        assertEquals(409, tooBig.status());
        assertEquals("cannot start vm: does not fit: memory: 64M asked, 32M of 32M free on this node",
                JSON.readTree(tooBig.body()).get("message").asText().replaceFirst("vm-[0-9a-f]+", "vm"));
        assertEquals(List.of(), vmFolders(), "nothing is left of refused creates");
        assertEquals(List.of(), node.list().vms());

        ApiClient.Reply unknown = ApiClient.unix(socket, CLIENT_TIMEOUT).post("/v1/vms/nosuch/pause", Map.of());
        assertEquals(404, unknown.status());
        assertEquals("no VM named nosuch", JSON.readTree(unknown.body()).get("message").asText());

        VmInfo idle = node.create(counter(), Map.of(), RestartPolicy.NEVER, "idle", false);
        assertEquals("created", idle.state());
        assertEquals(0, node.node().admitted().vms(), "a VM that does not run holds nothing");
        ApiClient.Reply pause = ApiClient.unix(socket, CLIENT_TIMEOUT).post("/v1/vms/idle/pause", Map.of());
        assertEquals(409, pause.status());
        assertEquals("cannot pause idle: the VM is created", JSON.readTree(pause.body()).get("message").asText());
        ApiClient.Reply twice = post(socket, "/v1/vms", "{\"spec\": " + COUNTER + ", \"id\": \"idle\", \"start\": false}");
        assertEquals(409, twice.status());
        assertEquals("a VM named idle exists", JSON.readTree(twice.body()).get("message").asText());
        assertEquals(List.of("idle"), vmFolders());
    }

    @Test
    void aMonitorThatFailsToStartLeavesNoVmOnCreateAndAFailedOneOnStart() throws Exception {
        // A "monitor" that fails the way one does on a host without KVM: a line on stderr, exit status 4.
        AgentClient node = agent(NodeAgentTest.options(data())
                .withMonitorCommand(List.of("sh", "-c", "echo 'aether vm monitor: /dev/kvm: no such device' >&2; exit 4", "monitor")));
        IOException refused = org.junit.jupiter.api.Assertions.assertThrows(IOException.class,
                () -> node.create(counter(), Map.of(), RestartPolicy.ALWAYS, "doomed", true));
        assertEquals("409 conflict: cannot start doomed: the monitor failed (exit status 4): aether vm monitor: /dev/kvm: no such device",
                refused.getMessage());
        assertEquals(List.of(), vmFolders(), "a create whose monitor fails leaves nothing");
        assertEquals(List.of(), node.list().vms());
        assertEquals(0, node.node().admitted().vms());

        node.create(counter(), Map.of(), RestartPolicy.NEVER, "later", false);
        IOException start = org.junit.jupiter.api.Assertions.assertThrows(IOException.class, () -> node.start("later"));
        assertTrue(start.getMessage().startsWith("409 conflict: cannot start later: the monitor failed (exit status 4)"), start.getMessage());
        VmInfo failed = node.get("later");
        assertEquals("failed", failed.state(), "an existing VM whose monitor fails stays, failed with the reason");
        assertEquals("the monitor failed (exit status 4): aether vm monitor: /dev/kvm: no such device", failed.reason());
        assertEquals(0, node.node().admitted().vms());
    }

    @Test
    void concurrentCallsOnOneVmAreSerialised() throws Exception {
        VmRunCommandTest.requireKvm();
        AgentClient node = agent();
        node.create(counter(), Map.of(), RestartPolicy.NEVER, "busy", false);
        Path socket = data().resolve("node.sock");
        // Ten starts at once: one starts the VM, the others wait for it and are refused; one monitor runs.
        List<Integer> statuses = java.util.Collections.synchronizedList(new ArrayList<>());
        List<Thread> starters = new ArrayList<>();
        for (int t = 0; t < 10; t++) {
            starters.add(Thread.ofVirtual().start(() -> {
                try {
                    statuses.add(ApiClient.unix(socket, CLIENT_TIMEOUT).post("/v1/vms/busy/start", Map.of()).status());
                } catch (IOException e) {
                    statuses.add(-1);
                }
            }));
        }
        for (Thread t : starters) t.join();
        assertEquals(1, statuses.stream().filter(s -> s == 200).count(), statuses.toString());
        assertEquals(9, statuses.stream().filter(s -> s == 409).count(), statuses.toString());
        try (Stream<ProcessHandle> all = ProcessHandle.allProcesses()) {
            String busySocket = data().resolve("vms/busy/monitor.sock").toString();
            assertEquals(1, all.filter(p -> arguments(p).contains(busySocket)).count(),
                    "one monitor for the VM");
        }
        List<Thread> threads = new ArrayList<>();
        List<String> unexpected = java.util.Collections.synchronizedList(new ArrayList<>());
        java.util.concurrent.atomic.AtomicInteger done = new java.util.concurrent.atomic.AtomicInteger();
        for (int t = 0; t < 20; t++) {
            String action = List.of("pause", "resume", "get").get(t % 3);
            threads.add(Thread.ofVirtual().start(() -> {
                ApiClient api = ApiClient.unix(socket, CLIENT_TIMEOUT);
                for (int i = 0; i < 5; i++) {
                    try {
                        ApiClient.Reply r = action.equals("get") ? api.get("/v1/vms/busy") : api.post("/v1/vms/busy/" + action, Map.of());
                        String message = r.status() == 409 ? JSON.readTree(r.body()).get("message").asText() : "";
                        // A pause of a paused VM and a resume of a running one are refused; nothing else is.
                        boolean fine = r.status() == 200 || r.status() == 409 && (message.equals("cannot pause: the VM is paused")
                                || message.equals("cannot resume: the VM is running"));
                        if (!fine) unexpected.add(action + ": " + r.status() + " " + r.text());
                        done.incrementAndGet();
                    } catch (IOException e) {
                        unexpected.add(action + ": " + e.getMessage());
                    }
                }
            }));
        }
        for (Thread t : threads) t.join();
        assertEquals(List.of(), unexpected);
        assertEquals(100, done.get());
        // The agent's view and the monitor's agree after the storm.
        VmInfo vm = node.get("busy");
        io.aether.monitorapi.MonitorClient monitor = new io.aether.monitorapi.MonitorClient(data().resolve("vms/busy/monitor.sock"),
                Duration.ofSeconds(10));
        assertEquals(vm.state(), monitor.state().state().id());
        assertNotNull(vm.pid());
        assertFalse(vm.state().equals("failed"));
    }

    @Test
    void listenServesTheApiOverTlsToPinnedClientsOnly() throws Exception {
        io.aether.security.ServerCredentials fabric = io.aether.security.ServerCredentials.generate("fabric");
        io.aether.security.ServerCredentials stranger = io.aether.security.ServerCredentials.generate("fabric");
        NodeAgent agent = NodeAgent.start(NodeAgentTest.options(data()).withListen("127.0.0.1:0", java.util.Set.of(fabric.fingerprint())));
        open.add(agent);
        var pin = new io.aether.security.ServerTrust.Pinned(agent.fingerprint().orElseThrow());
        AgentClient remote = new AgentClient(ApiClient.mutualTls("127.0.0.1", agent.port(), pin, fabric, Duration.ofSeconds(10)));
        assertEquals(Runtime.getRuntime().availableProcessors(), remote.node().capacity().cpus());
        AgentClient impostor = new AgentClient(ApiClient.mutualTls("127.0.0.1", agent.port(), pin, stranger, Duration.ofSeconds(10)));
        org.junit.jupiter.api.Assertions.assertThrows(IOException.class, impostor::node);
        // The certificate is made once: a restarted agent presents the same one.
        agent.close();
        NodeAgent again = NodeAgent.start(NodeAgentTest.options(data()).withListen("127.0.0.1:0", java.util.Set.of(fabric.fingerprint())));
        open.add(again);
        assertEquals(agent.fingerprint(), again.fingerprint());
        assertEquals("--listen: needs at least one --client-cert (the API is never served to anyone who asks)",
                org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                        () -> NodeAgentTest.options(data()).withListen("127.0.0.1:0", java.util.Set.of())).getMessage());
    }

    @Test
    void aDamagedVmFolderIsLeftAloneCountedAndTheAgentServesTheRest() throws Exception {
        try (AutoCloseable first = NodeAgent.start(NodeAgentTest.options(data()))) {
            AgentClient node = new AgentClient(ApiClient.unix(data().resolve("node.sock"), CLIENT_TIMEOUT));
            node.create(counter(), Map.of(), RestartPolicy.NEVER, "good", false);
            node.create(counter(), Map.of(), RestartPolicy.NEVER, "bad", false);
        }
        Path record = data().resolve("vms/bad/record.json");
        Files.writeString(record, "{\"id\": \"bad\", \"labels\": ");
        AgentClient node = agent();
        assertEquals(List.of("good"), node.list().vms().stream().map(VmInfo::id).toList());
        assertEquals(List.of("bad"), node.node().unreadableVms());
        assertEquals("{\"id\": \"bad\", \"labels\": ", Files.readString(record), "left for a person to look at");
    }

    @Test
    void aGuestThatEndsOnItsOwnIsStoppedAndStartedAgainOnlyUnderAlways() throws Exception {
        VmRunCommandTest.requireKvm();
        AgentClient node = agent();
        VmSpec hello = VmSpec.stub(VmSpec.StubProgram.HELLO); // prints its greeting and halts at once
        node.create(hello, Map.of(), RestartPolicy.ON_FAILURE, "once", true);
        VmInfo ended = await(node, "once", v -> v.state().equals("stopped"), "stopped");
        assertEquals("the guest ended (monitor exit status 0)", ended.reason());
        assertEquals(0, ended.restarts(), "ending is not failing");
        assertNull(ended.lastFailure());
        assertEquals(StubGuest.MESSAGE, new String(node.logs("once", 4096), StandardCharsets.US_ASCII));

        node.create(hello, Map.of(), RestartPolicy.ALWAYS, "again", true);
        // Between two runs (no monitor; after the first restart the next start waits 2 s): stopped then, it stays stopped.
        await(node, "again", v -> v.restarts() >= 1 && v.pid() == null, "started again and ended");
        VmInfo cancelled = node.stop("again", StopVm.forced());
        assertEquals("stopped", cancelled.state());
        assertNull(cancelled.pid());
        IOException twice = org.junit.jupiter.api.Assertions.assertThrows(IOException.class, () -> node.stop("again", StopVm.forced()));
        assertEquals("409 conflict: cannot stop again: the VM is stopped", twice.getMessage());
    }
}
