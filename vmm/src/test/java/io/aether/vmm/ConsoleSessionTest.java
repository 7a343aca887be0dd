package io.aether.vmm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.common.InterruptLine;
import io.aether.devices.serial.Serial16550;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class ConsoleSessionTest {

    private static byte[] filter(ConsoleSession session, String keys) {
        byte[] b = keys.getBytes(StandardCharsets.ISO_8859_1);
        return session.filter(b, b.length);
    }

    @Test
    void withoutEscapesEveryByteGoesToTheGuest() {
        var session = ConsoleSession.start(new ByteArrayInputStream(new byte[0]), false);
        assertArrayEquals("a\u0001x\u0003".getBytes(StandardCharsets.ISO_8859_1), filter(session, "a\u0001x\u0003"));
    }

    @Test
    void ctrlACtrlASendsOneCtrlAAndUnknownCommandsAreSwallowed() {
        var session = ConsoleSession.start(new ByteArrayInputStream(new byte[0]), true);
        assertArrayEquals("ab\u0001c".getBytes(StandardCharsets.ISO_8859_1), filter(session, "ab\u0001\u0001c"));
        assertArrayEquals("d".getBytes(StandardCharsets.ISO_8859_1), filter(session, "\u0001zd"));
        // An escape split across two reads still counts.
        assertArrayEquals(new byte[0], filter(session, "\u0001"));
        assertArrayEquals(new byte[] {1}, filter(session, "\u0001"));
    }

    @Test
    void ctrlAXEndsTheSession() {
        var session = ConsoleSession.start(new ByteArrayInputStream(new byte[0]), true);
        assertNull(filter(session, "ls\u0001x"));
    }

    @Test
    void theFirstByteAfterAQuietSpellReachesTheOutputAtOnceAndTheRestOfTheLineFollows() throws Exception {
        ByteArrayOutputStream written = new ByteArrayOutputStream();
        OutputStream console = ConsoleSession.lineFlushing(synchronizedOn(written));
        console.write('>');
        // On the writing thread, before write returns: no other thread has to wake for it.
        assertArrayEquals(new byte[] {'>'}, bytesOf(written));
        console.write(' ');
        console.write('$');
        // Within the delay these are gathered; the flusher sends them within it (a prompt ends without a newline).
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (bytesOf(written).length < 3 && System.nanoTime() < deadline) Thread.sleep(1);
        assertArrayEquals("> $".getBytes(StandardCharsets.US_ASCII), bytesOf(written));
        Thread.sleep(3 * ConsoleSession.FLUSH_DELAY_MILLIS);
        console.write('x');
        assertArrayEquals("> $x".getBytes(StandardCharsets.US_ASCII), bytesOf(written));
    }

    /**
     * The 8250 console transmits a line byte by byte, one port exit each: the line reaches the
     * console's sink (the monitor's log, a terminal) in a write or two, not one write call per
     * byte (a system call each, in the vCPU's exit path), and every byte in order.
     */
    @Test
    void aLineTheUartTransmitsReachesTheSinkInAFewWritesNotOnePerByte() throws Exception {
        ByteArrayOutputStream written = new ByteArrayOutputStream();
        int[] writes = {0};
        OutputStream sink = new OutputStream() {
            @Override
            public void write(int b) {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) {
                synchronized (written) {
                    writes[0]++;
                    written.write(b, off, len);
                }
            }
        };
        Serial16550 uart = new Serial16550(ConsoleSession.lineFlushing(sink), InterruptLine.NONE);
        byte[] line = "[    1.234567] a line of the guest's console, sixty-four bytes\n".getBytes(StandardCharsets.US_ASCII);
        for (byte b : line) uart.write(0, new byte[] {b}); // THR, as the guest's OUT to port 0x3F8 reaches it
        // The line end sends it at once, on the writing thread.
        assertArrayEquals(line, bytesOf(written));
        synchronized (written) {
            // The first byte after a quiet spell goes at once, the rest with the line end; a slow
            // machine may let the flusher send a piece between them.
            assertTrue(writes[0] <= 4, writes[0] + " writes for a line of " + line.length + " bytes");
        }
    }

    private static OutputStream synchronizedOn(ByteArrayOutputStream target) {
        return new OutputStream() {
            @Override
            public void write(int b) {
                synchronized (target) {
                    target.write(b);
                }
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                synchronized (target) {
                    target.write(b, off, len);
                }
            }
        };
    }

    private static byte[] bytesOf(ByteArrayOutputStream written) {
        synchronized (written) {
            return written.toByteArray();
        }
    }
}
