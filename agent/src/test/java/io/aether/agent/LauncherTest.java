package io.aether.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(10)
class LauncherTest {

    @Test
    void monitorsRunWithTheJvmOptionsOfDevMonitorJvmargs() throws Exception {
        // Read here as the aether launcher's @file reads it: one option a line.
        List<String> file = Files.readAllLines(Path.of("../dev/monitor.jvmargs")).stream().filter(l -> !l.isBlank()).toList();
        assertTrue(file.contains("-XX:+UseSerialGC"), "dev/monitor.jvmargs: " + file);
        List<String> prefix = Launcher.defaultPrefix();
        assertEquals(file, prefix.subList(1, 1 + file.size()), "the options follow java, in the file's order");
        assertEquals(List.of("io.aether.cli.Main", "vm", "monitor"), prefix.subList(prefix.size() - 3, prefix.size()));
    }

    @Test
    void monitorsMapTheClassDataArchiveTheLauncherMadeAndNoneThatItCouldNotMake(@TempDir Path dir) throws Exception {
        String before = System.getProperty(Launcher.ARCHIVE_PROPERTY);
        try {
            Path archive = Files.write(dir.resolve("aether-monitor.jsa"), new byte[] {1});
            System.setProperty(Launcher.ARCHIVE_PROPERTY, archive.toString());
            List<String> prefix = Launcher.defaultPrefix();
            int option = prefix.indexOf("-XX:SharedArchiveFile=" + archive.toAbsolutePath());
            assertTrue(option > 0 && option < prefix.indexOf("io.aether.cli.Main"), "a JVM option of the monitor: " + prefix);

            // An empty file is a training that failed (no KVM); a JVM given a missing archive maps none at all.
            Files.write(archive, new byte[0]);
            assertFalse(Launcher.defaultPrefix().stream().anyMatch(o -> o.startsWith("-XX:SharedArchiveFile=")), "empty archive");
            Files.delete(archive);
            assertFalse(Launcher.defaultPrefix().stream().anyMatch(o -> o.startsWith("-XX:SharedArchiveFile=")), "missing archive");
            System.clearProperty(Launcher.ARCHIVE_PROPERTY);
            assertFalse(Launcher.defaultPrefix().stream().anyMatch(o -> o.startsWith("-XX:SharedArchiveFile=")), "none named");
        } finally {
            if (before == null) System.clearProperty(Launcher.ARCHIVE_PROPERTY);
            else System.setProperty(Launcher.ARCHIVE_PROPERTY, before);
        }
    }
}
