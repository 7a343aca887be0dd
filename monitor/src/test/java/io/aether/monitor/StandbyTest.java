package io.aether.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.monitorapi.ControlRequest;
import io.aether.monitorapi.ControlResponse;
import io.aether.monitorapi.MonitorClient;
import io.aether.monitorapi.VmState;
import io.aether.vmspec.VmSpec;
import io.aether.vmspec.VmSpecJson;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code aether vm monitor --standby} as real processes on this host's KVM. */
@Timeout(120)
class StandbyTest {

    private static final Duration CLIENT_TIMEOUT = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    private final List<ProcessHandle> started = new ArrayList<>();

    @AfterEach
    void killLeftovers() {
        started.forEach(ProcessHandle::destroyForcibly);
    }

    /** A standby monitor, started and ready: it printed its ready line. */
    private record Started(Process process, long pid, Path socket) {
    }

    private Started standby(Path socket) throws IOException {
        List<String> command = MonitorProcesses.command();
        command.addAll(List.of("--standby", "--socket", socket.toString()));
        Process p = new ProcessBuilder(command).redirectError(dir.resolve("standby.err").toFile()).start();
        started.add(p.toHandle());
        return new Started(p, p.pid(), awaitReadyLine(p, socket));
    }

    private Path awaitReadyLine(Process p, Path socket) throws IOException {
        String line = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)).readLine();
        assertEquals("standby " + p.pid() + " " + socket, line, () -> "stderr: " + read(dir.resolve("standby.err")));
        return socket;
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            return e.toString();
        }
    }

    private static void awaitRunning(MonitorClient client) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        VmState state;
        while ((state = client.state().state()) != VmState.RUNNING) {
            assertEquals(VmState.CREATED, state);
            assertTrue(System.nanoTime() < deadline, "the VM never ran");
            Thread.sleep(5);
        }
    }

    @Test
    void aLaunchedStandbyRunsTheVmBehindTheSocketItWasMovedTo() throws Exception {
        MonitorProcesses.requireKvm();
        Started s = standby(dir.resolve("standby.sock"));
        MonitorClient standby = new MonitorClient(s.socket(), CLIENT_TIMEOUT);
        assertEquals(new ControlResponse.Standby(s.pid()), standby.call(new ControlRequest.State()));
        assertEquals(new ControlResponse.Refused("conflict", "cannot pause: the monitor is on standby (no VM yet; send launch)"),
                standby.call(new ControlRequest.Pause()));

        Path vmDir = Files.createDirectory(dir.resolve("vm-1"));
        Path socket = vmDir.resolve("monitor.sock");
        Path log = vmDir.resolve("console.log");
        VmSpec spec = VmSpec.stub(VmSpec.StubProgram.COUNT);
        MonitorClient.Console early = standby.attachConsole(false);
        Set<Integer> flushersOnStandby = new TreeSet<>(niceByThread(s.pid(), "console-flush").keySet());
        ControlResponse.Status launched = standby.launch(new ControlRequest.Launch(spec, Optional.of(log), Optional.of(socket)));
        assertEquals(flushersOnStandby, new TreeSet<>(niceByThread(s.pid(), "console-flush").keySet()),
                "the launch started no console thread: the VM's console was made on standby");
        assertEquals(s.pid(), launched.pid());
        assertEquals(new VmSpec.Boot.Stub(VmSpec.StubProgram.COUNT), launched.spec().boot());
        assertEquals(VmState.RUNNING, launched.state(), "the launch is answered once the VM runs: no await-started needed");
        assertFalse(Files.exists(s.socket(), LinkOption.NOFOLLOW_LINKS), "the socket moved");

        try (early) {
            String first = "Aether stub guest: hello from 64-bit long mode\r\n";
            assertEquals(first, new String(early.output().readNBytes(first.length()), StandardCharsets.US_ASCII),
                    "a console attached before the launch sees the VM's first byte");
        }
        MonitorClient vm = new MonitorClient(socket, CLIENT_TIMEOUT);
        try (MonitorClient.Console console = vm.attachConsole(true)) {
            String expected = "Aether stub guest: hello from 64-bit long mode\r\n0123456789\r\n";
            assertEquals(expected, new String(console.output().readNBytes(expected.length()), StandardCharsets.US_ASCII));
        }
        assertEquals(VmState.RUNNING, vm.awaitStarted(Duration.ofSeconds(30)).state(), "await-started answers once the VM runs");
        assertEquals("conflict: cannot launch: this monitor already runs a VM",
                assertThrows(MonitorClient.RefusedException.class, () -> vm.launch(new ControlRequest.Launch(spec, Optional.empty(), Optional.empty())))
                        .getMessage());
        assertEquals(VmState.STOPPED, vm.stop(false, Duration.ZERO).state());
        assertTrue(s.process().waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, s.process().exitValue(), read(dir.resolve("standby.err")));
        assertFalse(Files.exists(socket, LinkOption.NOFOLLOW_LINKS), "the moved socket is removed on exit");
        assertTrue(Files.readString(log).startsWith("Aether stub guest: hello from 64-bit long mode\r\n0123456789\r\n"), "the console log");
    }

    @Test
    void aStandbyHasLoadedTheRecordItsLaunchHandsOverBeforeItSaysItIsReady() throws Exception {
        MonitorProcesses.requireKvm();
        Path classLog = dir.resolve("classes.log");
        Path socket = dir.resolve("standby.sock");
        List<String> command = MonitorProcesses.command();
        command.add(1, "-Xlog:class+load=info:file=" + classLog);
        command.addAll(List.of("--standby", "--socket", socket.toString()));
        Process p = new ProcessBuilder(command).redirectError(dir.resolve("standby.err").toFile()).start();
        started.add(p.toHandle());
        awaitReadyLine(p, socket);
        // Loaded on the launch's path it was about 0.5 ms of the launch's answer.
        assertTrue(Files.readString(classLog).contains(" " + Standby.Launched.class.getName() + " source:"),
                "the standby loaded " + Standby.Launched.class.getName() + " while it warmed up");
    }

    /**
     * The descriptors of process {@code pid} that are KVM VMs ({@code vm}) or vCPUs, by number:
     * a standby holds one of each, its next VM's shell, while it waits (x86_64).
     */
    private static Set<Integer> kvmFds(long pid, String kind) throws IOException {
        Set<Integer> fds = new java.util.TreeSet<>();
        try (Stream<Path> all = Files.list(Path.of("/proc/" + pid + "/fd"))) {
            for (Path fd : all.toList()) {
                String target;
                try {
                    target = Files.readSymbolicLink(fd).toString();
                } catch (NoSuchFileException closed) {
                    continue;
                }
                if (target.startsWith("anon_inode:kvm-" + kind)) fds.add(Integer.parseInt(fd.getFileName().toString()));
            }
        }
        return fds;
    }

    /** Waits until {@code log} holds at least {@code bytes}. */
    private static void awaitBytes(Path log, long bytes) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Files.exists(log) || Files.size(log) < bytes) {
            assertTrue(System.nanoTime() < deadline, log + ": the guest printed " + (Files.exists(log) ? Files.size(log) : 0) + " bytes");
            Thread.sleep(5);
        }
    }

    @Test
    void aLaunchesVmIsBuiltOnTheShellTheStandbyMadeWhileWaiting() throws Exception {
        MonitorProcesses.requireKvm();
        Started s = standby(dir.resolve("standby.sock"));
        Set<Integer> vm = kvmFds(s.pid(), "vm");
        Set<Integer> vcpu = kvmFds(s.pid(), "vcpu");
        assertEquals(1, vm.size(), "a waiting standby holds its next VM's shell: " + vm);
        assertEquals(1, vcpu.size(), "and the shell's first vCPU: " + vcpu);
        MonitorClient standby = new MonitorClient(s.socket(), CLIENT_TIMEOUT);
        standby.launch(new ControlRequest.Launch(VmSpec.stub(VmSpec.StubProgram.COUNT), Optional.empty(), Optional.empty()));
        awaitRunning(standby);
        assertEquals(vm, kvmFds(s.pid(), "vm"), "the launched VM is the shell's KVM VM, and no other was made");
        assertEquals(vcpu, kvmFds(s.pid(), "vcpu"), "its vCPU is the shell's");
        assertEquals(VmState.STOPPED, standby.stop(false, Duration.ZERO).state());
        assertTrue(s.process().waitFor(30, TimeUnit.SECONDS));
    }

    @Test
    void aSnapshotRestoredInAStandbyIsBuiltOnItsShellAndCountsOn() throws Exception {
        MonitorProcesses.requireKvm();
        Started counting = standby(dir.resolve("counting.sock"));
        MonitorClient first = new MonitorClient(counting.socket(), CLIENT_TIMEOUT);
        Path counted = dir.resolve("counted.log");
        first.launch(new ControlRequest.Launch(VmSpec.stub(VmSpec.StubProgram.COUNT), Optional.of(counted), Optional.empty()));
        awaitRunning(first);
        // Past its greeting before the snapshot: a restored guest that printed it again would have started over.
        awaitBytes(counted, 200);
        Path snapshot = dir.resolve("snapshot");
        first.snapshot(snapshot, false, null);
        assertEquals(VmState.STOPPED, first.stop(false, Duration.ZERO).state());
        assertTrue(counting.process().waitFor(30, TimeUnit.SECONDS));

        Started s = standby(dir.resolve("standby.sock"));
        Set<Integer> vm = kvmFds(s.pid(), "vm");
        assertEquals(1, vm.size(), "a waiting standby holds its next VM's shell: " + vm);
        MonitorClient standby = new MonitorClient(s.socket(), CLIENT_TIMEOUT);
        Path log = dir.resolve("restored.log");
        assertEquals(VmState.RUNNING, standby.hand(new ControlRequest.Restore(snapshot, false, Optional.of(log), Optional.empty())).state());
        assertEquals(vm, kvmFds(s.pid(), "vm"), "the restored VM is the shell's KVM VM");
        awaitBytes(log, 200);
        String after = Files.readString(log, StandardCharsets.US_ASCII);
        assertFalse(after.startsWith("Aether stub guest"), "the restored guest counts on, it does not start again: " + after.substring(0, 40));
        assertTrue(after.chars().allMatch(c -> Character.isDigit(c) || c == '\r' || c == '\n'), after.substring(0, 40));
        assertEquals(VmState.STOPPED, standby.stop(false, Duration.ZERO).state());
        assertTrue(s.process().waitFor(30, TimeUnit.SECONDS));
    }

    /** The nice value of every thread of process {@code pid}, by thread id ({@code /proc/PID/task/TID/stat}, field 19). */
    private static Map<Integer, Integer> niceByThread(long pid) throws IOException {
        return niceByThread(pid, "");
    }

    /** As {@link #niceByThread(long)}, of the threads whose name starts with {@code namePrefix} (field 2, in parentheses). */
    private static Map<Integer, Integer> niceByThread(long pid, String namePrefix) throws IOException {
        Map<Integer, Integer> nice = new TreeMap<>();
        try (Stream<Path> tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
            for (Path task : tasks.toList()) {
                String stat;
                try {
                    stat = Files.readString(task.resolve("stat"));
                } catch (NoSuchFileException ended) {
                    continue;
                }
                if (!stat.substring(stat.indexOf('(') + 1).startsWith(namePrefix)) continue;
                // Fields after the command's closing parenthesis start at field 3 (the state).
                String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                nice.put(Integer.parseInt(task.getFileName().toString()), Integer.parseInt(fields[19 - 3]));
            }
        }
        return nice;
    }

    /**
     * A waiting standby's threads at {@code nice}, but for its control socket's acceptor at nice 0:
     * a launch's connection, whose thread inherits the acceptor's priority, is accepted and read
     * at the normal priority. Connections' threads that have not ended yet are left out, and so,
     * for up to 10 s, are other threads at nice 0: a thread that a refused launch's connection
     * started (at its priority) may still be ending when the answer comes (once in CI, under load).
     */
    private static void assertWaitingPriorities(long pid, int nice) throws IOException, InterruptedException {
        Map<Integer, Integer> acceptor = niceByThread(pid, "control-accept");
        assertEquals(1, acceptor.size(), "the control socket's acceptor: " + acceptor);
        assertEquals(Set.of(0), Set.copyOf(acceptor.values()), "the acceptor's priority");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        Map<Integer, Integer> others;
        while (true) {
            others = niceByThread(pid);
            others.keySet().removeAll(acceptor.keySet());
            others.keySet().removeAll(niceByThread(pid, "control-client").keySet());
            if (Set.copyOf(others.values()).equals(Set.of(nice)) || System.nanoTime() > deadline) break;
            Thread.sleep(20);
        }
        assertEquals(Set.of(nice), Set.copyOf(others.values()), "every other thread of the standby: " + others + " " + threadNames(pid, others.keySet()));
    }

    /** Each thread's name ({@code /proc/PID/task/TID/comm}), for a failure's message. */
    private static Map<Integer, String> threadNames(long pid, Set<Integer> tids) {
        Map<Integer, String> names = new TreeMap<>();
        for (int tid : tids) {
            try {
                names.put(tid, Files.readString(Path.of("/proc/" + pid + "/task/" + tid + "/comm")).strip());
            } catch (IOException ended) {
                names.put(tid, "(ended)");
            }
        }
        return names;
    }

    private static boolean privileged() throws IOException {
        String capEff = Files.readAllLines(Path.of("/proc/self/status")).stream().filter(l -> l.startsWith("CapEff:")).findFirst().orElseThrow();
        return (Long.parseUnsignedLong(capEff.substring(7).strip(), 16) & (1L << 23)) != 0;
    }

    @Test
    void aStandbyWaitsAtALowPriorityAndItsLaunchedVmRunsAtTheNormalOne() throws Exception {
        MonitorProcesses.requireKvm();
        Started s = standby(dir.resolve("standby.sock"));
        Map<Integer, Integer> waiting = niceByThread(s.pid());
        // Only a process that may raise its priority again lowers it (CAP_SYS_NICE: root here and in CI).
        int expected = privileged() ? 10 : 0;
        assertTrue(waiting.size() > 5, "the JVM's threads: " + waiting);
        assertWaitingPriorities(s.pid(), expected);

        Path socket = dir.resolve("vm.sock");
        MonitorClient standby = new MonitorClient(s.socket(), CLIENT_TIMEOUT);
        assertEquals(VmState.RUNNING, standby.launch(new ControlRequest.Launch(VmSpec.stub(VmSpec.StubProgram.COUNT), Optional.empty(), Optional.of(socket))).state());
        Map<Integer, Integer> launched = niceByThread(s.pid());
        assertTrue(launched.keySet().stream().anyMatch(t -> !waiting.containsKey(t)), "the VM's own threads are new: " + launched);
        // The vCPU runs at nice 0 from its start (it inherits the launching thread's); the others are raised just after the answer.
        // A new thread takes its name once it first runs: on a loaded host that can come after the answer.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        Map<Integer, Integer> vcpus = niceByThread(s.pid(), "vcpu-");
        while (vcpus.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(10);
            vcpus = niceByThread(s.pid(), "vcpu-");
        }
        assertEquals(Set.of(0), Set.copyOf(vcpus.values()), "the vCPU's thread once the launch is answered: " + vcpus);
        while (!Set.copyOf(launched.values()).equals(Set.of(0)) && System.nanoTime() < deadline) {
            Thread.sleep(10);
            launched = niceByThread(s.pid());
        }
        assertEquals(Set.of(0), Set.copyOf(launched.values()), "every thread once the VM runs: " + launched);
        assertEquals(VmState.STOPPED, new MonitorClient(socket, CLIENT_TIMEOUT).stop(false, Duration.ZERO).state());
        assertTrue(s.process().waitFor(30, TimeUnit.SECONDS));
    }

    @Test
    void aRefusedLaunchChangesNothingAndTheMonitorStaysOnStandby() throws Exception {
        MonitorProcesses.requireKvm();
        Started s = standby(dir.resolve("standby.sock"));
        MonitorClient standby = new MonitorClient(s.socket(), CLIENT_TIMEOUT);
        Path log = dir.resolve("console.log");
        VmSpec missingKernel = VmSpecJson.read("{\"boot\": {\"kernel\": \"" + dir.resolve("no-such-kernel") + "\"}, \"memory\": \"64M\"}");
        VmSpec stub = VmSpec.stub(VmSpec.StubProgram.COUNT);

        MonitorClient.RefusedException badSpec = assertThrows(MonitorClient.RefusedException.class,
                () -> standby.launch(new ControlRequest.Launch(missingKernel, Optional.of(log), Optional.empty())));
        assertEquals("bad_request", badSpec.code());
        assertTrue(badSpec.getMessage().startsWith("bad_request: spec.boot.kernel: "), badSpec.getMessage());
        Set<Integer> shell = kvmFds(s.pid(), "vm");
        assertEquals(1, shell.size(), "a spec refused before the VM's build leaves the shell: " + shell);
        MonitorClient.RefusedException badSocket = assertThrows(MonitorClient.RefusedException.class,
                () -> standby.launch(new ControlRequest.Launch(stub, Optional.of(log), Optional.of(dir.resolve("missing/monitor.sock")))));
        assertEquals("bad_request: socket: " + dir.resolve("missing/monitor.sock") + ": no such directory", badSocket.getMessage());
        // That launch's VM was built on the shell, then closed: the standby made the next launch's.
        assertEquals(1, kvmFds(s.pid(), "vm").size(), "a VM refused after its build leaves a new shell");
        Path file = Files.writeString(dir.resolve("taken"), "not a socket");
        assertEquals("bad_request: socket: " + file + ": exists and is not a socket", assertThrows(MonitorClient.RefusedException.class,
                () -> standby.launch(new ControlRequest.Launch(stub, Optional.empty(), Optional.of(file)))).getMessage());
        assertEquals("bad_request: consoleLog: " + dir + ": cannot open: " + dir + ": Is a directory", assertThrows(MonitorClient.RefusedException.class,
                () -> standby.launch(new ControlRequest.Launch(stub, Optional.of(dir), Optional.empty()))).getMessage());

        assertFalse(Files.exists(log), "a refused launch leaves no console log");
        assertEquals("not a socket", Files.readString(file));
        assertTrue(Files.exists(s.socket(), LinkOption.NOFOLLOW_LINKS));
        assertEquals(new ControlResponse.Standby(s.pid()), standby.call(new ControlRequest.State()), "still on standby");
        // A launch runs at nice 0 from its first step; a refused one leaves every thread as the standby waits.
        assertWaitingPriorities(s.pid(), privileged() ? StandbyPriority.STANDBY_NICE : 0);

        Set<Integer> next = kvmFds(s.pid(), "vm");
        assertEquals(s.pid(), standby.launch(new ControlRequest.Launch(stub, Optional.empty(), Optional.empty())).pid());
        awaitRunning(standby);
        assertEquals(next, kvmFds(s.pid(), "vm"), "the next launch's VM is the shell's");
        assertEquals(VmState.STOPPED, standby.stop(false, Duration.ZERO).state());
        assertTrue(s.process().waitFor(30, TimeUnit.SECONDS));
    }

    @Test
    void aHandoverAwaitingItsGoIsPreparedBeforeItsFolderExistsAndRunsOnItsGo() throws Exception {
        MonitorProcesses.requireKvm();
        Started s = standby(dir.resolve("standby.sock"));
        MonitorClient standby = new MonitorClient(s.socket(), CLIENT_TIMEOUT);
        // The VM's folder does not exist yet: the standby must not touch it before the go.
        Path vmDir = dir.resolve("vm-1");
        Path socket = vmDir.resolve("monitor.sock");
        Path log = vmDir.resolve("console.log");
        MonitorClient.Prepared prepared = standby.prepare(new ControlRequest.Launch(VmSpec.stub(VmSpec.StubProgram.COUNT), Optional.of(log), Optional.of(socket)));
        Thread.sleep(300); // time to prepare: a launch that opened its log first is refused by now
        Files.createDirectory(vmDir);
        ControlResponse.Status launched = prepared.go();
        assertEquals(VmState.RUNNING, launched.state());
        assertEquals(s.pid(), launched.pid());
        assertFalse(Files.exists(s.socket(), LinkOption.NOFOLLOW_LINKS), "the socket moved");
        MonitorClient vm = new MonitorClient(socket, CLIENT_TIMEOUT);
        try (MonitorClient.Console console = vm.attachConsole(true)) {
            String expected = "Aether stub guest: hello from 64-bit long mode\r\n0123456789\r\n";
            assertEquals(expected, new String(console.output().readNBytes(expected.length()), StandardCharsets.US_ASCII));
        }
        assertEquals(VmState.STOPPED, vm.stop(false, Duration.ZERO).state());
        assertTrue(s.process().waitFor(30, TimeUnit.SECONDS));
        assertTrue(Files.readString(log).startsWith("Aether stub guest: hello from 64-bit long mode\r\n"), "the console log");
    }

    @Test
    void aHandoverGivenUpBeforeItsGoIsUndoneAndTheStandbyWaitsOn() throws Exception {
        MonitorProcesses.requireKvm();
        Started s = standby(dir.resolve("standby.sock"));
        MonitorClient standby = new MonitorClient(s.socket(), CLIENT_TIMEOUT);
        Path vmDir = Files.createDirectory(dir.resolve("vm-1"));
        VmSpec stub = VmSpec.stub(VmSpec.StubProgram.COUNT);
        ControlRequest.Launch launch = new ControlRequest.Launch(stub, Optional.of(vmDir.resolve("console.log")), Optional.of(vmDir.resolve("monitor.sock")));

        // Given up by closing the connection: the VM built on the shell goes, a new shell is made.
        standby.prepare(launch).close();
        assertEquals(new ControlResponse.Standby(s.pid()), standby.call(new ControlRequest.State()), "still on standby");
        // Given up by sending something else: refused, and nothing of the VM is left.
        try (java.nio.channels.SocketChannel raw = java.nio.channels.SocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
            raw.connect(java.net.UnixDomainSocketAddress.of(s.socket()));
            raw.write(java.nio.ByteBuffer.wrap((io.aether.monitorapi.ControlCodec.write(launch.awaitingGo()) + "{\"op\":\"state\"}\n")
                    .getBytes(StandardCharsets.UTF_8)));
            String answer = new BufferedReader(new InputStreamReader(java.nio.channels.Channels.newInputStream(raw), StandardCharsets.UTF_8)).readLine();
            assertEquals("{\"error\":\"conflict\",\"message\":\"the launch was given up before its go\"}", answer);
        }
        assertFalse(Files.exists(vmDir.resolve("console.log")), "no console log was made");
        assertFalse(Files.exists(vmDir.resolve("monitor.sock"), LinkOption.NOFOLLOW_LINKS), "the socket did not move");
        // A go on a connection of its own is refused.
        assertEquals(new ControlResponse.Refused("bad_request", "op: go is sent on a handover's connection, after it"),
                standby.call(new ControlRequest.Go()));
        // A handover refused while it is prepared is answered on its go; the standby waits on.
        VmSpec missingKernel = VmSpecJson.read("{\"boot\": {\"kernel\": \"" + dir.resolve("no-such-kernel") + "\"}, \"memory\": \"64M\"}");
        MonitorClient.Prepared bad = standby.prepare(new ControlRequest.Launch(missingKernel, Optional.empty(), Optional.empty()));
        MonitorClient.RefusedException refused = assertThrows(MonitorClient.RefusedException.class, bad::go);
        assertTrue(refused.getMessage().startsWith("bad_request: spec.boot.kernel: "), refused.getMessage());

        MonitorClient.Prepared good = standby.prepare(launch);
        assertEquals(VmState.RUNNING, good.go().state(), "the standby still takes a launch");
        MonitorClient vm = new MonitorClient(vmDir.resolve("monitor.sock"), CLIENT_TIMEOUT);
        assertEquals(VmState.STOPPED, vm.stop(false, Duration.ZERO).state());
        assertTrue(s.process().waitFor(30, TimeUnit.SECONDS));
    }

    @Test
    void aStandbyWhoseParentDiesExitsAndRemovesItsSocket() throws Exception {
        MonitorProcesses.requireKvm();
        Path socket = dir.resolve("standby.sock");
        List<String> command = MonitorProcesses.command();
        command.addAll(List.of("--standby", "--socket", socket.toString()));
        // The shell is the standby's parent; the standby's ready line comes through the shell's stdout pipe.
        Process parent = new ProcessBuilder("sh", "-c", String.join(" ", command.stream().map(a -> "'" + a + "'").toList()) + " & wait")
                .redirectError(dir.resolve("standby.err").toFile()).start();
        started.add(parent.toHandle());
        String line = new BufferedReader(new InputStreamReader(parent.getInputStream(), StandardCharsets.UTF_8)).readLine();
        assertTrue(line != null && line.startsWith("standby "), line + " / " + read(dir.resolve("standby.err")));
        ProcessHandle standby = ProcessHandle.of(Long.parseLong(line.split(" ")[1])).orElseThrow();
        started.add(standby);
        assertEquals(parent.pid(), standby.parent().map(ProcessHandle::pid).orElse(-1L));

        parent.destroyForcibly();
        // It notices within 100 ms; the margin is for a loaded machine.
        assertTrue(standby.onExit().get(60, TimeUnit.SECONDS) != null, "the orphaned standby exits");
        assertFalse(Files.exists(socket, LinkOption.NOFOLLOW_LINKS), "and removes its socket");
    }
}
