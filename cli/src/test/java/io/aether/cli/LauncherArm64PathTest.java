package io.aether.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.arch.aarch64.Layout;
import io.aether.loader.Arm64Kernel;
import io.aether.loader.Arm64Loader;
import io.aether.memory.GuestMemory;
import io.aether.memory.RegionSpec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code aether} launcher on an arm64 host, with its build and AOT cache up to date: it execs
 * java with the cache, running no subprocess on the way but the few it cannot do without
 * (each costs tens of milliseconds on an emulated arm64 host, docs/BENCHMARKS.md (f)). A copy
 * of the launcher runs with a stand-in JDK whose {@code java} records its arguments, bash told it
 * runs on aarch64 ({@code HOSTTYPE}), and a {@code PATH} that holds only the allowed commands,
 * each logging its use: any other command is not found.
 */
@Timeout(60)
class LauncherArm64PathTest {

    /** What the launcher may run before java: resolving its own path, and the build's staleness check. */
    static final List<String> ALLOWED = List.of("readlink", "find");

    @Test
    void anUpToDateArm64LauncherExecsJavaWithItsAotCacheAfterOnlyTheAllowedSubprocesses(@TempDir Path dir)
            throws IOException, InterruptedException {
        Path arguments = dir.resolve("java-arguments.txt");
        Path root = launcherCopy(dir, "#!/bin/sh\nprintf '%s\\n' \"$@\" > '" + arguments + "'\n");
        Path jar = root.resolve("cli/target/aether.jar");
        Path aot = root.resolve("cli/target/aether-aarch64.aot");
        // The cache is newer than the jar, the jar newer than the JDK: nothing to build or train.
        Files.setLastModifiedTime(aot, FileTime.from(Instant.now().minusSeconds(100)));

        Path bin = Files.createDirectories(dir.resolve("bin"));
        Path used = dir.resolve("subprocesses.txt");
        Files.writeString(used, "");
        for (String command : ALLOWED) {
            script(bin.resolve(command), "#!/bin/sh\necho " + command + " >> '" + used + "'\nexec /usr/bin/" + command + " \"$@\"\n");
        }

        String output = runLauncher(dir, root, bin.toString());

        List<String> java = Files.readAllLines(arguments);
        assertTrue(java.contains("-XX:AOTCache=" + aot.toRealPath()), "java runs with the AOT cache: " + java + "\n" + output);
        assertTrue(java.contains("-XX:CompileThresholdScaling=100"), "and the lazy JIT: " + java);
        assertEquals(List.of("-jar", jar.toRealPath().toString(), "vm", "run", "--stub"), java.subList(java.size() - 5, java.size()));
        List<String> ran = Files.readAllLines(used);
        assertTrue(ALLOWED.containsAll(ran), "subprocesses run before java: " + ran);
        assertEquals("", output, "nothing was built, trained or complained about");
    }

    /**
     * A stale AOT cache is trained by booting, the Linux way, a tiny Image that powers off at once
     * (so that the cache holds the classes of the Linux boot's path, docs/BENCHMARKS.md (f)): the
     * training java gets {@code vm run --kernel IMAGE}, and IMAGE is the arm64 Image expected here,
     * its header and instructions written from their field encodings (booting.rst, the Arm ARM,
     * PSCI), which the monitor's loader accepts and places at the start of RAM.
     */
    @Test
    void aStaleArm64CacheIsTrainedOnAnImageThatPowersOffThroughPsci(@TempDir Path dir) throws Exception {
        Path calls = dir.resolve("java-calls.txt");
        Path trained = dir.resolve("trained.Image");
        Path root = launcherCopy(dir, "#!/bin/sh\nprintf '%s\\n' \"$@\" --- >> '" + calls + "'\n"
                + "prev=\nfor a in \"$@\"; do if [ \"$prev\" = --kernel ]; then /bin/cp \"$a\" '" + trained + "'; fi; prev=$a; done\n");
        Path jar = root.resolve("cli/target/aether.jar");
        Path aot = root.resolve("cli/target/aether-aarch64.aot");
        // The cache is older than the jar: it is trained again.
        Files.setLastModifiedTime(aot, FileTime.from(Instant.now().minusSeconds(250)));

        runLauncher(dir, root, "/usr/bin:/bin");

        String[] runs = Files.readString(calls).split("---\n");
        assertEquals(2, runs.length, "a training java, then the monitor's: " + List.of(runs));
        List<String> training = List.of(runs[0].split("\n"));
        assertTrue(training.contains("-XX:AOTCacheOutput=" + aot.toRealPath()), "the first java trains the cache: " + training);
        List<String> command = training.subList(training.size() - 6, training.size());
        assertEquals(List.of("-jar", jar.toRealPath().toString(), "vm", "run", "--kernel"), command.subList(0, 5), training.toString());

        byte[] image = Files.readAllBytes(trained);
        assertArrayEquals(poweringOffImage(), image);
        try (GuestMemory memory = GuestMemory.anonymous(List.of(RegionSpec.ram(Layout.RAM_BASE, 16L << 20)))) {
            Arm64Kernel kernel = Arm64Loader.load(memory, trained, Optional.empty(), Layout.RAM_BASE);
            assertEquals(Layout.RAM_BASE, kernel.entry());
            assertArrayEquals(image, memory.read(Layout.RAM_BASE, image.length));
        }
    }

