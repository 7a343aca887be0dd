package io.aether.cli;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.monitorapi.MonitorClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a running monitor holds that it does not need (issue 7 item 7): every jar that a class
 * lookup or a service lookup opens stays open for the process's life, its central directory on
 * the heap (bcprov's alone is ~0.7 MiB), in every monitor.
 */
@Timeout(120)
class MonitorFootprintTest {

    @TempDir
    Path dir;

    private Process monitor;

    @AfterEach
    void stopMonitor() throws Exception {
        if (monitor != null) {
            monitor.destroyForcibly();
            monitor.waitFor(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void aRunningMonitorKeepsOpenOnlyTheJarsItLoadsClassesFrom() throws Exception {
        VmRunCommandTest.requireKvm();
        Path socket = dir.resolve("vm.sock");
        Path spec = Files.writeString(dir.resolve("spec.json"), "{\"boot\": {\"stub\": \"echo\"}, \"memory\": \"16M\"}");
        // As the launcher and the agent run it: dev/monitor.jvmargs, the class path in the build's order.
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.addAll(Files.readAllLines(Path.of("../dev/monitor.jvmargs")));
        command.addAll(List.of("--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "vm", "monitor", "--spec", spec.toString(), "--socket", socket.toString()));
        monitor = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(dir.resolve("monitor.out").toFile()).start();
        MonitorClient client = VmMonitorTest.awaitMonitor(socket);
        client.metrics(); // the control path served once

        List<String> files = openFiles(monitor.pid());
        assertTrue(files.contains("/dev/kvm"), "the check sees the monitor's files: " + files);
        // The monitor loads no library outside the JDK and Aether's own modules (the spec and the
        // control protocol are JSON through common's Json, not Jackson's). Without the
        // SelectorProvider option the JDK's service lookup for the control socket opens every jar
        // on the class path; with a library before Aether's modules in the build's order, each
        // class the monitor looks up opens that library's jars on the way.
        // (The nested test host numbers its class path's entries: "09-aether-vm-spec-….jar".)
        List<String> jars = files.stream().filter(f -> f.endsWith(".jar")).map(f -> Path.of(f).getFileName().toString().replaceFirst("^[0-9]+-", "")).toList();
        // Aether's own modules are jars too when the build ran its package phase (verify, as CI does).
        assertTrue(jars.stream().allMatch(j -> j.startsWith("aether-")), "jars open in an idle monitor: " + jars);

        // Each thread costs its touched stack and, once it mallocs, a glibc arena. The JDK's
        // finalizer thread has nothing to do in a monitor (--finalization=disabled: not started).
        List<String> threads = threadNames(monitor.pid());
        assertTrue(threads.contains("vcpu-0"), "the check sees the monitor's threads: " + threads);
        assertFalse(threads.contains("Finalizer"), "threads of an idle monitor: " + threads);
    }

    @Test
    void anIdleMonitorLoadsNoJdkSubsystemItDoesNotUse() throws Exception {
        VmRunCommandTest.requireKvm();
        Path socket = dir.resolve("vm.sock");
        Path spec = Files.writeString(dir.resolve("spec.json"), "{\"boot\": {\"stub\": \"echo\"}, \"memory\": \"16M\"}");
        Path loaded = dir.resolve("classes.log");
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.addAll(Files.readAllLines(Path.of("../dev/monitor.jvmargs")));
        command.addAll(List.of("-Xlog:class+load=info:file=" + loaded, "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "vm", "monitor", "--spec", spec.toString(), "--socket", socket.toString()));
        monitor = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(dir.resolve("monitor.out").toFile()).start();
        MonitorClient client = VmMonitorTest.awaitMonitor(socket);
        client.metrics(); // the control path served once
        String log = Files.readString(loaded);
        assertTrue(log.contains(" io.aether.monitor.ControlServer "), "the check sees the monitor's classes");
        // Every class linked dirties its part of the class-data archive and adds its metadata and
        // mirror (docs/BENCHMARKS.md (d)). The usage text was formatted when MonitorCommand was
        // initialized (java.util.Formatter, the locale data, java.util.regex: ~100 classes), and
        // KvmHost compiled a regular expression that only a Linux boot on a PVM host uses.
        for (String unused : List.of("java.util.Formatter", "java.util.regex.Pattern", "sun.util.locale.provider.LocaleProviderAdapter")) {
            assertFalse(log.contains(" " + unused + " "), unused + " was loaded by an idle monitor");
        }

        // A connection's threads are platform threads that end with it: the first client no
        // longer starts the virtual-thread scheduler (its carriers, unparker and master poller,
        // kept for the process's life).
        client.attachConsole(true).close();
        List<String> threads = threadNames(monitor.pid());
        assertTrue(threads.contains("control-accept"), "the check sees the monitor's threads: " + threads);
        assertTrue(threads.stream().noneMatch(t -> t.startsWith("ForkJoinPool") || t.startsWith("VirtualThread") || t.equals("MasterPoller")),
                "threads of a monitor a client reached: " + threads);
    }

    /** The names of the process's threads, as the kernel has them (15 characters at most). */
    private static List<String> threadNames(long pid) throws IOException {
        List<String> names = new ArrayList<>();
        try (Stream<Path> tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
            for (Path task : tasks.toList()) {
                try {
                    names.add(Files.readString(task.resolve("comm")).strip());
                } catch (IOException endedMeanwhile) {
                    // a thread that ended between the listing and the read
                }
            }
        }
        return names;
    }

    /** What the process's file descriptors point at. */
    private static List<String> openFiles(long pid) throws IOException {
        List<String> files = new ArrayList<>();
        try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
            for (Path fd : fds.toList()) {
                try {
                    files.add(Files.readSymbolicLink(fd).toString());
                } catch (IOException closedMeanwhile) {
                    // a descriptor closed between the listing and the read
                }
            }
        }
        return files;
    }
}
