package io.aether.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.arch.x86_64.StubGuest;
import io.aether.monitor.MonitorCommand;
import io.aether.monitorapi.ControlCodec;
import io.aether.monitorapi.ControlResponse;
import io.aether.monitorapi.MonitorClient;
import io.aether.monitorapi.VmState;
import io.aether.vmm.KvmHost;
import io.aether.vmspec.VmSpec;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code aether vm monitor} as real processes on this host's KVM, driven through the control socket. */
@Timeout(120)
class VmMonitorTest {

    private static final Duration CLIENT_TIMEOUT = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    /** Monitors a test started, stopped at the end whatever happened. */
    private final List<ProcessHandle> started = new java.util.ArrayList<>();

    @AfterEach
    void killLeftovers() {
        for (ProcessHandle p : started) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
    }

    private Path spec(String json) throws IOException {
        return Files.writeString(dir.resolve("spec.json"), json);
    }

    private Process monitor(Path spec, Path socket, String... more) throws IOException {
        List<String> args = new java.util.ArrayList<>(List.of("vm", "monitor", "--spec", spec.toString(), "--socket", socket.toString()));
        args.addAll(List.of(more));
        Process p = new ProcessBuilder(VmRunCommandTest.aether(args.toArray(String[]::new)))
                .redirectErrorStream(true).redirectOutput(dir.resolve("monitor.out").toFile()).start();
        started.add(p.toHandle());
        return p;
    }

    private String monitorOutput() throws IOException {
        return Files.readString(dir.resolve("monitor.out"));
    }

    /** Waits until the monitor answers on {@code socket} and its VM runs (it answers CREATED while it builds the VM). */
    static MonitorClient awaitMonitor(Path socket) throws Exception {
        MonitorClient client = new MonitorClient(socket, CLIENT_TIMEOUT);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        String last = "no answer";
        while (true) {
            try {
                VmState state = client.state().state();
                if (state == VmState.RUNNING) return client;
                assertEquals(VmState.CREATED, state);
                last = "CREATED";
            } catch (IOException e) {
                last = e.getMessage();
            }
            assertTrue(System.nanoTime() < deadline, "no running VM on " + socket + ": " + last);
            Thread.sleep(20);
        }
    }

    static long consoleBytes(MonitorClient client) throws IOException {
        return client.metrics().get("monitor.consoleBytes");
    }

