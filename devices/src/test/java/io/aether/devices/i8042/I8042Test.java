package io.aether.devices.i8042;

import static io.aether.testkit.Gen.weighted;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.aether.devices.PowerEvents;
import io.aether.testkit.Gen;
import io.aether.testkit.Property;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class I8042Test {

    record Access(boolean write, long offset, int size, int value) {
    }

    private final AtomicInteger resets = new AtomicInteger();
    private final AtomicInteger powerOffs = new AtomicInteger();
    private final PowerEvents power = new PowerEvents() {
        @Override
        public void powerOff() {
            powerOffs.incrementAndGet();
        }

        @Override
        public void reset() {
            resets.incrementAndGet();
        }
    };

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
        assertEquals(1, resets.get());
        assertEquals(0, powerOffs.get());
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
        assertEquals(0, resets.get());
        assertEquals(5, kbd.counters().ignoredAccesses());
    }

    @Test
    void onlyTheResetCommandResets() {
        Property.forAll(accesses()).tries(300).check(this::resetsOnlyOnTheResetCommand);
    }

    private void resetsOnlyOnTheResetCommand(List<Access> accesses) {
        resets.set(0);
        I8042 kbd = new I8042(power);
        int expected = 0;
        for (Access a : accesses) {
            byte[] data = new byte[a.size()];
            if (a.size() > 0) data[0] = (byte) a.value();
            if (a.write()) {
                kbd.write(a.offset(), data);
                if (a.offset() == 4 && a.size() == 1 && a.value() == 0xFE) expected++;
            } else {
                kbd.read(a.offset(), data);
                assertArrayEquals(new byte[a.size()], data);
            }
        }
        assertEquals(expected, resets.get());
        I8042.Counters c = kbd.counters();
        assertEquals(expected, c.resetRequests());
        assertEquals(0, powerOffs.get());
    }

    @Test
    void linuxRebootThroughTheKeyboardController() {
        resetsOnlyOnTheResetCommand(List.of(new Access(false, 4, 1, 0), new Access(true, 4, 1, 0xFE)));
        assertEquals(1, resets.get());
    }

    private static Gen<List<Access>> accesses() {
        Gen<Boolean> write = Gen.booleans();
        Gen<Long> offset = Gen.frequency(weighted(5, Gen.choose(0L, 4L)), weighted(1, Gen.longs(-1, 8)));
        Gen<Integer> size = Gen.frequency(weighted(5, Gen.constant(1)), weighted(1, Gen.choose(0, 2, 4)));
        Gen<Integer> value = Gen.frequency(weighted(1, Gen.constant(0xFE)), weighted(3, Gen.ints(0, 255)));
        return Gen.lists(r -> new Access(write.next(r), offset.next(r), size.next(r), value.next(r)), 0, 60);
    }
}
