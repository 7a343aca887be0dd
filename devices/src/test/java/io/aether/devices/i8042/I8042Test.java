package io.aether.devices.i8042;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.aether.devices.BusAccess;
import io.aether.devices.RecordingPower;
import io.aether.testkit.Gen;
import io.aether.testkit.Property;
import java.util.List;
import org.junit.jupiter.api.Test;

class I8042Test {

    private final RecordingPower power = new RecordingPower();

    @Test
    void statusSaysNoDataAndReadyForACommand() {
        I8042 kbd = new I8042(power);
        byte[] status = {(byte) 0xFF};
        kbd.read(4, status);
        assertEquals(0, status[0]);
        byte[] data = {(byte) 0xFF};
        kbd.read(0, data);
        assertEquals(0, data[0]);
        assertEquals(0, kbd.counters().ignoredAccesses());
    }

    @Test
    void command0xFEResetsTheCpu() {
        I8042 kbd = new I8042(power);
        kbd.write(4, new byte[] {(byte) 0xFE});
        assertEquals(1, power.resets());
        assertEquals(0, power.powerOffs());
        assertEquals(1, kbd.counters().resetRequests());
    }

    @Test
    void everythingElseIsIgnored() {
        I8042 kbd = new I8042(power);
        kbd.write(4, new byte[] {(byte) 0xAD});       // other command
        kbd.write(0, new byte[] {(byte) 0xFE});       // 0xFE to the data port
        kbd.write(4, new byte[] {(byte) 0xFE, 0});    // wrong size
        kbd.write(3, new byte[] {(byte) 0xFE});       // not a port of the controller
        byte[] wide = {1, 1};
        kbd.read(4, wide);
        assertArrayEquals(new byte[2], wide);
        assertEquals(0, power.resets());
        assertEquals(5, kbd.counters().ignoredAccesses());
    }

    @Test
    void onlyTheResetCommandResets() {
        Property.forAll(accesses()).tries(300).check(this::resetsOnlyOnTheResetCommand);
    }

    private void resetsOnlyOnTheResetCommand(List<BusAccess> accesses) {
        power.clear();
        I8042 kbd = new I8042(power);
        int expected = 0;
        for (BusAccess a : accesses) {
            a.applyTo(kbd);
            if (a.writesByte(4, 0xFE)) expected++;
        }
        assertEquals(expected, power.resets());
        I8042.Counters c = kbd.counters();
        assertEquals(expected, c.resetRequests());
        assertEquals(0, power.powerOffs());
    }

    @Test
    void linuxRebootThroughTheKeyboardController() {
        resetsOnlyOnTheResetCommand(List.of(new BusAccess(false, 4, 1, 0), new BusAccess(true, 4, 1, 0xFE)));
        assertEquals(1, power.resets());
    }

    private static Gen<List<BusAccess>> accesses() {
        return BusAccess.runs(Gen.frequency(Gen.weighted(5, Gen.choose(0L, 4L)), Gen.weighted(1, Gen.longs(-1, 8))),
                Gen.frequency(Gen.weighted(1, Gen.constant(0xFE)), Gen.weighted(3, Gen.ints(0, 255))));
    }
}
