package io.aether.testhost;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.testhost.StallClassifier.EmulatorStalled;
import io.aether.testhost.StallClassifier.Limits;
import io.aether.testhost.StallClassifier.MonitorHung;
import io.aether.testhost.StallClassifier.Running;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Synthetic timelines of a nested run (console output, L1's heartbeat and kernel messages, in
 * seconds since QEMU started) fed to the classifier, with the default limits: 150 s of console
 * silence, 60 s without any sign of L1.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class StallClassifierTest {

    /** Near the top of the range: nanoTime's origin is arbitrary, so the timelines cross the wrap. */
    private static final long START = Long.MAX_VALUE - 100_000_000_000L;

    private final StallClassifier classifier = new StallClassifier(Limits.DEFAULT, START);

    private static long at(double seconds) {
        return START + (long) (seconds * 1e9);
    }

    private void heartbeats(double from, double to) {
        for (double t = from; t <= to; t += 5) {
            classifier.hostLine(StallClassifier.HEARTBEAT + " " + t, at(t));
        }
    }

    @Test
    void silenceBeforeTheFirstHeartbeatIsAStalledBoot() {
        classifier.hostLine("[    0.412000] x86/cpu: SGX disabled by BIOS.", at(2));
        assertInstanceOf(Running.class, classifier.verdict(at(151.9)));
        var stalled = assertInstanceOf(EmulatorStalled.class, classifier.verdict(at(152)));
        assertEquals("no heartbeat from L1 yet and no output for 150 s: it stalled before its init started", stalled.reason());
    }

    @Test
    void aSilentConsoleWhileL1BeatsIsAMonitorHang() {
        heartbeats(20, 100);
        classifier.consoleOutput(at(30));
        assertEquals(new Running(at(100 + 60)), classifier.verdict(at(100)), "L1 must beat again first");
        heartbeats(105, 175);
        assertEquals(new Running(at(30 + 150)), classifier.verdict(at(178)), "then the console must speak");
        heartbeats(180, 180);
        var hung = assertInstanceOf(MonitorHung.class, classifier.verdict(at(180)));
        assertTrue(hung.reason().startsWith("the console was silent for 150 s while L1 stayed alive (its last heartbeat"
                + " 0 s ago, at uptime 180.0 s): the monitor or its guest hangs"), hung.reason());
    }

    @Test
    void theConsoleSilenceCountsFromL1sFirstHeartbeat() {
        // A slow L1 boot: 100 s before its init runs, then another minute to the scenario.
        heartbeats(100, 245);
        assertInstanceOf(Running.class, classifier.verdict(at(249)));
        heartbeats(250, 250);
        assertInstanceOf(MonitorHung.class, classifier.verdict(at(250)));
    }

    @Test
    void l1FallingSilentOnBothChannelsIsAnEmulatorStall() {
        heartbeats(10, 70);
        classifier.consoleOutput(at(75));
        assertEquals(new Running(at(75 + 60)), classifier.verdict(at(100)));
        var stalled = assertInstanceOf(EmulatorStalled.class, classifier.verdict(at(135)));
        assertEquals("L1 stopped: no heartbeat and no console output for 60 s (the last heartbeat at L1 uptime 70.0 s)",
                stalled.reason());
    }

    @Test
    void consoleOutputKeepsL1AliveWhenItsHeartbeatIsLate() {
        heartbeats(10, 20);
        for (int t = 20; t <= 140; t += 10) {
            classifier.consoleOutput(at(t));
        }
        assertInstanceOf(Running.class, classifier.verdict(at(150)), "the console passes through L1: it is running");
        assertInstanceOf(EmulatorStalled.class, classifier.verdict(at(200)));
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "[   48.942600] watchdog: BUG: soft lockup - CPU#0 stuck for 26s! [java:100]",
            "[   61.100000] BUG: TASK stack guard page was hit at 00000000a1b2c3d4 (stack is 0000000011223344..0000000055667788)",
            "[   70.000000] Kernel panic - not syncing: Fatal exception",
            "[   80.000000] rcu: INFO: rcu_preempt self-detected stall on CPU",
            "[   81.000000] rcu: INFO: rcu_sched detected stalls on CPUs/tasks:",
            "[   90.000000] Oops: general protection fault, probably for non-canonical address 0xdead: 0000 [#1] SMP",
            "[   95.000000] NMI watchdog: Watchdog detected hard LOCKUP on cpu 1"})
    void aFailureReportedByL1sKernelIsAnEmulatorStallAtOnce(String message) {
        heartbeats(10, 45);
        classifier.consoleOutput(at(46));
        classifier.hostLine(message, at(47));
        var stalled = assertInstanceOf(EmulatorStalled.class, classifier.verdict(at(47)));
        assertEquals("L1's kernel reported: " + message, stalled.reason());
        assertEquals(Optional.of(message), classifier.kernelFailure());
    }

    @Test
    void ordinaryKernelMessagesAreKeptButChangeNothing() {
        heartbeats(10, 30);
        classifier.consoleOutput(at(30));
        classifier.hostLine("[   12.000000] kvm: Nested Virtualization enabled", at(31));
        classifier.hostLine("[   13.000000] [Firmware Bug]: TSC_DEADLINE disabled due to Errata", at(32));
        assertInstanceOf(Running.class, classifier.verdict(at(33)));
        assertEquals(Optional.empty(), classifier.kernelFailure());
        assertEquals("""
                L1's last heartbeat: 3 s ago, at uptime 30.0 s
                --- L1 kernel messages (last 2) ---
                [   12.000000] kvm: Nested Virtualization enabled
                [   13.000000] [Firmware Bug]: TSC_DEADLINE disabled due to Errata""", classifier.report(at(33)));
    }

    @Test
    void aHeartbeatSharingALineWithAKernelMessageCountsAsBoth() {
        classifier.hostLine("AETHER-L1-ALIVE 12.34[   12.350000] Kernel panic - not syncing: sysrq triggered crash", at(12));
        assertEquals(Optional.of("[   12.350000] Kernel panic - not syncing: sysrq triggered crash"), classifier.kernelFailure());
        assertTrue(classifier.report(at(13)).startsWith("L1's last heartbeat: 1 s ago, at uptime 12.34 s"),
                classifier.report(at(13)));
    }

    @Test
    void theReportKeepsTheLastSixtyKernelMessages() {
        for (int i = 0; i < 100; i++) {
            classifier.hostLine("message " + i, at(1));
        }
        String report = classifier.report(at(2));
        assertTrue(report.startsWith("no heartbeat from L1\n--- L1 kernel messages (last 60) ---\nmessage 40\n"), report);
        assertTrue(report.endsWith("\nmessage 99"), report);
        assertFalse(report.contains("message 39\n"), report);
    }

    @Test
    void limitsArePositive() {
        assertThrows(IllegalArgumentException.class, () -> new Limits(Duration.ZERO, Duration.ofSeconds(1)));
        assertThrows(IllegalArgumentException.class, () -> new Limits(Duration.ofSeconds(1), Duration.ofSeconds(-1)));
    }
}
