package io.aether.devices.i8042;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.devices.RecordingPower;
import io.aether.snapshot.Section;
import io.aether.snapshot.SnapshotException;
import io.aether.snapshot.StateFile;
import io.aether.snapshot.StateWriter;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class I8042StateTest {

    private static I8042.State throughFile(I8042.State state) throws SnapshotException {
        StateWriter out = new StateWriter();
        state.write(out);
        Section section = StateFile.decode(StateFile.encode(List.of(out.toSection("i8042")))).getFirst();
        var reader = section.reader();
        var back = I8042.State.read(reader);
        reader.end();
        return back;
    }

    private static void out(I8042 kbd, int offset, int value) {
        kbd.write(offset, new byte[] {(byte) value});
    }

    private static List<Integer> drain(I8042 kbd) {
        List<Integer> bytes = new ArrayList<>();
        byte[] b = new byte[1];
        while (true) {
            kbd.read(4, b);
            if ((b[0] & 1) == 0) return bytes;
            kbd.read(0, b);
            bytes.add(b[0] & 0xFF);
        }
    }

    @Test
    void keysWaitingAndAHalfDoneCommandSurviveASnapshot() throws Exception {
        I8042Test.Edges line = new I8042Test.Edges();
        I8042 before = new I8042(new RecordingPower(), line);
        out(before, 4, 0x20);                    // the controller's answer waits
        out(before, 0, 0xED);                    // set LEDs, its argument still to come
        assertTrue(before.pressCtrlAltDel());
        out(before, 4, 0xD1);                    // write output port, its data byte still to come
        I8042.State saved = before.state();
        assertEquals(saved, throughFile(saved));

        I8042Test.Edges restoredLine = new I8042Test.Edges();
        I8042 after = new I8042(new RecordingPower(), restoredLine);
        after.restore(throughFile(saved));
        assertEquals(saved, after.state());
        assertTrue(restoredLine.level, "bytes wait and the interrupt is enabled: the line is up");
        RecordingPower power = new RecordingPower();
        I8042 resumed = new I8042(power, restoredLine);
        resumed.restore(saved);
        out(resumed, 0, 0xDE);                   // the output port's data byte: reset line low
        assertEquals(1, power.resets());
        out(resumed, 0, 0x00);                   // the LEDs' argument
        // Configuration byte 0x25, the set-LEDs ACK, Ctrl-Alt-Del, then the argument's ACK.
        assertEquals(List.of(0x25, 0xFA, 0x14, 0x11, 0xE0, 0x71, 0xE0, 0xF0, 0x71, 0xF0, 0x11, 0xF0, 0x14, 0xFA), drain(resumed));
    }

    @Test
    void aStateTheControllerCannotReachIsRefusedNamingTheField() {
        byte[] none = new byte[0];
        assertEquals("config: 0x40 asks for translation, which this controller lacks", assertThrows(IllegalArgumentException.class,
                () -> new I8042.State(0x40, 3, false, -1, -1, true, 0xFA, 0, none, none)).getMessage());
        assertEquals("controllerArgumentFor: 0x20 takes no data byte", assertThrows(IllegalArgumentException.class,
                () -> new I8042.State(0x25, 3, false, 0x20, -1, true, 0xFA, 0, none, none)).getMessage());
        assertEquals("keyboardArgumentFor: 0xf2 takes no argument", assertThrows(IllegalArgumentException.class,
                () -> new I8042.State(0x25, 3, false, -1, 0xF2, true, 0xFA, 0, none, none)).getMessage());
        assertEquals("keyboardOutput: 17 bytes is more than 16", assertThrows(IllegalArgumentException.class,
                () -> new I8042.State(0x25, 3, false, -1, -1, true, 0xFA, 0, none, new byte[17])).getMessage());
        assertEquals("controllerOutput: 5 bytes is more than 4", assertThrows(IllegalArgumentException.class,
                () -> new I8042.State(0x25, 3, false, -1, -1, true, 0xFA, 0, new byte[5], none)).getMessage());
        assertEquals("outputPort: 256 is not a byte", assertThrows(IllegalArgumentException.class,
                () -> new I8042.State(0x25, 256, false, -1, -1, true, 0xFA, 0, none, none)).getMessage());
    }
}
