package io.aether.testhost;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class GuestConsoleTest {

    private final ByteArrayOutputStream sent = new ByteArrayOutputStream();
    private final GuestConsole console = new GuestConsole(sent, null, Duration.ofMillis(100), () -> "\n[diagnostics]", null);

    @Test
    void matchesInOrderAndConsumes() {
        console.received("boot\r\nAETHER-GUEST-READY\r\n/ # ");
        assertEquals("AETHER-GUEST-READY", console.expectLine("AETHER-GUEST-READY"));
        assertEquals("# ", console.expect(GuestConsole.PROMPT, Duration.ofMillis(50)).group());
        var e = assertThrows(AssertionError.class, () -> console.expectLine("boot"));
        assertTrue(e.getMessage().startsWith("no a line matching /boot/ on the console within 0.1 s"), e.getMessage());
        assertEquals("boot\nAETHER-GUEST-READY\n/ # ", console.transcript(), "carriage returns removed");
    }

    @Test
    void aPromptIsLastOrFollowedByAKernelMessage() {
        console.received("price: 5$ each\n/ # ");
        assertEquals("price: 5$ each\n/ ".length(), console.expect(GuestConsole.PROMPT, Duration.ofMillis(100)).start(),
                "a '$ ' inside output is no prompt");
        console.received("echo hi\nhi\n/ # [    5.123456] virtio_net virtio1 eth0: link up\n");
        var m = console.expect(GuestConsole.PROMPT, Duration.ofMillis(100));
        assertEquals(console.transcript().indexOf("/ # [") + 2, m.start());
        assertThrows(AssertionError.class, () -> console.expect(GuestConsole.PROMPT, Duration.ofMillis(100)));
    }

    @Test
    void aLineMustBeComplete() {
        console.received("hello wor");
        assertThrows(AssertionError.class, () -> console.expectLine("hello wor"));
        console.received("ld\n");
        assertEquals("hello world", console.expectLine("hello world"));
    }

    @Test
    void dropsTerminalEscapesEvenAcrossChunks() {
        console.received("\u001bc\u001b[?7l\u001b[2JAETHER-L1-READY\n/ # \u001b[");
        console.received("6n");
        console.received("\u001b]0;title\u0007done\n");
        assertEquals("AETHER-L1-READY\n/ # done\n", console.transcript());
        assertEquals("AETHER-L1-READY", console.expectLine("AETHER-L1-READY"));
        assertEquals("# ", console.expect(Pattern.compile("# "), Duration.ofMillis(50)).group());
    }

    @Test
    void theEndOfTheRunFailsAWaitAtOnceWithTheTranscript() {
        console.received("Kernel panic - not syncing\n");
        console.end("QEMU exited with status 0");
        var e = assertThrows(AssertionError.class, () -> console.expectLine(Pattern.compile("READY"), Duration.ofHours(1)));
        assertEquals("""
                the console ended (QEMU exited with status 0) before a line matching /READY/ appeared
                --- console transcript ---
                Kernel panic - not syncing
                --- end of transcript ---
                [diagnostics]""", e.getMessage());
    }

    @Test
    void sendsLines() {
        console.sendLine("echo hello");
        console.send("\u0003");
        assertEquals("echo hello\n\u0003", sent.toString(StandardCharsets.UTF_8));
    }

    @Test
    void keepsTheTailOfALongTranscript() {
        String tail = GuestConsole.tail("x".repeat(100) + "END", 10);
        assertEquals("--- console transcript (last 10 characters) ---\n[...]xxxxxxxEND\n--- end of transcript ---", tail);
    }

    private static GuestConsole nested(Duration consoleLimit, Duration heartbeatLimit) {
        return new GuestConsole(new ByteArrayOutputStream(), null, Duration.ofSeconds(30), () -> "",
                new StallClassifier(new StallClassifier.Limits(consoleLimit, heartbeatLimit), System.nanoTime()));
    }

    @Test
    void anEmulatedHostThatFallsSilentIsReportedAsStalled() {
        var watched = nested(Duration.ofMillis(200), Duration.ofMillis(200));
        watched.received("booting\n");
        var e = assertThrows(HostStalledException.class, () -> watched.expectLine(Pattern.compile("never"), Duration.ofSeconds(20)));
        assertTrue(e.getMessage().startsWith("the emulated host stalled (no heartbeat from L1 yet and no output for"), e.getMessage());
    }

    @Test
    void aSilentConsoleWhileL1BeatsFailsAtTheLimitAsAHangThatIsNotRetried() {
        var watched = nested(Duration.ofMillis(300), Duration.ofSeconds(20));
        watched.hostLine(StallClassifier.HEARTBEAT + " 4.20");
        watched.received("AETHER-L1-READY\n");
        long t0 = System.nanoTime();
        var e = assertThrows(AssertionError.class, () -> watched.expectLine(Pattern.compile("never"), Duration.ofSeconds(20)));
        assertFalse(e instanceof HostStalledException, "a hang of the monitor is no stall of the emulator: " + e.getMessage());
        assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(10), "fails at the console limit, not at the wait's");
        assertTrue(e.getMessage().startsWith("no progress while waiting for a line matching /never/: the console was silent"
                + " for 0.3 s while L1 stayed alive"), e.getMessage());
        assertTrue(e.getMessage().contains("L1's last heartbeat: "), e.getMessage());
    }

    @Test
    void aSoftLockupReportedByL1sKernelIsAStallAtOnce() {
        var watched = nested(Duration.ofMinutes(5), Duration.ofMinutes(5));
        watched.hostLine("[   48.942600] watchdog: BUG: soft lockup - CPU#0 stuck for 26s! [java:100]");
        var e = assertThrows(HostStalledException.class, () -> watched.expectLine(Pattern.compile("never"), Duration.ofSeconds(20)));
        assertTrue(e.getMessage().startsWith("the emulated host stalled (L1's kernel reported: [   48.942600] watchdog: BUG:"
                + " soft lockup"), e.getMessage());
    }

    @Test
    void aSoftLockupOnTheConsoleIsTheGuestsNotTheEmulators() {
        var watched = nested(Duration.ofMinutes(5), Duration.ofMinutes(5));
        watched.hostLine(StallClassifier.HEARTBEAT + " 30.00");
        watched.received("[   48.942600] watchdog: BUG: soft lockup - CPU#0 stuck for 26s! [swapper/0:1]\n");
        var e = assertThrows(AssertionError.class, () -> watched.expectLine(Pattern.compile("never"), Duration.ofMillis(200)));
        assertFalse(e instanceof HostStalledException, e.getMessage());
        assertTrue(e.getMessage().startsWith("no a line matching /never/ on the console within 0.2 s"), e.getMessage());
    }

    @Test
    void aRunThatEndsAfterL1PanickedIsAStall() {
        var watched = nested(Duration.ofMinutes(5), Duration.ofMinutes(5));
        watched.hostLine("[   20.000000] Kernel panic - not syncing: sysrq triggered crash");
        watched.end("QEMU exited with status 0");
        var e = assertThrows(HostStalledException.class, () -> watched.expectLine(Pattern.compile("READY"), Duration.ofHours(1)));
        assertTrue(e.getMessage().startsWith("the emulated host failed (L1's kernel reported: [   20.000000] Kernel panic"
                + " - not syncing: sysrq triggered crash), so the console ended (QEMU exited with status 0) before a line"
                + " matching /READY/ appeared"), e.getMessage());
    }

    @Test
    void aNestedGuestThatResetsBeforeItsInitIsTheEmulatorsFailure() {
        var watched = nested(Duration.ofMinutes(5), Duration.ofMinutes(5));
        watched.received("AETHER-L1-READY\n[    0.564896] PCI: Fatal: No config space access function found\n\n"
                + "aether: guest crashed on vCPU 0: triple fault\n\nAETHER-L1-EXIT 3\n");
        watched.end("QEMU exited with status 0");
        var e = assertThrows(HostStalledException.class,
                () -> watched.expectLine(Pattern.compile("AETHER-GUEST-READY"), Duration.ofHours(1)));
        assertTrue(e.getMessage().startsWith("the emulated host reset the guest while its kernel booted (aether: guest crashed"
                + " on vCPU 0: triple fault), so the console ended (QEMU exited with status 0) before a line matching"
                + " /AETHER-GUEST-READY/ appeared"), e.getMessage());
    }

    @Test
    void aTripleFaultOnlyCountsAsTheEmulatorsWhileTheGuestBootsAndOnlyInANestedRun() {
        String crash = "aether: guest crashed on vCPU 1: triple fault\n";
        // A second boot in the same scenario resets: after the last ready marker, so the emulator's.
        assertEquals(Optional.of("aether: guest crashed on vCPU 1: triple fault"),
                GuestConsole.bootTripleFault("AETHER-GUEST-READY\n/ # exit\n" + crash));
        // Before the marker of a guest that then booted, or anywhere but at a line's start: not this boot's.
        assertEquals(Optional.empty(), GuestConsole.bootTripleFault(crash + "AETHER-GUEST-READY\n/ # "));
        assertEquals(Optional.empty(), GuestConsole.bootTripleFault("echo aether: guest crashed on vCPU 0: triple fault\n"));
        assertEquals(Optional.empty(), GuestConsole.bootTripleFault("aether: guest crashed on vCPU 0: KVM emulation failure\n"));

        console.received(crash);
        console.end("QEMU exited with status 0");
        var direct = assertThrows(AssertionError.class, () -> console.expectLine(Pattern.compile("READY"), Duration.ofHours(1)));
        assertFalse(direct instanceof HostStalledException, "on hardware KVM a reset is the monitor's or the guest's: " + direct.getMessage());
    }

    @Test
    void withoutAStallLimitSilenceIsAnOrdinaryTimeout() {
        var error = assertThrows(AssertionError.class, () -> console.expectLine(Pattern.compile("never"), Duration.ofMillis(50)));
        assertFalse(error instanceof HostStalledException);
    }
}
