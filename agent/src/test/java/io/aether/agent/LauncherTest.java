package io.aether.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

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
}
