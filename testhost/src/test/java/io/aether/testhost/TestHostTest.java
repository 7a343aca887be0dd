package io.aether.testhost;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TestHostTest {

    @Test
    void theScenarioStatusIsTheLastExitLine() {
        assertEquals(OptionalInt.of(3), TestHost.exitStatus("AETHER-L1-READY\nAETHER-L1-EXIT 0 (echoed)\n\nAETHER-L1-EXIT 3\n"));
        assertEquals(OptionalInt.empty(), TestHost.exitStatus("AETHER-L1-READY\nKernel panic\n"));
        assertEquals(OptionalInt.empty(), TestHost.exitStatus("xAETHER-L1-EXIT 1\n"));
    }

    @Test
    void theProductClasspathLeavesOutTestFrameworksAndMissingEntries(@TempDir Path dir) throws IOException {
        Path cli = Files.writeString(dir.resolve("aether-cli-0.1.0.jar"), "");
        Path classes = Files.createDirectories(dir.resolve("classes"));
        Path junit = Files.writeString(dir.resolve("junit-jupiter-api-6.1.3.jar"), "");
        Path testkit = Files.writeString(dir.resolve("aether-testkit-0.1.0-SNAPSHOT.jar"), "");
        Path onnx = Files.writeString(dir.resolve("onnxruntime-1.29.0.jar"), "");
        String cp = String.join(":", cli.toString(), junit.toString(), classes.toString(), testkit.toString(),
                onnx.toString(), dir.resolve("gone.jar").toString(), "");
        assertEquals(List.of(cli, classes), TestHost.productClasspath(cp));
    }

    @Test
    void aJarsManifestClassPathIsFollowedAsJavaDashJarWouldFollowIt(@TempDir Path dir) throws IOException {
        Path lib = Files.createDirectories(dir.resolve("lib"));
        Path vmm = Files.writeString(lib.resolve("aether-vmm-0.1.0.jar"), "");
        Files.writeString(lib.resolve("junit-jupiter-api-6.1.3.jar"), "");
        java.util.jar.Manifest manifest = new java.util.jar.Manifest();
        manifest.getMainAttributes().put(java.util.jar.Attributes.Name.MANIFEST_VERSION, "1.0");
        manifest.getMainAttributes().put(java.util.jar.Attributes.Name.CLASS_PATH, "lib/aether-vmm-0.1.0.jar lib/junit-jupiter-api-6.1.3.jar lib/missing.jar");
        Path cli = dir.resolve("aether.jar");
        try (var out = new java.util.jar.JarOutputStream(Files.newOutputStream(cli), manifest)) {
            // only the manifest
        }
        assertEquals(List.of(cli, vmm), TestHost.productClasspath(cli.toString()));
        assertEquals(List.of(cli, vmm), TestHost.productClasspath(cli + ":" + vmm), "no entry twice");
    }

    @Test
    void aStallOfTheEmulatedHostRunsTheScenarioOnceMoreAndOnlyThere() throws Exception {
        int[] runs = {0};
        TestHost.retryingStalls(HostProbe.Mode.NESTED, () -> {
            if (++runs[0] == 1) throw new HostStalledException("stalled");
            return null;
        });
        assertEquals(2, runs[0]);

        runs[0] = 0;
        org.junit.jupiter.api.Assertions.assertThrows(HostStalledException.class, () -> TestHost.retryingStalls(HostProbe.Mode.NESTED, () -> {
            runs[0]++;
            throw new HostStalledException("stalled again");
        }));
        assertEquals(TestHost.STALL_ATTEMPTS, runs[0], "at most STALL_ATTEMPTS runs");

        runs[0] = 0;
        org.junit.jupiter.api.Assertions.assertThrows(HostStalledException.class, () -> TestHost.retryingStalls(HostProbe.Mode.DIRECT, () -> {
            runs[0]++;
            throw new HostStalledException("a direct run never retries");
        }));
        assertEquals(1, runs[0]);

        runs[0] = 0;
        org.junit.jupiter.api.Assertions.assertThrows(AssertionError.class, () -> TestHost.retryingStalls(HostProbe.Mode.NESTED, () -> {
            runs[0]++;
            throw new AssertionError("a real failure");
        }));
        assertEquals(1, runs[0], "only stalls are retried");
    }

    @Test
    void theJdkImageKeyFollowsItsInputs(@TempDir Path dir) throws IOException {
        Path home = Files.createDirectories(dir.resolve("jdk"));
        Files.writeString(home.resolve("release"), "JAVA_VERSION=\"25.0.3\"\n");
        String key = JdkImage.key(home, List.of("java.base"));
        assertEquals(key, JdkImage.key(home, List.of("java.base")));
        assertEquals(16, key.length());
        Files.writeString(home.resolve("release"), "JAVA_VERSION=\"25.0.4\"\n");
        String updated = JdkImage.key(home, List.of("java.base"));
        assertEquals(false, key.equals(updated), "a JDK update relinks");
        assertEquals(false, updated.equals(JdkImage.key(home, List.of("java.base", "java.logging"))));
    }
}
