package io.aether.testhost;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** The run and its console over a real process: an interactive host shell stands in for the guest's. */
class GuestRunTest {

    private static GuestRun shell(Duration limit, AtomicBoolean cleaned) throws IOException {
        Process p = new ProcessBuilder("/bin/sh", "-i").redirectErrorStream(true).start();
        return new GuestRun(HostProbe.Mode.DIRECT, p, limit, run -> OptionalInt.of(run.processExitValue()),
                () -> cleaned.set(true));
    }

    @Test
    void execReturnsOutputAndStatusAndExitEndsTheRun() throws IOException {
        AtomicBoolean cleaned = new AtomicBoolean();
        try (GuestRun run = shell(Duration.ofMinutes(1), cleaned)) {
            GuestConsole c = run.console();
            GuestConsole.ShellResult hello = c.exec("echo hello; echo world", Duration.ofSeconds(30));
            assertEquals(List.of("hello", "world"), hello.lines());
            assertEquals(0, hello.status());
            assertEquals("hello\nworld", hello.output());
            GuestConsole.ShellResult fails = c.exec("printf partial; false", Duration.ofSeconds(30));
            assertEquals(List.of("partial"), fails.lines());
            assertEquals(1, fails.status());
            c.expect(GuestConsole.PROMPT, Duration.ofSeconds(30));
            c.sendLine("exit 7");
            assertEquals(7, run.awaitExit(Duration.ofSeconds(30)));
            assertFalse(cleaned.get());
        }
        assertTrue(cleaned.get(), "close() releases what the run holds");
    }

    @Test
    void theTimeLimitKillsTheRunAndFailsWithTheTranscript() throws IOException {
        try (GuestRun run = shell(Duration.ofSeconds(2), new AtomicBoolean())) {
            run.console().sendLine("echo started; sleep 60");
            var e = assertThrows(AssertionError.class, () -> run.awaitExit(Duration.ofSeconds(30)));
            assertTrue(e.getMessage().startsWith("the run was killed at its time limit of 2 s"), e.getMessage());
            assertTrue(e.getMessage().contains("started"), e.getMessage());
        }
    }

    @Test
    void aWaitForAnEndedRunFailsAtOnce() throws IOException {
        try (GuestRun run = shell(Duration.ofMinutes(1), new AtomicBoolean())) {
            run.console().sendLine("exit 0");
            var e = assertThrows(AssertionError.class, () -> run.console().expectLine(".*NEVER.*"));
            assertTrue(e.getMessage().startsWith("the console ended (the scenario exited with status 0) before"),
                    e.getMessage());
        }
    }
}
