package io.aether.testhost;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HostCommandTest {

    @Test
    void mergesOutputAndPassesTheDirectoryAndEnvironment(@TempDir Path dir) throws IOException {
        HostCommand.Result r = HostCommand.run("testing", List.of("/bin/sh", "-c", "echo out; echo err >&2; pwd; echo $X; exit 4"),
                dir, Map.of("X", "set"), Duration.ofSeconds(30));
        assertEquals(4, r.status());
        assertEquals(List.of("out", "err", dir.toRealPath().toString(), "set"), r.output().lines().toList());
    }

    @Test
    void aCommandThatOutlivesItsLimitIsKilledEvenWhenAChildHoldsItsOutput() {
        long t0 = System.nanoTime();
        var e = assertThrows(IOException.class, () -> HostCommand.run("waiting", List.of("/bin/sh", "-c", "sleep 30 & sleep 30"),
                null, Map.of(), Duration.ofMillis(300)));
        assertEquals("waiting: `/bin/sh -c sleep 30 & sleep 30` did not finish within 0.3 s", e.getMessage());
        assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(20), "the limit holds");
    }

    @Test
    void requireNamesTheStepTheCommandItsStatusAndItsLastLines() {
        var e = assertThrows(IOException.class, () -> HostCommand.require("counting",
                List.of("/bin/sh", "-c", "seq 1 20; exit 3"), null, Duration.ofSeconds(30)));
        assertEquals("counting: `/bin/sh -c seq 1 20; exit 3` exited with status 3:\n9\n10\n11\n12\n13\n14\n15\n16\n17\n18\n19\n20",
                e.getMessage());
        var missing = assertThrows(IOException.class, () -> HostCommand.require("starting",
                List.of("/nonexistent/tool"), null, Duration.ofSeconds(30)));
        assertTrue(missing.getMessage().startsWith("starting: cannot run /nonexistent/tool: "), missing.getMessage());
    }
}
