package io.aether.devices.i8042;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.common.InterruptLine;
import io.aether.devices.BusAccess;
import io.aether.devices.RecordingPower;
import io.aether.testkit.Gen;
import io.aether.testkit.Property;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The controller and keyboard against the published command set (IBM PS/2 and AT technical
 * references: the 8042's status bits, configuration byte and commands; the keyboard's commands
 * and scan code set 2). Expected bytes are written out here from those tables.
 */
@Timeout(30)
class I8042Test {

    private static final int DATA = 0;
    private static final int STATUS = 4;

    private final RecordingPower power = new RecordingPower();
    private final Edges irq = new Edges();

    /** Counts rising edges on the line and remembers its level. */
    static final class Edges implements InterruptLine {
        int rising;
        boolean level;

        @Override
        public void set(boolean asserted) {
            if (asserted && !level) rising++;
            level = asserted;
        }
    }

    private I8042 kbd() {
        return new I8042(power, irq);
    }

    private static int in(I8042 kbd, int offset) {
        byte[] b = new byte[1];
        kbd.read(offset, b);
        return b[0] & 0xFF;
    }

    private static void out(I8042 kbd, int offset, int value) {
        kbd.write(offset, new byte[] {(byte) value});
    }

    /** Reads every byte waiting, as a driver does: status first, data while "output full" says so. */
    private static List<Integer> drain(I8042 kbd) {
        List<Integer> bytes = new ArrayList<>();
        while ((in(kbd, STATUS) & 0x01) != 0) bytes.add(in(kbd, DATA));
        return bytes;
    }

    @Test
    void afterPowerOnTheStatusSaysEmptyReadyAndPostPassed() {
        I8042 kbd = kbd();
        // Output buffer empty (bit 0), input buffer empty (bit 1), system flag (bit 2), not inhibited (bit 4).
        assertEquals(0x14, in(kbd, STATUS));
        assertEquals(0, irq.rising);
    }

    @Test
    void controllerSelfTestsAndReportsItsConfiguration() {
        I8042 kbd = kbd();
        out(kbd, STATUS, 0xAA);
        // Bit 3 says the last write went to the command port.
        assertEquals(0x1D, in(kbd, STATUS));
        assertEquals(List.of(0x55), drain(kbd));
        out(kbd, STATUS, 0xAB);
        assertEquals(List.of(0x00), drain(kbd));
        out(kbd, STATUS, 0x20);
        // Keyboard interrupt (bit 0), system flag (bit 2), auxiliary port disabled (bit 5).
        assertEquals(List.of(0x25), drain(kbd));
    }

    @Test
    void configurationByteIsWrittenThroughTheDataPortAndTranslationStaysOff() {
        I8042 kbd = kbd();
        out(kbd, STATUS, 0x60);
        out(kbd, DATA, 0x74);                       // translate, keyboard disabled, aux disabled, system flag
        out(kbd, STATUS, 0x20);
        assertEquals(List.of(0x34), drain(kbd));
        out(kbd, STATUS, 0xAE);
        out(kbd, STATUS, 0xA8);
        out(kbd, STATUS, 0x20);
        assertEquals(List.of(0x04), drain(kbd));
        out(kbd, STATUS, 0xAD);
        out(kbd, STATUS, 0xA7);
        out(kbd, STATUS, 0x20);
        assertEquals(List.of(0x34), drain(kbd));
        // Clearing the system flag clears it in the status register too.
        out(kbd, STATUS, 0x60);
        out(kbd, DATA, 0x00);
        assertEquals(0x10, in(kbd, STATUS));
        assertEquals(0, kbd.counters().ignoredAccesses());
    }

    @Test
    void theAbsentAuxiliaryPortFailsItsTestsAtOnce() {
        I8042 kbd = kbd();
        out(kbd, STATUS, 0xD3);
        out(kbd, DATA, 0x5A);
        int status = in(kbd, STATUS);
        assertEquals(0x01, status & 0x01, "the loop answers at once");
        assertEquals(0, status & 0x20, "but not as auxiliary data");
        assertEquals(List.of(0x5A), drain(kbd));
        out(kbd, STATUS, 0xA9);
        int test = drain(kbd).getFirst();
        assertTrue(test >= 0x01 && test <= 0x04, "an interface test failure code, got " + test);
        // A byte for the auxiliary device goes nowhere and is not taken for a keyboard command.
        out(kbd, STATUS, 0xD4);
        out(kbd, DATA, 0xF2);
        assertEquals(List.of(), drain(kbd));
        assertEquals(1, kbd.counters().ignoredAccesses());
    }

