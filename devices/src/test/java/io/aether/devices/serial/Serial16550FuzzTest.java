package io.aether.devices.serial;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.aether.devices.LineRecorder;
import java.io.ByteArrayOutputStream;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.statistics.Statistics;

/**
 * Fuzz target for the UART: random register accesses and host input. Nothing may escape, the
 * interrupt line must match the pending interrupt, and every received byte must be accounted
 * for (read by the guest, dropped, or still held).
 */
class Serial16550FuzzTest {

    /** A guest access ({@code size} > 0) or host input ({@code size} == 0, {@code value} bytes). */
    record Op(int offset, int size, boolean write, int value) {
    }

    @Property(tries = 500)
    void uartSurvivesAnyAccesses(@ForAll("ops") List<Op> ops) {
        Serial16550.Counters c = run(ops);
        Statistics.label("guest read input").collect(c.bytesIn() > 0);
        Statistics.label("guest read input").coverage(k -> k.check(true).percentage(p -> p > 10));
    }

    /** The Linux driver's start-up: FIFO on, 8N1 at 115200, interrupts on, then traffic. */
    @Example
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

    @Provide
    Arbitrary<List<Op>> ops() {
        Arbitrary<Op> access = Combinators.combine(
                Arbitraries.frequencyOf(Tuple.of(20, Arbitraries.integers().between(0, 7)), Tuple.of(1, Arbitraries.integers().between(-2, 12))),
                Arbitraries.frequencyOf(Tuple.of(20, Arbitraries.just(1)), Tuple.of(1, Arbitraries.of(2, 4))),
                Arbitraries.of(true, false),
                Arbitraries.frequencyOf(Tuple.of(3, Arbitraries.integers().between(0, 255)),
                        Tuple.of(2, Arbitraries.of(0x01, 0x03, 0x07, 0x0F, 0x10, 0x1B, 0x80, 0xC7))))
                .as(Op::new);
        Arbitrary<Op> input = Arbitraries.integers().between(0, 40).map(n -> new Op(0, 0, false, n));
        return Arbitraries.frequencyOf(Tuple.of(6, access), Tuple.of(1, input)).list().ofMaxSize(150);
    }
}
