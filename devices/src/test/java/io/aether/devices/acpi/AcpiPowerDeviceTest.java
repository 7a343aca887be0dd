package io.aether.devices.acpi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.aether.devices.BusAccess;
import io.aether.devices.RecordingPower;
import io.aether.testkit.Gen;
import io.aether.testkit.Property;
import java.util.List;
import org.junit.jupiter.api.Test;

class AcpiPowerDeviceTest {

    private final RecordingPower power = new RecordingPower();

    private static final int S5 = 0x20 | (5 << 2);

    @Test
    void s5WithSleepEnablePowersOff() {
        AcpiPowerDevice acpi = new AcpiPowerDevice(power);
        acpi.write(0, new byte[] {(byte) S5});
        assertEquals(1, power.powerOffs());
        assertEquals(0, power.resets());
        assertEquals(1, acpi.counters().powerOffRequests());
        // Bits outside SLP_TYP and SLP_EN do not matter.
        acpi.write(0, new byte[] {(byte) (S5 | 0x83)});
        assertEquals(2, power.powerOffs());
    }

    @Test
    void otherSleepTypesOrNoSleepEnableAreIgnored() {
        AcpiPowerDevice acpi = new AcpiPowerDevice(power);
        acpi.write(0, new byte[] {(byte) (5 << 2)});        // S5 type, SLP_EN clear
        acpi.write(0, new byte[] {(byte) (0x20 | (3 << 2))}); // S3
        acpi.write(0, new byte[] {(byte) (0x20 | (1 << 2))}); // S1
        acpi.write(0, new byte[] {(byte) S5, 0});            // 16-bit access
        acpi.write(1, new byte[] {(byte) S5});               // sleep status register
        assertEquals(0, power.powerOffs());
        assertEquals(5, acpi.counters().ignoredAccesses());
    }

    @Test
    void resetValueOnTheResetRegisterResets() {
        AcpiPowerDevice acpi = new AcpiPowerDevice(power);
        acpi.write(2, new byte[] {1});
        assertEquals(1, power.resets());
        acpi.write(2, new byte[] {2});
        acpi.write(0, new byte[] {1});
        acpi.write(3, new byte[] {1});
        assertEquals(1, power.resets());
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

    private void actsOnlyOnDeclaredValues(List<BusAccess> accesses) {
        power.clear();
        AcpiPowerDevice acpi = new AcpiPowerDevice(power);
        int offs = 0;
        int rsts = 0;
        for (BusAccess a : accesses) {
            a.applyTo(acpi);
            if (a.write() && a.size() == 1 && a.offset() == 0 && (a.value() & 0x3C) == S5) offs++;
            if (a.writesByte(2, 1)) rsts++;
        }
        assertEquals(offs, power.powerOffs());
        assertEquals(rsts, power.resets());
        AcpiPowerDevice.Counters c = acpi.counters();
        long writes = accesses.stream().filter(BusAccess::write).count();
        assertEquals(writes, c.powerOffRequests() + c.resetRequests()
                + accesses.stream().filter(BusAccess::write).filter(a -> !acts(a)).count());
    }

    private static boolean acts(BusAccess a) {
        return a.size() == 1 && ((a.offset() == 0 && (a.value() & 0x3C) == S5) || (a.offset() == 2 && a.value() == 1));
    }

    @Test
    void linuxPowerOffAndReboot() {
        // acpi_hw_extended_sleep: clear WAK_STS, then write SLP_TYP | SLP_EN; reboot writes RESET_VALUE.
        actsOnlyOnDeclaredValues(List.of(new BusAccess(true, 1, 1, 0x80), new BusAccess(true, 0, 1, S5), new BusAccess(true, 2, 1, 1)));
        assertEquals(1, power.powerOffs());
        assertEquals(1, power.resets());
    }

    private static Gen<List<BusAccess>> accesses() {
        return BusAccess.runs(Gen.frequency(Gen.weighted(5, Gen.longs(0, 3)), Gen.weighted(1, Gen.longs(-2, 8))),
                Gen.frequency(Gen.weighted(1, Gen.choose(S5, 1, S5 | 0x80)), Gen.weighted(3, Gen.ints(0, 255))));
    }
}
