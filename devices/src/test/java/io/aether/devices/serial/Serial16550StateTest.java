package io.aether.devices.serial;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.devices.LineRecorder;
import io.aether.snapshot.Section;
import io.aether.snapshot.SnapshotException;
import io.aether.snapshot.StateFile;
import io.aether.snapshot.StateWriter;
import io.aether.testkit.Gen;
import io.aether.testkit.Property;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class Serial16550StateTest {

    private static Serial16550.State throughFile(Serial16550.State state) throws SnapshotException {
        StateWriter out = new StateWriter();
        state.write(out);
        Section section = StateFile.decode(StateFile.encode(List.of(out.toSection("serial")))).getFirst();
        var reader = section.reader();
        var back = Serial16550.State.read(reader);
        reader.end();
        return back;
    }

    /** States the live path can reach: outside loopback, host input waits only behind a full FIFO. */
    private static final Gen<Serial16550.State> STATES = Gen.lists(Gen.ints(0, 255), 7, 7).flatMap(regs ->
            Gen.lists(Gen.booleans(), 3, 3).flatMap(flags -> Gen.bytes(0, 16).flatMap(fifo -> Gen.bytes(0, 64).map(backlog -> {
                boolean enabled = flags.get(0);
                int depth = enabled ? 16 : 1;
                int mcr = regs.get(2) & 0x1F;
                byte[] held = java.util.Arrays.copyOf(fifo, Math.min(fifo.length, depth));
                boolean loop = (mcr & Serial16550.MCR_LOOP) != 0;
                if (!loop && held.length < depth) backlog = new byte[0];
                return new Serial16550.State(regs.get(0) & 0x0F, regs.get(1), mcr, regs.get(3) & 0x0F, regs.get(4), regs.get(5),
                        regs.get(6), enabled, flags.get(1), flags.get(2), held, backlog);
            }))));

    @Test
    void everyReachableStateSurvivesTheFileAndARestore() {
        Property.forAll(STATES).tries(500).check(state -> {
            assertEquals(state, throughFile(state));
            LineRecorder irq = new LineRecorder();
            Serial16550 uart = new Serial16550(new ByteArrayOutputStream(), irq);
            uart.restore(throughFile(state));
            assertEquals(state, uart.state());
            assertEquals(uart.pendingInterrupt() != Serial16550.IIR_NONE, irq.high());
        });
    }

    @Test
    void refusesValuesNoRegisterCanHold() {
        byte[] none = new byte[0];
        assertEquals("ier: 0x10 has bits outside 0xf", assertThrows(IllegalArgumentException.class,
                () -> new Serial16550.State(0x10, 0, 0, 0, 0, 0, 0, false, false, false, none, none)).getMessage());
        assertEquals("mcr: 0x20 has bits outside 0x1f", assertThrows(IllegalArgumentException.class,
                () -> new Serial16550.State(0, 0, 0x20, 0, 0, 0, 0, false, false, false, none, none)).getMessage());
        assertEquals("fifo: 2 bytes is more than its depth 1", assertThrows(IllegalArgumentException.class,
                () -> new Serial16550.State(0, 0, 0, 0, 0, 0, 0, false, false, false, new byte[2], none)).getMessage());
        assertEquals("backlog: host input waits while the FIFO has room", assertThrows(IllegalArgumentException.class,
                () -> new Serial16550.State(0, 0, 0, 0, 0, 0, 0, true, false, false, new byte[3], new byte[1])).getMessage());
        assertEquals("dll: 0x100 has bits outside 0xff", assertThrows(IllegalArgumentException.class,
                () -> new Serial16550.State(0, 0, 0, 0, 0, 0x100, 0, false, false, false, none, none)).getMessage());
    }

    @Test
    void decodingBoundsTheFifoBeforeReadingIt() {
        // seven registers, three flags, then a FIFO that claims 17 bytes
        byte[] payload = {0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 17};
        var e = assertThrows(SnapshotException.class, () -> Serial16550.State.read(new Section("serial", payload).reader()));
        assertEquals("section serial: field fifo: length 17 is more than 16", e.getMessage());
        byte[] loopless = {0, 0, 0, 0x40, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
        e = assertThrows(SnapshotException.class, () -> Serial16550.State.read(new Section("serial", loopless).reader()));
        assertEquals("section serial: msrDelta: 0x40 has bits outside 0xf", e.getMessage());
    }

    @Test
    void aBacklogLargerThanTheUartsCapacityIsRefusedAndChangesNothing() {
        LineRecorder irq = new LineRecorder();
        Serial16550 uart = new Serial16550(new ByteArrayOutputStream(), irq, 4, () -> { });
        Serial16550.State before = uart.state();
        var big = new Serial16550.State(Serial16550.IER_RDA, 3, 0, 0, 0, 12, 0, true, false, false, new byte[16], new byte[5]);
        var e = assertThrows(IllegalArgumentException.class, () -> uart.restore(big));
        assertEquals("backlog: 5 bytes is more than this UART's input capacity 4", e.getMessage());
        assertEquals(before, uart.state());
        assertTrue(irq.levels().isEmpty());
    }

    private static int in(Serial16550 uart, int offset) {
        byte[] b = new byte[1];
        uart.read(offset, b);
        return b[0] & 0xFF;
    }

    private static void out(Serial16550 uart, int offset, int value) {
        uart.write(offset, new byte[] {(byte) value});
    }

    /** What a guest sees next: every register read, the rest of the input, the line's levels. */
    private static List<Integer> nextGuestView(Serial16550 uart, LineRecorder irq) {
        List<Integer> seen = new ArrayList<>();
        irq.clear();
        seen.add(in(uart, Serial16550.IIR_FCR));
        seen.add(in(uart, Serial16550.LSR));
        seen.add(in(uart, Serial16550.MSR));
        seen.add(in(uart, Serial16550.SCR));
        out(uart, Serial16550.LCR, 0x83);
        seen.add(in(uart, Serial16550.DATA));
        seen.add(in(uart, Serial16550.IER));
        out(uart, Serial16550.LCR, 0x03);
        for (int i = 0; i < 40; i++) {
            seen.add(in(uart, Serial16550.LSR));
            seen.add(in(uart, Serial16550.DATA));
            seen.add(in(uart, Serial16550.IIR_FCR));
        }
        seen.add(uart.enqueueInput("after".getBytes(StandardCharsets.US_ASCII)));
        seen.add(in(uart, Serial16550.DATA));
        irq.levels().forEach(level -> seen.add(level ? 1 : 0));
        return seen;
    }

    @Test
    void aRestoredUartShowsTheGuestWhatTheOriginalWould() throws Exception {
        LineRecorder irq = new LineRecorder();
        Serial16550 original = new Serial16550(new ByteArrayOutputStream(), irq, 32, () -> { });
        out(original, Serial16550.LCR, 0x83); // DLAB: 115200 baud
        out(original, Serial16550.DATA, 1);
        out(original, Serial16550.IER, 0);
        out(original, Serial16550.LCR, 0x03);
        out(original, Serial16550.IIR_FCR, 0x07);
        out(original, Serial16550.IER, Serial16550.IER_RDA | Serial16550.IER_THRE | Serial16550.IER_MS);
        out(original, Serial16550.MCR, Serial16550.MCR_DTR | Serial16550.MCR_RTS | Serial16550.MCR_OUT2);
        out(original, Serial16550.SCR, 0x5A);
        original.enqueueInput("the quick brown fox jumps over it".getBytes(StandardCharsets.US_ASCII));
        in(original, Serial16550.DATA);
        in(original, Serial16550.DATA);
        assertTrue(irq.high());

        Serial16550.State saved = throughFile(original.state());
        LineRecorder restoredIrq = new LineRecorder();
        Serial16550 restored = new Serial16550(new ByteArrayOutputStream(), restoredIrq, 32, () -> { });
        restored.restore(saved);
        assertEquals(List.of(true), restoredIrq.levels(), "the line is high as the original's");

        List<Integer> expected = nextGuestView(original, irq);
        assertEquals(expected, nextGuestView(restored, restoredIrq));
        assertEquals('e', expected.get(7), "the third input byte comes next");
    }
}
