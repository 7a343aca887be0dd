package io.aether.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a monitor's start loads, each class tens of milliseconds interpreted and 20-30 times that
 * on an emulated arm64 host (docs/BENCHMARKS.md (f)): a stub VM, run to its power-off in a JVM
 * without a class-data archive, whose class loading log says which classes it used.
 */
@Timeout(120)
class VmRunStartClassesTest {

    /** The class loading log of {@code vm run --stub}, run to its end. */
    private static List<String> stubRunClasses(Path dir) throws IOException, InterruptedException {
        VmRunCommandTest.requireKvm();
        Path log = dir.resolve("classes.txt");
        Path out = dir.resolve("out.txt");
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-Xshare:off", "-Xlog:class+load=info:file=" + log,
                "-cp", System.getProperty("java.class.path"), "io.aether.cli.Main", "vm", "run", "--stub")
                .redirectErrorStream(true).redirectOutput(out.toFile()).start();
        assertTrue(p.waitFor(100, TimeUnit.SECONDS), "the stub VM did not end");
        String output = Files.readString(out);
        assertEquals(0, p.exitValue(), output);
        assertTrue(output.contains("Aether stub guest: hello"), output);
        return Files.readAllLines(log);
    }

    /**
     * Not the JDK's security providers (java.security.Security: its properties file, the
     * providers' lists; SecureRandom, MessageDigest).
     */
    @Test
    void aStubVmRunsWithoutTheSecurityProviders(@TempDir Path dir) throws IOException, InterruptedException {
        List<String> security = stubRunClasses(dir).stream()
                .filter(l -> l.contains(" java.security.Security ") || l.contains(" java.security.SecureRandom "))
                .toList();
        assertEquals(List.of(), security);
    }

    /**
     * Each pattern switch spins a class at its first use, which no AOT cache holds: of the
     * monitor's own, only the exit handler's two run (on the guest's first exit), kept for their
     * exhaustiveness (a new kind of exit cannot be forgotten there).
     */
    @Test
    void aStubVmSpinsNoTypeSwitchButTheExitHandlers(@TempDir Path dir) throws IOException, InterruptedException {
        List<String> spun = stubRunClasses(dir).stream()
                .filter(l -> l.contains("$$TypeSwitch") && l.contains(" io.aether."))
                .map(l -> l.substring(l.indexOf(" io.aether.") + 1, l.indexOf("$$TypeSwitch")))
                .sorted()
                .toList();
        assertEquals(List.of("io.aether.vmm.ExitHandler", "io.aether.vmm.ExitReason"), spun);
    }
}
