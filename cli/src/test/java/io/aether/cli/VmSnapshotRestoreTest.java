package io.aether.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.arch.x86_64.StubGuest;
import io.aether.monitorapi.ControlResponse;
import io.aether.monitorapi.MonitorClient;
import io.aether.monitorapi.VmState;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A VM snapshotted through its monitor's socket and restored by {@code aether vm monitor --restore} in new processes. */
@Timeout(180)
class VmSnapshotRestoreTest {

    private static final Duration CLIENT_TIMEOUT = Duration.ofSeconds(10);
    private static final long MEMORY = 256L << 20;

    @TempDir
    Path dir;

    private final List<ProcessHandle> started = new ArrayList<>();

    @AfterEach
    void killLeftovers() throws IOException {
        for (ProcessHandle p : started) p.destroyForcibly();
        // What each monitor printed, for the report of a failure (its files go with the test's folder).
        try (var outputs = Files.list(dir)) {
            for (Path out : outputs.filter(f -> f.toString().endsWith(".out")).sorted().toList()) {
                System.out.println("== " + out.getFileName() + " ==\n" + Files.readString(out));
            }
        }
    }

    private Process monitor(String name, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of("vm", "monitor"));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(VmRunCommandTest.aether(command.toArray(String[]::new)))
                .redirectErrorStream(true).redirectOutput(dir.resolve(name + ".out").toFile()).start();
        started.add(p.toHandle());
        return p;
    }

    private String output(String name) throws IOException {
        return Files.readString(dir.resolve(name + ".out"));
    }

    /** Waits until the monitor on {@code socket} answers with its VM in {@code state}. */
    private static MonitorClient await(Path socket, VmState state) throws Exception {
        MonitorClient client = new MonitorClient(socket, CLIENT_TIMEOUT);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        String last = "no answer";
        while (System.nanoTime() < deadline) {
            try {
                VmState now = client.state().state();
                if (now == state) return client;
                last = now.toString();
            } catch (IOException e) {
                last = e.getMessage();
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no " + state + " VM on " + socket + ": " + last);
    }

    private static long awaitConsole(MonitorClient client, long bytes) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        long now;
        while ((now = client.metrics().get("monitor.consoleBytes")) < bytes) {
            assertTrue(System.nanoTime() < deadline, "the console stayed at " + now + " bytes");
            Thread.sleep(20);
        }
        return now;
    }

    private static void stop(MonitorClient client, Process p) throws Exception {
        assertEquals(VmState.STOPPED, client.stop(false, Duration.ZERO).state());
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the monitor exits once its VM stopped");
    }

    /** The resident and total kilobytes of {@code pid}'s mappings of {@code file}, from /proc/PID/smaps. */
    private static long[] mapped(long pid, Path file) throws IOException {
        long rss = 0;
        long size = 0;
        boolean inFile = false;
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/smaps"))) {
            if (line.matches("^[0-9a-f]+-[0-9a-f]+ .*")) {
                inFile = line.endsWith(" " + file);
            } else if (inFile && line.startsWith("Rss:")) {
                rss += Long.parseLong(line.replaceAll("[^0-9]", ""));
            } else if (inFile && line.startsWith("Size:")) {
                size += Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return new long[] {rss, size};
    }

    static void assertCountedInOrder(String output) {
        String greeting = StubGuest.MESSAGE;
        String line = StubGuest.COUNT_LINE;
        for (int i = 0; i < output.length(); i++) {
            char expected = i < greeting.length() ? greeting.charAt(i) : line.charAt((i - greeting.length()) % line.length());
            if (output.charAt(i) != expected) throw new AssertionError("byte " + i + " is '" + output.charAt(i) + "', not '" + expected + "'");
        }
    }

    @Test
    void aCountingGuestRestoredInANewMonitorCountsOnWithItsMemoryMappedNotCopied() throws Exception {
        VmRunCommandTest.requireKvm();
        Path spec = Files.writeString(dir.resolve("spec.json"), "{\"boot\": {\"stub\": \"count\"}, \"memory\": \"256M\"}");
        Path snapshot = dir.resolve("snap");
        Path firstLog = dir.resolve("first.log");
        Path firstSocket = dir.resolve("first.sock");
        Process first = monitor("first", "--spec", spec.toString(), "--socket", firstSocket.toString(), "--console-log", firstLog.toString());
        MonitorClient client = await(firstSocket, VmState.RUNNING);
        awaitConsole(client, 2000);
        List<ControlResponse.Progress> progress = new ArrayList<>();
        ControlResponse.SnapshotTaken taken = client.snapshot(snapshot, false, progress::add);
        assertEquals(MEMORY, taken.memoryBytes());
        assertEquals(MEMORY, Files.size(snapshot.resolve("memory")));
        assertEquals(Files.size(snapshot.resolve("state")), taken.stateBytes());
        assertTrue(taken.memoryDataBytes() < 1 << 20, "the stub touched a few pages: " + taken.memoryDataBytes());
        assertEquals(new ControlResponse.Progress(MEMORY, MEMORY), progress.getLast());
        assertTrue(progress.size() >= 2, "progress along the way: " + progress);
        assertEquals(VmState.PAUSED, client.state().state(), "a snapshot leaves the VM paused");
        stop(client, first);

        // Restored paused: nothing runs until the resume.
        Path secondLog = dir.resolve("second.log");
        Path secondSocket = dir.resolve("second.sock");
        Process second = monitor("second", "--restore", snapshot.toString(), "--socket", secondSocket.toString(),
                "--console-log", secondLog.toString(), "--paused");
        MonitorClient restored = await(secondSocket, VmState.PAUSED);
        long[] justRestored = mapped(second.pid(), snapshot.resolve("memory").toAbsolutePath());
        assertEquals(MEMORY >> 10, justRestored[1], "the guest's memory is the snapshot's memory file, mapped");
        assertTrue(justRestored[0] < 4 << 10, "mapped, not copied: " + justRestored[0] + " KiB resident of " + justRestored[1]);
        Thread.sleep(300);
        assertEquals(0, restored.metrics().get("monitor.consoleBytes"), "a VM restored paused prints nothing");
        assertEquals(VmState.RUNNING, restored.resume().state());
        awaitConsole(restored, 1000);
        assertTrue(mapped(second.pid(), snapshot.resolve("memory").toAbsolutePath())[0] < 16 << 10, "running, it still touches few pages");

        // A second restore while the first runs is refused, naming the monitor that runs it; nothing starts.
        Path thirdSocket = dir.resolve("third.sock");
        Process third = monitor("third", "--restore", snapshot.toString(), "--socket", thirdSocket.toString());
        assertTrue(third.waitFor(60, TimeUnit.SECONDS));
        assertEquals(2, third.exitValue(), output("third"));
        assertEquals("aether vm monitor: --restore " + snapshot + ": this snapshot is already restored and running (monitor process "
                + second.pid() + "); two restores would share random state, MAC addresses and secrets; --allow-clone restores it anyway\n",
                output("third"));
        assertFalse(Files.exists(thirdSocket, LinkOption.NOFOLLOW_LINKS));

        // Asked for explicitly, the clone runs beside it.
        Process clone = monitor("clone", "--restore", snapshot.toString(), "--socket", thirdSocket.toString(), "--allow-clone");
        MonitorClient cloned = await(thirdSocket, VmState.RUNNING);
        awaitConsole(cloned, 100);
        stop(cloned, clone);
        assertEquals(0, clone.exitValue(), output("clone"));

        stop(restored, second);
        assertEquals(0, second.exitValue(), output("second"));
        String before = Files.readString(firstLog);
        String after = Files.readString(secondLog);
        assertTrue(before.length() >= 2000 && after.length() >= 1000, before.length() + " then " + after.length());
        assertFalse(after.startsWith(StubGuest.MESSAGE), "the restored guest does not start over");
        assertCountedInOrder(before + after);

        // Its monitor gone, the snapshot may be restored again.
        Process again = monitor("again", "--restore", snapshot.toString(), "--socket", secondSocket.toString());
        stop(await(secondSocket, VmState.RUNNING), again);
    }

    @Test
    void aCorruptSnapshotIsRefusedWithTheReasonAndNothingStarts() throws Exception {
        VmRunCommandTest.requireKvm();
        Path spec = Files.writeString(dir.resolve("spec.json"), "{\"boot\": {\"stub\": \"count\"}}");
        Path snapshot = dir.resolve("snap");
        Path socket = dir.resolve("vm.sock");
        Process first = monitor("first", "--spec", spec.toString(), "--socket", socket.toString());
        MonitorClient client = await(socket, VmState.RUNNING);
        awaitConsole(client, 100);
        Path notADirectory = Files.writeString(dir.resolve("file"), "x");
        MonitorClient.RefusedException failed = org.junit.jupiter.api.Assertions.assertThrows(MonitorClient.RefusedException.class,
                () -> client.snapshot(notADirectory, false, null));
        assertEquals("failed: snapshot: " + notADirectory + ": exists and is not a directory", failed.getMessage());
        assertEquals(VmState.RUNNING, client.state().state(), "a failed snapshot resumes the VM it paused");
        client.snapshot(snapshot, true, null);
        assertEquals(VmState.RUNNING, client.state().state(), "resume: true lets it go on");
        stop(client, first);

        Path state = snapshot.resolve("state");
        byte[] bytes = Files.readAllBytes(state);
        bytes[bytes.length / 2] ^= 1;
        Files.write(state, bytes);
        Process refused = monitor("refused", "--restore", snapshot.toString(), "--socket", socket.toString());
        assertTrue(refused.waitFor(60, TimeUnit.SECONDS));
        assertEquals(2, refused.exitValue(), output("refused"));
        assertTrue(output("refused").matches("aether vm monitor: --restore " + java.util.regex.Pattern.quote(state.toString())
                + ": section [a-z0-9.]+: checksum mismatch \\(corrupt\\)\n"), output("refused"));
        assertFalse(Files.exists(socket, LinkOption.NOFOLLOW_LINKS), "nothing was started");

        Process bad = monitor("bad", "--restore", snapshot.toString(), "--spec", spec.toString(), "--socket", socket.toString());
        assertTrue(bad.waitFor(60, TimeUnit.SECONDS));
        assertEquals(2, bad.exitValue());
        assertEquals("aether vm monitor: --spec and --restore exclude each other\n", output("bad"));
    }
}
