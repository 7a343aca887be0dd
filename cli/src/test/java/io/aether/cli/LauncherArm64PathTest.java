package io.aether.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.List;
import java.util.Map;
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
        Path root = Files.createDirectories(dir.resolve("aether-root"));
        Files.createDirectories(root.resolve("dev"));
        Files.copy(Path.of("../aether"), root.resolve("aether"));
        Files.copy(Path.of("../dev/jdk.sh"), root.resolve("dev/jdk.sh"));
        Files.copy(Path.of("../dev/monitor.jvmargs"), root.resolve("dev/monitor.jvmargs"));
        Path target = Files.createDirectories(root.resolve("cli/target"));
        Path jar = Files.writeString(target.resolve("aether.jar"), "jar");
        Path aot = Files.writeString(target.resolve("aether-aarch64.aot"), "cache");

        Path jdk = Files.createDirectories(dir.resolve("jdk"));
        Files.createDirectories(jdk.resolve("bin"));
        Files.createDirectories(jdk.resolve("lib"));
        Path modules = Files.writeString(jdk.resolve("lib/modules"), "modules");
        Files.writeString(jdk.resolve("release"), "IMPLEMENTOR=\"test\"\nJAVA_VERSION=\"25.0.1\"\n");
        Path arguments = dir.resolve("java-arguments.txt");
        script(jdk.resolve("bin/java"), "#!/bin/sh\nprintf '%s\\n' \"$@\" > '" + arguments + "'\n");
        script(jdk.resolve("bin/javac"), "#!/bin/sh\nexit 1\n");
        // The cache is newer than the jar, the jar newer than the JDK: nothing to build or train.
        Instant now = Instant.now();
        Files.setLastModifiedTime(modules, FileTime.from(now.minusSeconds(300)));
        Files.setLastModifiedTime(jar, FileTime.from(now.minusSeconds(200)));
        Files.setLastModifiedTime(aot, FileTime.from(now.minusSeconds(100)));

        Path bin = Files.createDirectories(dir.resolve("bin"));
        Path used = dir.resolve("subprocesses.txt");
        Files.writeString(used, "");
        for (String command : ALLOWED) {
            script(bin.resolve(command), "#!/bin/sh\necho " + command + " >> '" + used + "'\nexec /usr/bin/" + command + " \"$@\"\n");
        }

        ProcessBuilder pb = new ProcessBuilder("/bin/bash", root.resolve("aether").toString(), "vm", "run", "--stub")
                .redirectErrorStream(true);
        Map<String, String> env = pb.environment();
        env.clear();
        env.putAll(Map.of("PATH", bin.toString(), "JAVA_HOME", jdk.toString(), "HOSTTYPE", "aarch64", "HOME", dir.toString()));
        Process p = pb.start();
        String output = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the launcher did not end");
        assertEquals(0, p.exitValue(), output);

        List<String> java = Files.readAllLines(arguments);
        assertTrue(java.contains("-XX:AOTCache=" + aot.toRealPath()), "java runs with the AOT cache: " + java + "\n" + output);
        assertTrue(java.contains("-XX:CompileThresholdScaling=100"), "and the lazy JIT: " + java);
        assertEquals(List.of("-jar", jar.toRealPath().toString(), "vm", "run", "--stub"), java.subList(java.size() - 5, java.size()));
        List<String> ran = Files.readAllLines(used);
        assertTrue(ALLOWED.containsAll(ran), "subprocesses run before java: " + ran);
        assertEquals("", output, "nothing was built, trained or complained about");
    }

    private static void script(Path path, String text) throws IOException {
        Files.writeString(path, text);
        Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
}
