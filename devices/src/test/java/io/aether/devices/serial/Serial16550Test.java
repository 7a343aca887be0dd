package io.aether.devices.serial;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.devices.LineRecorder;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class Serial16550Test {

    private final ByteArrayOutputStream sink = new ByteArrayOutputStream();
    private final LineRecorder irq = new LineRecorder();
    private final AtomicInteger spaceCalls = new AtomicInteger();
    private final Serial16550 uart = new Serial16550(sink, irq, 4, spaceCalls::incrementAndGet);

    private int in(int offset) {
        byte[] b = new byte[1];
        uart.read(offset, b);
        return b[0] & 0xFF;
    }

    private void out(int offset, int value) {
        uart.write(offset, new byte[] {(byte) value});
    }

    @Test
    void passesTheLinux8250AutoconfigChecks() {
        // Scratch register.
        out(7, 0xA5);
        assertEquals(0xA5, in(7));
        // IER: all four enable bits stick, nothing else.
        out(1, 0);
        assertEquals(0, in(1) & 0x0F);
        out(1, 0x0F);
        assertEquals(0x0F, in(1) & 0x0F);
        out(1, 0);
        // Loopback with RTS and OUT2: MSR shows CTS and DCD.
        out(4, 0x10 | 0x0A);
        assertEquals(0x90, in(6) & 0xF0);
        out(4, 0);
        // FIFO enable: IIR bits 7:6 both set (a 16550A).
        out(3, 0);
        out(2, 0x01);
        assertEquals(3, in(2) >> 6);
        // No EFR behind LCR 0xBF: offset 2 reads IIR, which is not 0.
        out(3, 0xBF);
        assertTrue(in(2) != 0);
        // Not a 16750: IIR bit 5 never set, with or without DLAB.
        out(3, 0);
        out(2, 0x21);
        assertEquals(0xC0, in(2) & 0xE0);
        out(3, 0x80);
        out(2, 0x21);
        assertEquals(0xC0, in(2) & 0xE0);
        out(3, 0);
        // Not an XScale: the UUE bit of IER does not stick.
        out(1, 0x40);
        assertEquals(0, in(1) & 0x40);
        assertEquals(0, uart.counters().badAccesses());
    }

    @Test
    void thrEmptyInterruptIsRaisedWhenEnabledAndClearedByReadingIir() {
        out(2, 0x01); // FIFO on
        out(1, 0x02); // ETBEI
        assertTrue(irq.high());
        assertEquals(0xC2, in(2));
        assertFalse(irq.high(), "reading IIR acknowledges THRE");
        assertEquals(0xC1, in(2));
        // The 8250 driver's UART_BUG_THRE test: re-enabling re-asserts THRE.
        out(1, 0);
        out(1, 0x02);
        assertTrue(irq.high());
        assertEquals(0x02, in(2) & 0x0F);
        // Transmitting re-raises it: the byte leaves at once.
        out(0, 'x');
        assertTrue(irq.high());
        out(1, 0);
        assertFalse(irq.high());
    }

    @Test
    void transmittedBytesGoToTheSink() {
        for (byte b : "boot ok\n".getBytes(StandardCharsets.US_ASCII)) out(0, b);
        assertEquals("boot ok\n", sink.toString(StandardCharsets.US_ASCII));
        assertEquals(8, uart.counters().bytesOut());
        assertEquals(0x60, in(5), "THRE and TEMT always set");
    }

    @Test
    void receivedBytesRaiseDataAvailable() {
        out(2, 0x01);
        out(1, 0x01); // ERBFI
        assertFalse(irq.high());
        assertEquals(2, uart.enqueueInput("hi".getBytes(StandardCharsets.US_ASCII)));
        assertTrue(irq.high());
        assertEquals(0xC4, in(2));
        assertEquals(0x61, in(5));
        assertEquals('h', in(0));
        assertEquals('i', in(0));
        assertFalse(irq.high());
        assertEquals(0x60, in(5));
        assertEquals(0, in(0), "empty FIFO reads 0");
        assertEquals(2, uart.counters().bytesIn());
    }

    @Test
    void inputBeyondTheBacklogIsRefusedAndSpaceIsSignalled() {
        // FIFO off: one byte in the receiver, four in the backlog.
        byte[] ten = "0123456789".getBytes(StandardCharsets.US_ASCII);
        assertEquals(5, uart.inputSpace());
        assertEquals(5, uart.enqueueInput(ten));
        assertEquals(5, uart.counters().inputRefused());
        assertEquals(0, uart.inputSpace());
        assertEquals(0, spaceCalls.get());
        assertEquals('0', in(0));
        assertEquals(1, spaceCalls.get(), "room again after a refusal");
        assertEquals('1', in(0));
        assertEquals(1, spaceCalls.get(), "only once per refusal");
        assertEquals(2, uart.enqueueInput("ab".getBytes(StandardCharsets.US_ASCII)));
        StringBuilder got = new StringBuilder();
        while ((in(5) & 1) != 0) got.append((char) in(0));
        assertEquals("234ab", got.toString());
    }

    @Test
    void fifoModeHoldsSixteenBytesBeyondTheBacklog() {
        out(2, 0x01);
        byte[] many = new byte[40];
        assertEquals(20, uart.enqueueInput(many));
        // Clearing the receive FIFO drops the 16 bytes in it; the backlog refills it.
        out(2, 0x03);
        assertEquals(16, uart.counters().inputDropped());
        assertEquals(4, uart.buffered());
    }

    @Test
    void loopbackFeedsTheReceiverAndOverruns() {
        out(1, 0x05); // ERBFI | ELSI
        out(4, 0x10);
        out(0, 'a');
        assertEquals(0, sink.size(), "loopback does not transmit");
        assertEquals(0x04, in(2) & 0x0F);
        out(0, 'b'); // FIFO off: one-byte receiver is full
        assertEquals(0x06, in(2) & 0x0F, "line status interrupt first");
        assertEquals(0x63, in(5), "DR and OE");
        assertEquals(0x61, in(5), "reading LSR cleared OE");
        assertEquals('a', in(0));
        assertEquals(1, uart.counters().inputDropped());
        // Host input waits while looping.
        assertEquals(1, uart.enqueueInput(new byte[] {'z'}));
        assertEquals(0x60, in(5));
        out(4, 0);
        assertEquals('z', in(0));
    }

    @Test
    void modemStatusDeltasInLoopback() {
        out(1, 0x08); // EDSSI
        out(4, 0x10);
        in(6); // clear deltas of entering loopback
        assertFalse(irq.high());
        out(4, 0x10 | 0x01 | 0x04); // DTR, OUT1
        assertTrue(irq.high());
        assertEquals(0x00, in(2) & 0x0F);
        assertEquals(0x20 | 0x40 | 0x02, in(6)); // DSR, RI, DDSR
        assertFalse(irq.high());
        out(4, 0x10 | 0x01); // RI falls: trailing edge
        assertEquals(0x20 | 0x04, in(6));
    }

    @Test
    void divisorLatchIsSeparateFromDataAndIer() {
        out(3, 0x80);
        out(0, 0x01);
        out(1, 0x00);
        assertEquals(0x01, in(0));
        assertEquals(0x00, in(1));
        out(3, 0x03);
        assertEquals(0, sink.size());
        assertEquals(0, in(1));
        assertEquals(0x03, in(3));
    }

    @Test
    void badAccessesAreCountedAndAnswerZero() {
        byte[] two = {1, 1};
        uart.read(0, two);
        assertArrayEquals(new byte[2], two);
        uart.write(8, new byte[] {1});
        uart.read(-1, new byte[1]);
        out(5, 0xFF);
        out(6, 0xFF);
        assertEquals(5, uart.counters().badAccesses());
        assertEquals(0x60, in(5));
    }

    @Test
    void outputErrorsAreCountedNotThrown() {
        OutputStream broken = new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                throw new IOException("closed");
            }
        };
        Serial16550 u = new Serial16550(broken, irq);
        u.write(0, new byte[] {'x'});
        assertEquals(1, u.counters().outputErrors());
        assertEquals(0, u.counters().bytesOut());
    }
}
