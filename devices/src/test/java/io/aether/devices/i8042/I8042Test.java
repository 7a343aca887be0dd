package io.aether.devices.i8042;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.aether.devices.PowerEvents;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
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

    @Property(tries = 300)
    void onlyTheResetCommandResets(@ForAll("accesses") List<Access> accesses) {
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

    @Example
    void linuxRebootThroughTheKeyboardController() {
        onlyTheResetCommandResets(List.of(new Access(false, 4, 1, 0), new Access(true, 4, 1, 0xFE)));
        assertEquals(1, resets.get());
    }

    @Provide
    Arbitrary<List<Access>> accesses() {
        return Combinators.combine(Arbitraries.of(true, false),
                        Arbitraries.frequencyOf(Tuple.of(5, Arbitraries.of(0L, 4L)), Tuple.of(1, Arbitraries.longs().between(-1, 8))),
                        Arbitraries.frequencyOf(Tuple.of(5, Arbitraries.just(1)), Tuple.of(1, Arbitraries.of(0, 2, 4))),
                        Arbitraries.frequencyOf(Tuple.of(1, Arbitraries.just(0xFE)), Tuple.of(3, Arbitraries.integers().between(0, 255))))
                .as(Access::new).list().ofMaxSize(60);
    }
}
