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
 * A monitor's start does not start the JDK's security providers (java.security.Security: its
 * properties file, the providers' lists; SecureRandom, MessageDigest): tens of milliseconds
 * interpreted, 20-30 times that on an emulated arm64 host (docs/BENCHMARKS.md (f)). A stub VM,
 * run to its power-off in a JVM without a class-data archive, whose class loading log says which
 * classes it used.
 */
@Timeout(120)
class VmRunSecurityProvidersTest {

    @Test
    void aStubVmRunsWithoutTheSecurityProviders(@TempDir Path dir) throws IOException, InterruptedException {
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
        List<String> security = Files.readAllLines(log).stream()
                .filter(l -> l.contains(" java.security.Security ") || l.contains(" java.security.SecureRandom "))
                .toList();
        assertEquals(List.of(), security);
    }
}
