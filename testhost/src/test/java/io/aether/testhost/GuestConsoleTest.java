package io.aether.testhost;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

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

    @Test
    void anEmulatedHostThatFallsSilentIsReportedAsStalled() {
        var watched = new GuestConsole(new java.io.ByteArrayOutputStream(), null, Duration.ofSeconds(30), () -> "", Duration.ofMillis(200));
        watched.received("booting\n");
        var e = org.junit.jupiter.api.Assertions.assertThrows(HostStalledException.class,
                () -> watched.expectLine(java.util.regex.Pattern.compile("never"), Duration.ofSeconds(20)));
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("the emulated host stalled (no output for"), e.getMessage());
    }

    @Test
    void aSoftLockupReportedByTheEmulatedHostsKernelIsAStallAtOnce() {
        var watched = new GuestConsole(new java.io.ByteArrayOutputStream(), null, Duration.ofSeconds(30), () -> "", Duration.ofMinutes(5));
        watched.received("[   48.942600] watchdog: BUG: soft lockup - CPU#0 stuck for 26s! [java:100]\n");
        var e = org.junit.jupiter.api.Assertions.assertThrows(HostStalledException.class,
                () -> watched.expectLine(java.util.regex.Pattern.compile("never"), Duration.ofSeconds(20)));
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("soft lockup"), e.getMessage());
    }

    @Test
    void withoutAStallLimitSilenceIsAnOrdinaryTimeout() {
        var error = org.junit.jupiter.api.Assertions.assertThrows(AssertionError.class,
                () -> console.expectLine(java.util.regex.Pattern.compile("never"), Duration.ofMillis(50)));
        org.junit.jupiter.api.Assertions.assertFalse(error instanceof HostStalledException);
    }
}
