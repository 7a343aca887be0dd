package io.aether.cli;

import io.aether.testkit.Prerequisites;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.arch.x86_64.StubGuest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code aether vm run} as a user runs it: a separate process, its exit status, its console on
 * standard input and output, signals, and (through {@code script}) a real terminal.
 */
@Timeout(300)
class VmRunCommandTest {

    private static final String JAVA = Path.of(System.getProperty("java.home"), "bin", "java").toString();

    static void requireKvm() {
        Prerequisites.requireKvm();
    }

    static List<String> aether(String... args) {
        List<String> command = new ArrayList<>(List.of(JAVA, "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        command.addAll(List.of(args));
        return command;
    }

    record Result(int status, String out, String err) {
    }

    static Result run(byte[] input, List<String> command) throws Exception {
        Process p = new ProcessBuilder(command).start();
        try (OutputStream in = p.getOutputStream()) {
            in.write(input);
        }
        var out = new ByteArrayOutputStream();
        var err = new ByteArrayOutputStream();
        Thread t1 = Thread.ofVirtual().start(() -> copy(p.getInputStream(), out));
        Thread t2 = Thread.ofVirtual().start(() -> copy(p.getErrorStream(), err));
        // Generous: in the nested test host a JVM's start alone may take tens of seconds.
        assertTrue(p.waitFor(180, TimeUnit.SECONDS), "aether did not exit");
        t1.join();
        t2.join();
        return new Result(p.exitValue(), out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static void copy(InputStream in, ByteArrayOutputStream out) {
        try {
            in.transferTo(out);
        } catch (IOException e) {
            // the process ended
        }
    }

    @Test
    void theStubGuestPrintsItsLineAndTheMonitorExitsWithZero() throws Exception {
        requireKvm();
        Result r = run(new byte[0], aether("vm", "run", "--stub"));
        assertEquals(0, r.status(), r.err());
        assertEquals(StubGuest.MESSAGE, r.out());
        assertEquals("", r.err());
    }

    @Test
    void badArgumentsFailWithOneLineNamingTheOptionAndStatusTwo() throws Exception {
        Path notAKernelDir = Files.createTempDirectory("aether-test");
        // Any regular file passes --kernel's own check: the errors asked for here come before it is read.
        String file = Files.createTempFile(notAKernelDir, "kernel", "").toString();
        String[][] cases = {
            {"--kernel", "/nonexistent/vmlinuz", "--kernel: no such file: /nonexistent/vmlinuz"},
            {"--kernel", file, "--mem", "lots", "--mem: not a size: 'lots' (expected e.g. 512M, 2G or a number of bytes)"},
            {"--kernel", file, "--mem", "1M", "--mem: 1M is too small (at least 16M)"},
            {"--kernel", file, "--vcpus", "100000", "--vcpus: 100000 is out of range (1 to "},
            {"--kernel", file, "--disk", "/nonexistent.img", "--disk: no such file: /nonexistent.img"},
            {"--kernel", notAKernelDir.toString(), "--kernel: not a regular file: " + notAKernelDir},
            {"--stub=nope", "--stub: 'nope' is not hello, echo, count, crash, keyboard or hypercall"},
            {"--kernel is required (or --stub for the built-in guest)"},
            {"--kernal", file, "unknown option '--kernal' (see 'aether vm run --help')"},
            {"--kernel", file, "--mem", "--mem needs a value"},
        };
        for (String[] c : cases) {
            String expected = c[c.length - 1];
            List<String> args = new ArrayList<>(List.of("vm", "run"));
            args.addAll(List.of(c).subList(0, c.length - 1));
            Result r = run(new byte[0], aether(args.toArray(String[]::new)));
            assertEquals(2, r.status(), String.join(" ", args) + ": " + r.err());
            assertEquals(1, r.err().lines().count(), "one line: " + r.err());
            assertTrue(r.err().startsWith("aether vm run: " + expected), r.err());
            assertEquals("", r.out());
        }
    }

    @Test
    void helpTeachesEveryOptionAndStartsNothing() throws Exception {
        for (List<String> asked : List.of(List.of("vm", "run", "--help"), List.of("help", "vm", "run"))) {
            Result r = run(new byte[0], aether(asked.toArray(String[]::new)));
            assertEquals(0, r.status(), r.err());
            assertEquals(VmRunCommand.HELP, r.out());
            assertEquals("", r.err());
        }
        Result group = run(new byte[0], aether("vm", "--help"));
        assertEquals(0, group.status(), group.err());
        assertTrue(group.out().matches("(?s).*\\n  run +Boot a microVM.*"), group.out());
    }

    @Test
    void aTripleFaultEndsWithStatusThreeAndAClearMessage() throws Exception {
        requireKvm();
        Result r = run(new byte[0], aether("vm", "run", "--stub=crash"));
        assertEquals(3, r.status());
        assertTrue(r.err().contains("aether: guest crashed on vCPU 0: "), r.err());
    }

    @Test
    void traceExitsPrintsEveryExitDecodedOnStandardError() throws Exception {
        requireKvm();
        Result r = run(new byte[0], aether("vm", "run", "--stub", "--trace-exits"));
        assertEquals(0, r.status());
        List<String> lines = r.err().lines().toList();
        assertEquals(StubGuest.MESSAGE.length(), lines.stream().filter(l -> l.startsWith("[vcpu 0] IO_OUT port=0x03f8 size=1 count=1 data=")).count());
        assertTrue(lines.contains("[vcpu 0] HLT"), r.err());
    }

    @Test
    void sigtermStopsARunningVmCleanly() throws Exception {
        requireKvm();
        Process p = new ProcessBuilder(aether("vm", "run", "--stub=echo")).start();
        var out = new ByteArrayOutputStream();
        var err = new ByteArrayOutputStream();
        Thread t1 = Thread.ofVirtual().start(() -> copy(p.getInputStream(), out));
        Thread t2 = Thread.ofVirtual().start(() -> copy(p.getErrorStream(), err));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!out.toString(StandardCharsets.US_ASCII).contains(StubGuest.MESSAGE) && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertTrue(p.isAlive(), "the echo guest runs until told otherwise");
        // SIGTERM through the handle: Process.destroy() would also close our ends of its pipes.
        p.toHandle().destroy();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "SIGTERM must stop the monitor");
        t1.join();
        t2.join();
        String diagnostics = "stdout: " + out.toString(StandardCharsets.UTF_8) + "\nstderr: " + err.toString(StandardCharsets.UTF_8);
        assertEquals(143, p.exitValue(), diagnostics);
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("aether: stopped by signal"), diagnostics);
    }

    @Test
    void onATerminalKeysGoRawToTheGuestAndCtrlAXStopsTheVm() throws Exception {
        requireKvm();
        // util-linux's script gives the monitor a pseudo-terminal: raw mode and the Ctrl-A escape apply.
        String command = String.join(" ", aether("vm", "run", "--stub=echo").stream().map(a -> "'" + a + "'").toList());
        List<String> scripted = List.of("script", "-qefc", command, "/dev/null");
        Process p = new ProcessBuilder(scripted).redirectErrorStream(true).start();
        var out = new ByteArrayOutputStream();
        Thread reader = Thread.ofVirtual().start(() -> copy(p.getInputStream(), out));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!out.toString(StandardCharsets.US_ASCII).contains(StubGuest.MESSAGE.strip()) && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        OutputStream keys = p.getOutputStream();
        keys.write("raw\u0003keys".getBytes(StandardCharsets.US_ASCII)); // Ctrl-C goes to the guest, not to the monitor
        keys.flush();
        deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!out.toString(StandardCharsets.US_ASCII).contains("keys") && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        keys.write(new byte[] {0x01, 'x'});
        keys.flush();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "Ctrl-A x must stop the VM");
        reader.join();
        String transcript = out.toString(StandardCharsets.US_ASCII);
        assertEquals(0, p.exitValue(), transcript);
        assertTrue(transcript.contains("raw\u0003keys"), "echoed by the guest, Ctrl-C included: " + transcript);
        assertTrue(transcript.contains("aether: stopped by Ctrl-A x"), transcript);
    }
}
