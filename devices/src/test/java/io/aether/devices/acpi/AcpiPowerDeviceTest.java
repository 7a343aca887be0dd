package io.aether.devices.acpi;

import static io.aether.testkit.Gen.weighted;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.aether.devices.PowerEvents;
import io.aether.testkit.Gen;
import io.aether.testkit.Property;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class AcpiPowerDeviceTest {

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

    private static final int S5 = 0x20 | (5 << 2);

    @Test
    void s5WithSleepEnablePowersOff() {
        AcpiPowerDevice acpi = new AcpiPowerDevice(power);
        acpi.write(0, new byte[] {(byte) S5});
        assertEquals(1, powerOffs.get());
        assertEquals(0, resets.get());
        assertEquals(1, acpi.counters().powerOffRequests());
        // Bits outside SLP_TYP and SLP_EN do not matter.
        acpi.write(0, new byte[] {(byte) (S5 | 0x83)});
        assertEquals(2, powerOffs.get());
    }

    @Test
    void otherSleepTypesOrNoSleepEnableAreIgnored() {
        AcpiPowerDevice acpi = new AcpiPowerDevice(power);
        acpi.write(0, new byte[] {(byte) (5 << 2)});        // S5 type, SLP_EN clear
        acpi.write(0, new byte[] {(byte) (0x20 | (3 << 2))}); // S3
        acpi.write(0, new byte[] {(byte) (0x20 | (1 << 2))}); // S1
        acpi.write(0, new byte[] {(byte) S5, 0});            // 16-bit access
        acpi.write(1, new byte[] {(byte) S5});               // sleep status register
        assertEquals(0, powerOffs.get());
        assertEquals(5, acpi.counters().ignoredAccesses());
    }

    @Test
    void resetValueOnTheResetRegisterResets() {
        AcpiPowerDevice acpi = new AcpiPowerDevice(power);
        acpi.write(2, new byte[] {1});
        assertEquals(1, resets.get());
        acpi.write(2, new byte[] {2});
        acpi.write(0, new byte[] {1});
        acpi.write(3, new byte[] {1});
        assertEquals(1, resets.get());
        assertEquals(1, acpi.counters().resetRequests());
    }

    @Test
    void registersReadZero() {
        AcpiPowerDevice acpi = new AcpiPowerDevice(power);
        for (int offset = 0; offset < 4; offset++) {
            byte[] b = {(byte) 0xFF};
            acpi.read(offset, b);
            assertEquals(0, b[0]);
        }
        byte[] wide = {1, 1, 1, 1};
        acpi.read(0, wide);
        assertArrayEquals(new byte[4], wide);
        assertEquals(1, acpi.counters().ignoredAccesses());
    }

    @Test
    void onlyTheDeclaredValuesActOnPower() {
        Property.forAll(accesses()).tries(300).check(this::actsOnlyOnDeclaredValues);
    }

    private void actsOnlyOnDeclaredValues(List<Access> accesses) {
        resets.set(0);
        powerOffs.set(0);
        AcpiPowerDevice acpi = new AcpiPowerDevice(power);
        int offs = 0;
        int rsts = 0;
        for (Access a : accesses) {
            byte[] data = new byte[a.size()];
            if (a.size() > 0) data[0] = (byte) a.value();
            if (a.write()) {
                acpi.write(a.offset(), data);
                boolean oneByte = a.size() == 1;
                if (oneByte && a.offset() == 0 && (a.value() & 0x3C) == S5) offs++;
                if (oneByte && a.offset() == 2 && a.value() == 1) rsts++;
            } else {
                acpi.read(a.offset(), data);
                assertArrayEquals(new byte[a.size()], data);
            }
        }
        assertEquals(offs, powerOffs.get());
        assertEquals(rsts, resets.get());
        AcpiPowerDevice.Counters c = acpi.counters();
        long writes = accesses.stream().filter(Access::write).count();
        assertEquals(writes, c.powerOffRequests() + c.resetRequests()
                + accesses.stream().filter(Access::write).filter(a -> !acts(a)).count());
    }

    private static boolean acts(Access a) {
        return a.size() == 1 && ((a.offset() == 0 && (a.value() & 0x3C) == S5) || (a.offset() == 2 && a.value() == 1));
    }

    @Test
    void linuxPowerOffAndReboot() {
        // acpi_hw_extended_sleep: clear WAK_STS, then write SLP_TYP | SLP_EN; reboot writes RESET_VALUE.
        actsOnlyOnDeclaredValues(List.of(new Access(true, 1, 1, 0x80), new Access(true, 0, 1, S5), new Access(true, 2, 1, 1)));
        assertEquals(1, powerOffs.get());
        assertEquals(1, resets.get());
    }

    private static Gen<List<Access>> accesses() {
        Gen<Boolean> write = Gen.booleans();
        Gen<Long> offset = Gen.frequency(weighted(5, Gen.longs(0, 3)), weighted(1, Gen.longs(-2, 8)));
        Gen<Integer> size = Gen.frequency(weighted(5, Gen.constant(1)), weighted(1, Gen.choose(0, 2, 4)));
        Gen<Integer> value = Gen.frequency(weighted(1, Gen.choose(S5, 1, S5 | 0x80)), weighted(3, Gen.ints(0, 255)));
        return Gen.lists(r -> new Access(write.next(r), offset.next(r), size.next(r), value.next(r)), 0, 60);
    }
}
