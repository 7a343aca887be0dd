package io.aether.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@code aether vm monitor}'s command line, {@code --standby} beside {@code --spec}. */
@Timeout(10)
class MonitorOptionsTest {

    private static String refusal(String... args) {
        return assertThrows(IllegalArgumentException.class, () -> MonitorCommand.Options.parse(List.of(args))).getMessage();
    }

    @Test
    void aStandbyTakesOnlyItsSocket() {
        assertEquals(new MonitorCommand.Options(false, true, null, Path.of("/run/s.sock"), null, null, false, false, true),
                MonitorCommand.Options.parse(List.of("--standby", "--socket", "/run/s.sock")));
        assertEquals("--standby takes no --spec or --restore: the launch request carries the spec", refusal("--standby", "--spec", "vm.json", "--socket", "s"));
        assertEquals("--standby takes no --spec or --restore: the launch request carries the spec", refusal("--standby", "--restore", "snap", "--socket", "s"));
        assertEquals("--standby takes no --console-log: the launch request carries it",
                refusal("--standby", "--console-log", "c.log", "--socket", "s"));
        assertEquals(new MonitorCommand.Options(false, true, null, Path.of("/run/s.sock"), null, null, false, false, false),
                MonitorCommand.Options.parse(List.of("--standby", "--no-page-merging", "--socket", "/run/s.sock")));
        assertEquals("--socket is required", refusal("--standby"));
        assertEquals("--spec is required (or --restore, or --standby)", refusal("--socket", "s"));
    }
}
