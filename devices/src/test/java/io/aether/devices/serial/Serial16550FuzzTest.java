package io.aether.devices.serial;

import static io.aether.testkit.Gen.weighted;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.aether.devices.LineRecorder;
import io.aether.testkit.Coverage;
import io.aether.testkit.Gen;
import io.aether.testkit.Property;
import java.io.ByteArrayOutputStream;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Fuzz target for the UART: random register accesses and host input. Nothing may escape, the
 * interrupt line must match the pending interrupt, and every received byte must be accounted
 * for (read by the guest, dropped, or still held).
 */
class Serial16550FuzzTest {

    /** A guest access ({@code size} > 0) or host input ({@code size} == 0, {@code value} bytes). */
    record Op(int offset, int size, boolean write, int value) {
    }

    @Test
    void uartSurvivesAnyAccesses() {
        Coverage coverage = new Coverage();
        Property.forAll(ops()).tries(500).check(ops -> coverage.collect("guest read input", run(ops).bytesIn() > 0));
        coverage.require("guest read input", 10);
    }

    /** The Linux driver's start-up: FIFO on, 8N1 at 115200, interrupts on, then traffic. */
    @Test
    void linuxStartupSequence() {
        run(List.of(new Op(3, 1, true, 0x80), new Op(0, 1, true, 1), new Op(1, 1, true, 0), new Op(3, 1, true, 0x03),
                new Op(2, 1, true, 0x07), new Op(4, 1, true, 0x0B), new Op(1, 1, true, 0x0F), new Op(0, 0, false, 20),
                new Op(2, 1, false, 0), new Op(5, 1, false, 0), new Op(0, 1, false, 0), new Op(0, 1, true, 'A'),
                new Op(2, 1, false, 0), new Op(6, 1, false, 0)));
    }

    private static Serial16550.Counters run(List<Op> ops) {
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        LineRecorder irq = new LineRecorder();
        Serial16550 uart = new Serial16550(sink, irq, 8, () -> { });
        long accepted = 0;
        long looped = 0;
        for (Op op : ops) {
            if (op.size() == 0) {
                accepted += uart.enqueueInput(new byte[op.value()]);
            } else if (op.write()) {
                byte[] lcr = new byte[1];
                byte[] mcr = new byte[1];
                uart.read(3, lcr);
                uart.read(4, mcr);
                boolean thrWrite = op.offset() == 0 && op.size() == 1 && (lcr[0] & 0x80) == 0;
                if (thrWrite && (mcr[0] & 0x10) != 0) looped++;
                uart.write(op.offset(), op.size() == 1 ? new byte[] {(byte) op.value()} : new byte[op.size()]);
            } else {
                uart.read(op.offset(), new byte[op.size()]);
            }
            assertEquals(uart.pendingInterrupt() != Serial16550.IIR_NONE, irq.high(), "line follows the pending interrupt");
        }
        Serial16550.Counters c = uart.counters();
        assertEquals(sink.size(), c.bytesOut());
        assertEquals(accepted + looped, c.bytesIn() + c.inputDropped() + uart.buffered(), "received bytes add up");
        return c;
    }

    private static Gen<List<Op>> ops() {
        Gen<Integer> offset = Gen.frequency(weighted(20, Gen.ints(0, 7)), weighted(1, Gen.ints(-2, 12)));
        Gen<Integer> size = Gen.frequency(weighted(20, Gen.constant(1)), weighted(1, Gen.choose(2, 4)));
        Gen<Boolean> write = Gen.booleans();
        Gen<Integer> value = Gen.frequency(weighted(3, Gen.ints(0, 255)),
                weighted(2, Gen.choose(0x01, 0x03, 0x07, 0x0F, 0x10, 0x1B, 0x80, 0xC7)));
        Gen<Op> access = r -> new Op(offset.next(r), size.next(r), write.next(r), value.next(r));
        Gen<Op> input = Gen.ints(0, 40).map(n -> new Op(0, 0, false, n));
        return Gen.lists(Gen.frequency(weighted(6, access), weighted(1, input)), 0, 150);
    }
}