    @Test
    void keyboardAnswersLinuxAtkbdProbe() {
        I8042 kbd = kbd();
        out(kbd, DATA, 0xF2);                        // identify
        assertEquals(List.of(0xFA, 0xAB, 0x83), drain(kbd));
        out(kbd, DATA, 0xF5);                        // disable scanning
        assertEquals(List.of(0xFA), drain(kbd));
        out(kbd, DATA, 0xED);                        // LEDs ...
        assertEquals(List.of(0xFA), drain(kbd));
        out(kbd, DATA, 0x00);                        // ... all off
        assertEquals(List.of(0xFA), drain(kbd));
        out(kbd, DATA, 0xF3);                        // typematic ...
        out(kbd, DATA, 0x20);                        // ... 30 per second, 500 ms
        assertEquals(List.of(0xFA, 0xFA), drain(kbd));
        out(kbd, DATA, 0xF4);                        // enable scanning
        assertEquals(List.of(0xFA), drain(kbd));
        out(kbd, DATA, 0xFF);                        // reset: ACK, then basic assurance test passed
        assertEquals(List.of(0xFA, 0xAA), drain(kbd));
        out(kbd, DATA, 0xEE);
        assertEquals(List.of(0xEE), drain(kbd));
        out(kbd, DATA, 0xFE);                        // resend: the last byte again
        assertEquals(List.of(0xEE), drain(kbd));
    }

    @Test
    void keyboardSpeaksScanCodeSetTwoOnly() {
        I8042 kbd = kbd();
        out(kbd, DATA, 0xF0);
        out(kbd, DATA, 0x00);                        // which set?
        assertEquals(List.of(0xFA, 0xFA, 0x02), drain(kbd));
        out(kbd, DATA, 0xF0);
        out(kbd, DATA, 0x02);
        assertEquals(List.of(0xFA, 0xFA), drain(kbd));
        out(kbd, DATA, 0xF0);
        out(kbd, DATA, 0x03);
        assertEquals(List.of(0xFA, 0xFE), drain(kbd));
        out(kbd, DATA, 0x42);                        // no such command
        assertEquals(List.of(0xFE), drain(kbd));
    }

    @Test
    void ctrlAltDelArrivesInScanCodeSetTwoWithAnEdgePerByte() {
        I8042 kbd = kbd();
        assertTrue(kbd.pressCtrlAltDel());
        List<Integer> bytes = new ArrayList<>();
        while ((in(kbd, STATUS) & 0x01) != 0) {
            assertTrue(irq.level, "the line is up while a byte waits");
            bytes.add(in(kbd, DATA));
        }
        assertFalse(irq.level);
        // Left Ctrl 14, left Alt 11, Delete E0 71; released: E0 F0 71, F0 11, F0 14.
        assertEquals(List.of(0x14, 0x11, 0xE0, 0x71, 0xE0, 0xF0, 0x71, 0xF0, 0x11, 0xF0, 0x14), bytes);
        assertEquals(11, irq.rising);
        assertEquals(1, kbd.counters().ctrlAltDels());
        assertEquals(0, power.resets(), "the guest decides what Ctrl-Alt-Del does");
    }

    @Test
    void noInterruptWhileTheConfigurationDisablesIt() {
        I8042 kbd = kbd();
        out(kbd, STATUS, 0x60);
        out(kbd, DATA, 0x04);
        assertTrue(kbd.pressCtrlAltDel());
        assertEquals(11, drain(kbd).size(), "a polling guest still reads the keys");
        assertEquals(0, irq.rising);
    }

    @Test
    void aDisabledKeyboardInterfaceHoldsTheKeysUntilEnabled() {
        I8042 kbd = kbd();
        out(kbd, STATUS, 0xAD);
        assertTrue(kbd.pressCtrlAltDel());
        assertEquals(0, in(kbd, STATUS) & 0x01);
        assertEquals(0, irq.rising);
        out(kbd, STATUS, 0xAE);
        assertEquals(1, irq.rising);
        assertEquals(11, drain(kbd).size());
    }