    /** Waits until the console has grown by at least {@code bytes} since {@code from}. */
    static long awaitConsoleGrowth(MonitorClient client, long from, long bytes) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        long now;
        while ((now = consoleBytes(client)) < from + bytes) {
            assertTrue(System.nanoTime() < deadline, "the console stayed at " + now + " bytes");
            Thread.sleep(20);
        }
        return now;
    }

    private static String raw(Path socket, String request) throws IOException {
        try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            channel.connect(UnixDomainSocketAddress.of(socket));
            channel.write(ByteBuffer.wrap(request.getBytes(StandardCharsets.UTF_8)));
            return new String(Channels.newInputStream(channel).readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void aCountingGuestIsQueriedPausedResumedAndStoppedThroughItsSocket() throws Exception {
        VmRunCommandTest.requireKvm();
        Path socket = dir.resolve("vm.sock");
        Process p = monitor(spec("{\"boot\": {\"stub\": \"count\"}}"), socket);
        MonitorClient client = awaitMonitor(socket);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket, LinkOption.NOFOLLOW_LINKS)));

        ControlResponse.Status status = client.state();
        assertEquals(VmState.RUNNING, status.state());
        assertEquals(Optional.empty(), status.reason());
        assertEquals(p.pid(), status.pid());
        assertEquals(new VmSpec.Boot.Stub(VmSpec.StubProgram.COUNT), status.spec().boot());

        long before = awaitConsoleGrowth(client, 0, 1000);
        try (MonitorClient.Console console = client.attachConsole(true)) {
            // The guest printed less than the ring holds, so the replay starts at its first byte.
            String expected = StubGuest.MESSAGE + StubGuest.COUNT_LINE + StubGuest.COUNT_LINE;
            assertEquals(expected, new String(console.output().readNBytes(expected.length()), StandardCharsets.US_ASCII));
        }
        try (MonitorClient.Console console = client.attachConsole(false)) {
            // Without replay the stream starts at what the guest prints next: somewhere in a count line.
            String live = new String(console.output().readNBytes(4 * StubGuest.COUNT_LINE.length()), StandardCharsets.US_ASCII);
            assertTrue(live.contains(StubGuest.COUNT_LINE) && !live.contains("hello"), live);
        }

        assertEquals(VmState.PAUSED, client.pause().state());
        Thread.sleep(200); // the console's line buffer flushes within 10 ms
        long paused = consoleBytes(client);
        assertTrue(paused >= before);
        Thread.sleep(500);
        assertEquals(paused, consoleBytes(client), "a paused guest prints nothing");
        assertEquals(VmState.PAUSED, client.state().state());
        MonitorClient.RefusedException twice = assertThrows(MonitorClient.RefusedException.class, client::pause);
        assertEquals("conflict", twice.code());
        assertEquals("conflict: cannot pause: the VM is paused", twice.getMessage());

        assertEquals(VmState.RUNNING, client.resume().state());
        awaitConsoleGrowth(client, paused, 1000);
        assertEquals(1, client.metrics().get("monitor.pauses"));

        assertTrue(raw(socket, "{\"op\": \"reboot\"}\n").startsWith("{\"error\":\"bad_request\",\"message\":\"op: unknown operation 'reboot'"));
        assertTrue(raw(socket, "x".repeat(ControlCodec.MAX_REQUEST_LINE + 1) + "\n").startsWith(
                "{\"error\":\"bad_request\",\"message\":\"request: a line longer than " + ControlCodec.MAX_REQUEST_LINE + " bytes\"}"));
        assertEquals(VmState.RUNNING, client.state().state(), "bad requests change nothing");

        ControlResponse.Status last = client.stop(false, Duration.ZERO);
        assertEquals(VmState.STOPPED, last.state());
        assertEquals(Optional.of("stopped by control socket"), last.reason());
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the monitor exits once its VM stopped");
        assertEquals(0, p.exitValue(), monitorOutput());
        assertFalse(Files.exists(socket, LinkOption.NOFOLLOW_LINKS), "the socket is removed on exit");
        assertThrows(IOException.class, client::state);
    }

    @Test
    void aGracefulStopTypesCtrlAltDelAndTheGuestsResetEndsTheVmEvenWhenRebootsRestart() throws Exception {
        VmRunCommandTest.requireKvm();
        Path socket = dir.resolve("vm.sock");
        Process p = monitor(spec("{\"boot\": {\"stub\": \"keyboard\"}, \"onReboot\": \"restart\"}"), socket);
        MonitorClient client = awaitMonitor(socket);
        // The stub polls the keyboard and resets only on Ctrl-Alt-Del: it runs until asked.
        awaitConsoleGrowth(client, 0, StubGuest.MESSAGE.length());
        Thread.sleep(200);
        assertEquals(VmState.RUNNING, client.state().state());

        ControlResponse.Status last = client.stop(true, Duration.ofSeconds(20));
        assertEquals(VmState.STOPPED, last.state());
        assertEquals(Optional.of("guest rebooted"), last.reason());
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the monitor exits once its VM stopped");
        assertEquals(0, p.exitValue(), monitorOutput());
    }

    @Test
    void aGuestThatIgnoresCtrlAltDelIsStoppedWhenTheTimeoutEnds() throws Exception {
        VmRunCommandTest.requireKvm();
        Path socket = dir.resolve("vm.sock");
        Process p = monitor(spec("{\"boot\": {\"stub\": \"count\"}}"), socket);
        MonitorClient client = awaitMonitor(socket);

        assertEquals(VmState.PAUSED, client.pause().state());
        MonitorClient.RefusedException paused = assertThrows(MonitorClient.RefusedException.class, () -> client.stop(true, Duration.ofSeconds(1)));
        assertEquals("conflict: cannot ask the guest to shut down: the VM is paused", paused.getMessage());
        assertEquals(VmState.PAUSED, client.state().state(), "the refused stop changed nothing");
        assertEquals(0, client.metrics().get("i8042.ctrlAltDels"));
        assertEquals(VmState.RUNNING, client.resume().state());

        long start = System.nanoTime();
        ControlResponse.Status last = client.stop(true, Duration.ofMillis(700));
        long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertEquals(VmState.STOPPED, last.state());
        assertEquals(Optional.of("stopped by control socket: the guest did not shut down within 700 ms of Ctrl-Alt-Del"), last.reason());
        assertTrue(tookMillis >= 700, "forced after the timeout, not before: " + tookMillis + " ms");
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), monitorOutput());
    }

    @Test
    void theMonitorKeepsServingWhenTheProcessThatStartedItIsKilled() throws Exception {
        VmRunCommandTest.requireKvm();
        Path socket = dir.resolve("vm.sock");
        Path spec = spec("{\"boot\": {\"stub\": \"count\"}, \"memory\": \"16M\"}");
        String command = String.join(" ", VmRunCommandTest.aether("vm", "monitor", "--spec", spec.toString(), "--socket", socket.toString())
                .stream().map(a -> "'" + a + "'").toList());
        // The parent shares its stdin and stdout pipes with the monitor; both end with it.
        Process parent = new ProcessBuilder("sh", "-c", command + " & wait").start();
        started.add(parent.toHandle());
        MonitorClient client = awaitMonitor(socket);
        long pid = client.state().pid();
        ProcessHandle monitor = ProcessHandle.of(pid).orElseThrow();
        started.add(monitor);
        assertTrue(monitor.parent().map(ProcessHandle::pid).orElse(-1L) == parent.pid(), "the shell started the monitor");
        assertTrue(sessionOf(pid) != sessionOf(parent.pid()), "the monitor left its parent's session");

        parent.destroyForcibly(); // SIGKILL: the monitor's parent vanishes without a word
        assertTrue(parent.waitFor(30, TimeUnit.SECONDS));
        parent.getOutputStream().close();
        Thread.sleep(300);

        assertTrue(monitor.isAlive(), "the monitor outlives its parent");
        assertEquals(VmState.RUNNING, client.state().state());
        long now = consoleBytes(client);
        awaitConsoleGrowth(client, now, 1000);
        assertEquals(VmState.PAUSED, client.pause().state());
        assertEquals(VmState.RUNNING, client.resume().state());
        assertEquals(VmState.STOPPED, client.stop(false, Duration.ZERO).state());
        assertTrue(monitor.onExit().get(30, TimeUnit.SECONDS) != null);
        assertFalse(Files.exists(socket, LinkOption.NOFOLLOW_LINKS));
    }

    @Test
    void sigtermStopsTheVmRemovesTheSocketAndExitsWith143() throws Exception {
        VmRunCommandTest.requireKvm();
        Path socket = dir.resolve("vm.sock");
        Process p = monitor(spec("{\"boot\": {\"stub\": \"count\"}}"), socket);
        awaitMonitor(socket);
        p.toHandle().destroy(); // SIGTERM
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "SIGTERM must stop the monitor");
        assertEquals(143, p.exitValue(), monitorOutput());
        assertFalse(Files.exists(socket, LinkOption.NOFOLLOW_LINKS), "the socket is removed before the JVM exits");
    }

    /** The session id, field 6 of /proc/PID/stat (after the command name in parentheses). */
    private static long sessionOf(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(fields[3]);
    }

    @Test
    void theMonitorExitsWithVmRunsStatusesAndRemovesItsSocket() throws Exception {
        VmRunCommandTest.requireKvm();
        Path socket = dir.resolve("vm.sock");
        Path log = dir.resolve("console.log");
        Process hello = monitor(spec("{\"boot\": {\"stub\": \"hello\"}}"), socket, "--console-log", log.toString());
        assertTrue(hello.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, hello.exitValue(), monitorOutput());
        assertEquals(StubGuest.MESSAGE, Files.readString(log), "the console log has the guest's output");
        assertEquals("", monitorOutput(), "a guest that halts is no failure: nothing on stderr");
        assertFalse(Files.exists(socket, LinkOption.NOFOLLOW_LINKS));

        Process crash = monitor(spec("{\"boot\": {\"stub\": \"crash\"}}"), socket);
        assertTrue(crash.waitFor(60, TimeUnit.SECONDS));
        assertEquals(3, crash.exitValue(), monitorOutput());
        assertTrue(monitorOutput().contains("aether: guest crashed on vCPU 0: "), monitorOutput());
        assertFalse(Files.exists(socket, LinkOption.NOFOLLOW_LINKS));
    }

    @Test
    void aBadSpecIsRefusedNamingTheFieldAndNothingStarts() throws Exception {
        Path socket = dir.resolve("vm.sock");
        String[][] cases = {
            {"{\"boot\": {\"stub\": \"count\"}, \"memory\": \"8M\"}", "memory: 8M is too small (at least 16M)"},
            {"{\"boot\": {\"stub\": \"count\"}, \"memroy\": \"32M\"}", "memroy: unknown field (known: boot, memory, vcpus, disks, nics, onReboot)"},
            {"{\"boot\": {\"kernel\": \"/nonexistent/vmlinuz\"}}", "boot.kernel: no such file: /nonexistent/vmlinuz"},
            {"{\"boot\": {\"stub\": \"count\"}, \"vcpus\": \"two\"}", "vcpus: expected a whole number, got a string"},
        };
        for (String[] c : cases) {
            Path spec = spec(c[0]);
            Process p = monitor(spec, socket);
            assertTrue(p.waitFor(60, TimeUnit.SECONDS));
            String out = monitorOutput();
            assertEquals(2, p.exitValue(), out);
            assertEquals("aether vm monitor: " + spec + ": " + c[1] + "\n", out);
            assertFalse(Files.exists(socket, LinkOption.NOFOLLOW_LINKS), "nothing was started");
        }
        Path large = Files.writeString(dir.resolve("large.json"), "{\"boot\": {\"stub\": \"count\"}}" + " ".repeat(70_000));
        Process tooLarge = monitor(large, socket);
        assertTrue(tooLarge.waitFor(60, TimeUnit.SECONDS));
        assertEquals(2, tooLarge.exitValue());
        assertEquals("aether vm monitor: " + large + ": spec: more than a spec may have (65536 bytes)\n", monitorOutput());
        Process missing = monitor(dir.resolve("absent.json"), socket);
        assertTrue(missing.waitFor(60, TimeUnit.SECONDS));
        assertEquals(2, missing.exitValue());
        assertEquals("aether vm monitor: " + dir.resolve("absent.json") + ": no such file\n", monitorOutput());
    }

    @Test
    void aSocketAnotherMonitorServesIsLeftAlone() throws Exception {
        VmRunCommandTest.requireKvm();
        Path socket = dir.resolve("vm.sock");
        Process first = monitor(spec("{\"boot\": {\"stub\": \"count\"}}"), socket);
        MonitorClient client = awaitMonitor(socket);
        Process second = new ProcessBuilder(VmRunCommandTest.aether("vm", "monitor", "--spec", dir.resolve("spec.json").toString(),
                "--socket", socket.toString())).redirectErrorStream(true).start();
        started.add(second.toHandle());
        assertTrue(second.waitFor(60, TimeUnit.SECONDS));
        String out = new String(second.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(2, second.exitValue(), out);
        assertEquals("aether vm monitor: --socket " + socket + ": another monitor answers on this socket\n", out);
        assertEquals(first.pid(), client.state().pid(), "the first monitor still serves its socket");
        client.stop(false, Duration.ZERO);
        assertTrue(first.waitFor(30, TimeUnit.SECONDS));
    }

    @Test
    void aLinuxKernelOnAPvmHostIsRefusedAtOnceWithWhatToDoInstead() throws Exception {
        Optional<String> why = KvmHost.whyNoLinux(Path.of("/"));
        Assumptions.assumeTrue(why.isPresent(), "this host's KVM boots Linux");
        Path kernel = Files.write(dir.resolve("vmlinuz"), new byte[4096]);
        long start = System.nanoTime();
        VmRunCommandTest.Result run = VmRunCommandTest.run(new byte[0], VmRunCommandTest.aether("vm", "run", "--kernel", kernel.toString()));
        assertEquals(4, run.status(), run.err());
        assertEquals("aether vm run: " + why.get() + "\n", run.err());
        assertEquals("", run.out());

        Path spec = spec("{\"boot\": {\"kernel\": \"" + kernel + "\"}}");
        Process p = monitor(spec, dir.resolve("vm.sock"));
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(4, p.exitValue());
        assertEquals("aether vm monitor: " + why.get() + "\n", monitorOutput());
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(30), "refused up front, not after minutes of emulation");
    }

    @Test
    void helpTeachesTheMonitorAndStartsNothing() throws Exception {
        VmRunCommandTest.Result r = VmRunCommandTest.run(new byte[0], VmRunCommandTest.aether("vm", "monitor", "--help"));
        assertEquals(0, r.status(), r.err());
        assertEquals(MonitorCommand.HELP, r.out());
        VmRunCommandTest.Result group = VmRunCommandTest.run(new byte[0], VmRunCommandTest.aether("vm", "--help"));
        assertTrue(group.out().matches("(?s).*\\n  monitor +Run a microVM in the background.*"), group.out());
        VmRunCommandTest.Result bad = VmRunCommandTest.run(new byte[0], VmRunCommandTest.aether("vm", "monitor", "--spec", "x.json"));
        assertEquals(2, bad.status());
        assertEquals("aether vm monitor: --socket is required\n", bad.err());
    }
}
