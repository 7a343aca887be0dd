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

        List<String> jars = openJars(monitor.pid());
        // The monitor's only library outside the JDK and Aether's own modules is Jackson (the spec
        // and the control protocol are JSON). Without the SelectorProvider option the JDK's service
        // lookup for the control socket opens every jar on the class path; with Jackson behind
        // Jetty and BouncyCastle in the build's order, looking Jackson up opens those on the way.
        assertFalse(jars.isEmpty(), "Jackson's jars are open: the check sees the monitor's files");
        // Aether's own modules are jars too when the build ran its package phase (verify, as CI does).
        assertTrue(jars.stream().allMatch(j -> j.startsWith("jackson-") || j.startsWith("aether-")), "jars open in an idle monitor: " + jars);
    }

    private static List<String> openJars(long pid) throws IOException {
        List<String> jars = new ArrayList<>();
        try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
            for (Path fd : fds.toList()) {
                try {
                    String target = Files.readSymbolicLink(fd).getFileName().toString();
                    if (target.endsWith(".jar")) jars.add(target);
                } catch (IOException closedMeanwhile) {
                    // a descriptor closed between the listing and the read
                }
            }
        }
        return jars;
    }
}
