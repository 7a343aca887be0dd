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
