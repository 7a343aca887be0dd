package io.aether.testhost;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.testkit.Prerequisites;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Real nested runs (QEMU TCG, L1's kernel and /init, no Java inside) that go wrong in each way
 * the test host must tell apart: a scenario that falls silent while L1 keeps beating (a hang of
 * what runs in L1: failed, not retried), an L1 frozen by SIGSTOP on QEMU (an emulator stall),
 * an L1 kernel panic (an emulator stall). Short limits keep each run to about a minute.
 */
@Timeout(value = 8, unit = TimeUnit.MINUTES)
class NestedStallsTest {

    private static final Duration BOOT = Duration.ofMinutes(4);
    private static final Pattern STARTED = Pattern.compile("scenario started");
    private static TestHost host;

    @BeforeAll
    static void nestedHost() {
        try {
            host = TestHost.openNested();
        } catch (IOException e) {
            throw Prerequisites.missing(e.getMessage());
        }
    }

    private static Scenario silentAfterStart(String then, StallClassifier.Limits limits) {
        return Scenario.script("echo 'scenario started'\n" + then + "\nsleep 600\n").withoutJava()
                .stallLimits(limits).timeout(Duration.ofMinutes(6)).build();
    }

    @Test
    void aConsoleThatFallsSilentWhileL1BeatsIsAHangNotAStall() throws IOException {
        Scenario scenario = silentAfterStart("", new StallClassifier.Limits(Duration.ofSeconds(30), Duration.ofSeconds(60)));
        try (GuestRun run = host.start(scenario)) {
            run.console().expectLine(STARTED, BOOT);
            long t0 = System.nanoTime();
            AssertionError e = assertThrows(AssertionError.class,
                    () -> run.console().expectLine(Pattern.compile("never"), Duration.ofMinutes(4)));
            long waited = System.nanoTime() - t0;
            assertFalse(e instanceof HostStalledException, e.getMessage());
            assertTrue(e.getMessage().contains("while L1 stayed alive"), e.getMessage());
            assertTrue(waited < TimeUnit.SECONDS.toNanos(90), "failed at the 30 s console limit, not at the wait's 4 minutes: "
                    + waited / 1_000_000 + " ms");
        }
    }

    @Test
    void anL1StoppedWithItsEmulatorIsAStall() throws IOException {
        Scenario scenario = silentAfterStart("", new StallClassifier.Limits(Duration.ofMinutes(4), Duration.ofSeconds(20)));
        try (GuestRun run = host.start(scenario)) {
            run.console().expectLine(STARTED, BOOT);
            HostCommand.require("stopping QEMU", List.of("kill", "-STOP", Long.toString(run.processHandle().pid())),
                    null, Duration.ofSeconds(30));
            HostStalledException e = assertThrows(HostStalledException.class,
                    () -> run.console().expectLine(Pattern.compile("never"), Duration.ofMinutes(3)));
            assertTrue(e.getMessage().startsWith("the emulated host stalled (L1 stopped: no heartbeat and no console output"
                    + " for 20"), e.getMessage());
        }
    }

    @Test
    void anL1KernelPanicIsAStall() throws IOException {
        Scenario scenario = silentAfterStart("echo c > /proc/sysrq-trigger", StallClassifier.Limits.DEFAULT);
        try (GuestRun run = host.start(scenario)) {
            // The panic can reach the kernel-message channel before the console's "started" line is
            // read, so the stall may be reported while waiting for either.
            HostStalledException e = assertThrows(HostStalledException.class, () -> {
                run.console().expectLine(STARTED, BOOT);
                run.awaitExit(Duration.ofMinutes(3));
            });
            // Seen while QEMU still runs, or once the panic has ended it.
            assertTrue(e.getMessage().startsWith("the emulated host stalled (L1's kernel reported: ")
                    || e.getMessage().startsWith("the emulated host failed (L1's kernel reported: "), e.getMessage());
            assertTrue(e.getMessage().contains("Kernel panic - not syncing: sysrq triggered crash"), e.getMessage());
        }
    }
}