    @Test
    void keysAreRefusedWhileScanningIsOffOrTheBufferIsFull() {
        I8042 kbd = kbd();
        out(kbd, DATA, 0xF5);
        drain(kbd);
        assertFalse(kbd.pressCtrlAltDel());
        out(kbd, DATA, 0xF4);
        drain(kbd);
        assertTrue(kbd.pressCtrlAltDel());
        // 11 bytes wait; another 11 would pass the keyboard's 16.
        assertFalse(kbd.pressCtrlAltDel());
        assertEquals(new I8042.Counters(0, 1, 2, 0), kbd.counters());
        assertEquals(11, drain(kbd).size());
        assertTrue(kbd.pressCtrlAltDel());
    }

    @Test
    void answersBeyondTheBuffersAreDroppedAndCounted() {
        I8042 kbd = kbd();
        for (int i = 0; i < 10; i++) out(kbd, DATA, 0xF2);       // 30 answer bytes for a 16-byte keyboard buffer
        for (int i = 0; i < 10; i++) out(kbd, STATUS, 0xAA);     // 10 answers for a 4-byte controller buffer
        assertEquals(14 + 6, kbd.counters().ignoredAccesses());
        assertEquals(4 + 16, drain(kbd).size());
    }

    @Test
    void resetComesFromPulsingBitZeroOrWritingItLow() {
        I8042 kbd = kbd();
        out(kbd, STATUS, 0xFE);
        assertEquals(1, power.resets());
        out(kbd, STATUS, 0xF0);                      // pulse all four lines, reset among them
        assertEquals(2, power.resets());
        out(kbd, STATUS, 0xFF);                      // pulse none: Linux's null command
        out(kbd, STATUS, 0xD1);
        out(kbd, DATA, 0xDF);                        // A20 on, reset line high: Linux at boot
        assertEquals(2, power.resets());
        out(kbd, STATUS, 0xD0);
        assertEquals(List.of(0xDF), drain(kbd));
        out(kbd, STATUS, 0xD1);
        out(kbd, DATA, 0xDE);
        assertEquals(3, power.resets());
        assertEquals(3, kbd.counters().resetRequests());
        assertEquals(0, power.powerOffs());
    }

    @Test
    void otherSizesOffsetsAndCommandsAreIgnoredAndCounted() {
        I8042 kbd = kbd();
        out(kbd, STATUS, 0xC0);                      // read input port: not modelled
        kbd.write(4, new byte[] {(byte) 0xFE, 0});   // wrong size
        out(kbd, 3, 0xFE);                           // not a port of the controller
        byte[] wide = {1, 1};
        kbd.read(4, wide);
        assertEquals(0, wide[0] | wide[1]);
        assertEquals(0, in(kbd, 1));
        assertEquals(0, power.resets());
        assertEquals(5, kbd.counters().ignoredAccesses());
    }

    @Test
    void anyAccessSequenceResetsExactlyOnTheResetCommandsAndStaysBounded() {
        Property.forAll(accesses()).tries(300).check(this::resetsAsTheModelSays);
    }

    /**
     * A model of which writes reset: a command F0-FF with bit 0 clear, or the data byte right
     * after command D1 with bit 0 clear (another command in between cancels the D1).
     */
    private void resetsAsTheModelSays(List<BusAccess> accesses) {
        power.clear();
        I8042 kbd = kbd();
        int expected = 0;
        boolean outputPortNext = false;
        for (BusAccess a : accesses) {
            byte[] data = new byte[a.size()];
            if (a.size() > 0) data[0] = (byte) a.value();
            if (!a.write()) {
                kbd.read(a.offset(), data);
                continue;
            }
            kbd.write(a.offset(), data);
            if (a.size() != 1 || (a.offset() != 0 && a.offset() != 4)) continue;
            if (a.offset() == 4) {
                if (a.value() >= 0xF0 && (a.value() & 1) == 0) expected++;
                outputPortNext = a.value() == 0xD1;
            } else {
                if (outputPortNext && (a.value() & 1) == 0) expected++;
                outputPortNext = false;
            }
        }
        assertEquals(expected, power.resets());
        assertEquals(expected, kbd.counters().resetRequests());
        assertTrue(drain(kbd).size() <= 16 + 4, "the buffers stay bounded");
    }

    private static Gen<List<BusAccess>> accesses() {
        return BusAccess.runs(Gen.frequency(Gen.weighted(5, Gen.choose(0L, 4L)), Gen.weighted(1, Gen.longs(-1, 8))),
                Gen.frequency(Gen.weighted(1, Gen.choose(0xFE, 0xD1, 0xF2, 0xAA, 0x20, 0x60)), Gen.weighted(3, Gen.ints(0, 255))));
    }
}
