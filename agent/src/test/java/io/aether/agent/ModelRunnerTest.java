package io.aether.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.agentapi.DesiredVms;
import io.aether.agentapi.RestartPolicy;
import io.aether.security.Identity;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(60)
class ModelRunnerTest {

    @TempDir
    Path dir;

    private ModelRunner.Config config() {
        return new ModelRunner.Config(dir.resolve("models"), List.of("/bin/false"), dir.resolve("home"), Identity.generate(), "127.0.0.1", 1 << 20,
                Duration.ofSeconds(5));
    }

    private Process sleeper() throws Exception {
        return new ProcessBuilder("sleep", "300").start();
    }

    private void pidFile(String allocation, Process process, long startMillis) throws Exception {
        Path folder = Files.createDirectories(dir.resolve("models").resolve(allocation));
        Files.writeString(folder.resolve(ModelRunner.PID_FILE), process.pid() + " " + startMillis + "\n", StandardCharsets.UTF_8);
    }

    /** A killed agent's servers are stopped by the next runner on the directory: restarted cleanly, never adopted or doubled. */
    @Test
    void serversLeftByAKilledAgentAreStoppedButAReusedPidIsLeftAlone() throws Exception {
        Process left = sleeper();
        Process stranger = sleeper();
        try {
            pidFile("relu.0", left, left.toHandle().info().startInstant().orElseThrow().toEpochMilli());
            pidFile("relu.1", stranger, Instant.parse("2020-01-01T00:00:00Z").toEpochMilli()); // the pid now names another process
            try (ModelRunner runner = ModelRunner.open(config())) {
                assertTrue(left.waitFor(20, TimeUnit.SECONDS), "the left-over server was stopped");
                assertTrue(stranger.isAlive(), "a process that only shares the pid is not touched");
                assertFalse(Files.exists(dir.resolve("models/relu.0").resolve(ModelRunner.PID_FILE)));
                // An allocation no longer wanted loses its folder; a model repository that is not https is refused without a retry.
                List<Reconciler.Report> reports = runner.apply(Map.of("relu.2", new DesiredVms.Model("http://127.0.0.1:1", "main")), id -> RestartPolicy.NEVER);
                assertEquals("relu.2", reports.getFirst().allocation());
                assertFalse(Files.exists(dir.resolve("models/relu.0")));
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                List<Reconciler.Report> now;
                do {
                    Thread.sleep(50);
                    now = runner.apply(Map.of("relu.2", new DesiredVms.Model("http://127.0.0.1:1", "main")), id -> RestartPolicy.NEVER);
                } while (!now.getFirst().state().equals("failed") && System.nanoTime() < deadline);
                assertEquals(new Reconciler.Report("relu.2", "failed", Optional.of("sync of http://127.0.0.1:1 failed: repository 'http://127.0.0.1:1': expected https://HOST:PORT")),
                        now.getFirst());
            }
        } finally {
            left.destroyForcibly();
            stranger.destroyForcibly();
        }
    }

    @Test
    void reasonsNameCommitsAndKeysByTheirFirstTwelveDigits() {
        String commit = "0123456789ab".repeat(5) + "cdef";
        assertEquals("commit 0123456789ab refused: unknown key 0123456789ab (author of commit 0123456789ab)",
                ModelRunner.shortIds("commit " + commit + " refused: unknown key " + commit + " (author of commit 0123456789ab)"));
    }
}
