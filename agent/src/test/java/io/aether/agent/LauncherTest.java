package io.aether.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(10)
class LauncherTest {

    @TempDir
    Path dir;

    @Test
    void monitorsRunWithTheJvmOptionsOfDevMonitorJvmargs() throws Exception {
        // Read here as the aether launcher's @file reads it: one option a line.
        List<String> file = Files.readAllLines(Path.of("../dev/monitor.jvmargs")).stream().filter(l -> !l.isBlank()).toList();
        assertTrue(file.contains("-XX:+UseSerialGC"), "dev/monitor.jvmargs: " + file);
        List<String> prefix = Launcher.defaultPrefix(Path.of("/data/monitor.jsa"));
        assertEquals(file, prefix.subList(1, 1 + file.size()), "the options follow java, in the file's order");
        assertEquals(List.of("io.aether.cli.Main", "vm", "monitor"), prefix.subList(prefix.size() - 3, prefix.size()));
    }

    @Test
    void monitorsMapTheClassDataArchiveTheLauncherMadeAndNoneThatItCouldNotMake(@TempDir Path tmp) throws Exception {
        String before = System.getProperty(Launcher.ARCHIVE_PROPERTY);
        try {
            Path archive = Files.write(tmp.resolve("aether-monitor.jsa"), new byte[] {1});
            System.setProperty(Launcher.ARCHIVE_PROPERTY, archive.toString());
            List<String> prefix = Launcher.defaultPrefix(tmp.resolve("monitor.jsa"));
            int option = prefix.indexOf("-XX:SharedArchiveFile=" + archive.toAbsolutePath());
            assertTrue(option > 0 && option < prefix.indexOf("io.aether.cli.Main"), "a JVM option of the monitor: " + prefix);
            assertFalse(prefix.contains("-XX:+AutoCreateSharedArchive"), "the launcher's archive, not a dynamic one: " + prefix);

            // An empty file is a training that failed (no KVM); a JVM given a missing archive maps none at all.
            Files.write(archive, new byte[0]);
            assertFalse(Launcher.defaultPrefix(tmp.resolve("monitor.jsa")).stream().anyMatch(o -> o.startsWith("-XX:SharedArchiveFile=")), "empty archive");
            Files.delete(archive);
            assertFalse(Launcher.defaultPrefix(tmp.resolve("monitor.jsa")).stream().anyMatch(o -> o.startsWith("-XX:SharedArchiveFile=")), "missing archive");
            System.clearProperty(Launcher.ARCHIVE_PROPERTY);
            assertFalse(Launcher.defaultPrefix(tmp.resolve("monitor.jsa")).stream().anyMatch(o -> o.startsWith("-XX:SharedArchiveFile=")), "none named");
        } finally {
            if (before == null) System.clearProperty(Launcher.ARCHIVE_PROPERTY);
            else System.setProperty(Launcher.ARCHIVE_PROPERTY, before);
        }
    }

    @Test
    void aClassPathOfJarsKeepsAClassDataArchiveAndOneWithADirectoryDoesNot() throws Exception {
        Path jar = Files.createFile(dir.resolve("a.jar"));
        Path archive = dir.resolve("monitor.jsa");
        assertEquals(List.of("-XX:+AutoCreateSharedArchive", "-XX:SharedArchiveFile=" + archive),
                Launcher.classDataArchiveOptions(jar + File.pathSeparator + jar, archive));
        assertEquals(List.of(), Launcher.classDataArchiveOptions(jar + File.pathSeparator + dir, archive), "a directory of classes");
        assertEquals(List.of(), Launcher.classDataArchiveOptions(jar + File.pathSeparator, archive), "an empty entry is the working directory");
    }

    /** The options as the JVM takes them: the first run writes the archive at its exit, the next loads its classes from it. */
    @Test
    @Timeout(120)
    void theFirstJvmToExitWritesTheArchiveAndTheNextLoadsItsClassesFromIt() throws Exception {
        Path source = Files.writeString(dir.resolve("Hello.java"), "public class Hello { public static void main(String[] a) { System.out.println(\"hello\"); } }");
        assertEquals(0, ToolProvider.getSystemJavaCompiler().run(null, null, null, "-d", dir.toString(), source.toString()));
        Path jar = dir.resolve("hello.jar");
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
            out.putNextEntry(new JarEntry("Hello.class"));
            out.write(Files.readAllBytes(dir.resolve("Hello.class")));
        }
        Path archive = dir.resolve("monitor.jsa");
        List<String> options = Launcher.classDataArchiveOptions(jar.toString(), archive);

        run(options, jar);
        assertTrue(Files.size(archive) > 0, "the first run wrote the archive at its exit");
        String second = run(options, jar);
        assertTrue(second.lines().anyMatch(l -> l.contains(" Hello source: shared objects file")),
                "the second run loads Hello from the archive:\n" + second);
        assertFalse(run(List.of(), jar).contains("Hello source: shared objects file"), "without the options it does not");
    }

    /** Runs Hello from {@code jar} with the monitors' JVM options and {@code options}, logging where classes come from. */
    private static String run(List<String> options, Path jar) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.addAll(Launcher.monitorJvmOptions());
        command.addAll(options);
        command.addAll(List.of("-Xlog:class+load=info:stdout", "-cp", jar.toString(), "Hello"));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.lines().anyMatch("hello"::equals), out);
        return out;
    }
}