    /** booting.rst's 64-byte header, then movz x0, #0x8; movk x0, #0x8400, lsl 16; hvc #0; b . (PSCI 0.2 SYSTEM_OFF is 0x84000008). */
    private static byte[] poweringOffImage() {
        ByteBuffer b = ByteBuffer.allocate(80).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0, 0b000101 << 26 | 64 / 4); // B: imm26 counts words
        b.putLong(16, 64 << 10); // image_size
        b.putLong(24, 1 << 1); // flags: little-endian, 4 KiB pages
        b.put(56, (byte) 'A').put(57, (byte) 'R').put(58, (byte) 'M').put(59, (byte) 0x64);
        int x0 = 0;
        b.putInt(64, 0b1_10_100101 << 23 | 0 << 21 | 0x0008 << 5 | x0); // MOVZ (64-bit), hw 0
        b.putInt(68, 0b1_11_100101 << 23 | 1 << 21 | 0x8400 << 5 | x0); // MOVK (64-bit), hw 1
        b.putInt(72, 0b11010100_000 << 21 | 0 << 5 | 0b00010); // HVC #0
        b.putInt(76, 0b000101 << 26); // B . (offset 0)
        return b.array();
    }

    /** A copy of the launcher, its build newer than a stand-in JDK whose {@code java} is {@code java}; returns its root. */
    private static Path launcherCopy(Path dir, String java) throws IOException {
        Path root = Files.createDirectories(dir.resolve("aether-root"));
        Files.createDirectories(root.resolve("dev"));
        Files.copy(Path.of("../aether"), root.resolve("aether"));
        Files.copy(Path.of("../dev/jdk.sh"), root.resolve("dev/jdk.sh"));
        Files.copy(Path.of("../dev/monitor.jvmargs"), root.resolve("dev/monitor.jvmargs"));
        Path target = Files.createDirectories(root.resolve("cli/target"));
        Path jar = Files.writeString(target.resolve("aether.jar"), "jar");
        Files.writeString(target.resolve("aether-aarch64.aot"), "cache");

        Path jdk = Files.createDirectories(dir.resolve("jdk"));
        Files.createDirectories(jdk.resolve("bin"));
        Files.createDirectories(jdk.resolve("lib"));
        Path modules = Files.writeString(jdk.resolve("lib/modules"), "modules");
        Files.writeString(jdk.resolve("release"), "IMPLEMENTOR=\"test\"\nJAVA_VERSION=\"25.0.1\"\n");
        script(jdk.resolve("bin/java"), java);
        script(jdk.resolve("bin/javac"), "#!/bin/sh\nexit 1\n");
        Instant now = Instant.now();
        Files.setLastModifiedTime(modules, FileTime.from(now.minusSeconds(300)));
        Files.setLastModifiedTime(jar, FileTime.from(now.minusSeconds(200)));
        return root;
    }

    /** Runs the copy's {@code aether vm run --stub} as on aarch64 with {@code path}; returns its output, asserting status 0. */
    private static String runLauncher(Path dir, Path root, String path) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder("/bin/bash", root.resolve("aether").toString(), "vm", "run", "--stub")
                .redirectErrorStream(true);
        Map<String, String> env = pb.environment();
        env.clear();
        env.putAll(Map.of("PATH", path, "JAVA_HOME", dir.resolve("jdk").toString(), "HOSTTYPE", "aarch64", "HOME", dir.toString()));
        Process p = pb.start();
        String output = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the launcher did not end");
        assertEquals(0, p.exitValue(), output);
        return output;
    }

    private static void script(Path path, String text) throws IOException {
        Files.writeString(path, text);
        Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
}
