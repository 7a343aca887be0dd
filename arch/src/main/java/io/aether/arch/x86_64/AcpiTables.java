package io.aether.arch.x86_64;

import io.aether.arch.VirtioMmioWindow;
import io.aether.arch.acpi.Aml;
import io.aether.arch.acpi.GenericAddress;
import io.aether.arch.acpi.Sdt;
import io.aether.memory.GuestMemory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The ACPI tables of a hardware-reduced x86 platform (ACPI 6.5): RSDP, XSDT, FADT, MADT and a
 * DSDT that names the vCPUs, COM1, the i8042 keyboard controller and the virtio-mmio devices. Linux finds devices through the
 * DSDT (virtio-mmio's id is LNRO0005) and CPUs through the MADT.
 *
 * <p>Power management goes through the sleep and reset registers of the monitor's ACPI power
 * device: SLEEP_CONTROL at I/O port {@value #SLEEP_CONTROL_PORT}, SLEEP_STATUS at
 * {@value #SLEEP_STATUS_PORT}, RESET at {@value #RESET_PORT} taking {@value #RESET_VALUE}; S5
 * (soft-off) is SLP_TYP {@value #S5_SLP_TYP}.
 */
public final class AcpiTables {

    public static final int SLEEP_CONTROL_PORT = 0x600;
    public static final int SLEEP_STATUS_PORT = 0x601;
    public static final int RESET_PORT = 0x602;
    public static final int RESET_VALUE = 0x01;
    public static final int S5_SLP_TYP = 5;
    /** The FADT's hypervisor vendor identity. */
    public static final String HYPERVISOR_ID = "AETHERVM";

    static final Sdt.Oem OEM = new Sdt.Oem("AETHER", "AETHERVM", 1, "AETH", 1);

    static final int RSDP_SIZE = 36;
    static final int FADT_SIZE = 276;
    static final int FADT_REVISION = 6;
    static final int FADT_MINOR_REVISION = 5;
    static final int MADT_REVISION = 5;
    static final int DSDT_REVISION = 2; // 2 and up: AML integers are 64-bit
    static final int XSDT_REVISION = 1;

    // FADT Flags (5.2.9, Table 5.10).
    static final int FADT_PWR_BUTTON = 1 << 4;
    static final int FADT_SLP_BUTTON = 1 << 5;
    static final int FADT_RESET_REG_SUP = 1 << 10;
    static final int FADT_HW_REDUCED_ACPI = 1 << 20;
    // IA-PC Boot Architecture Flags (5.2.9.3, Table 5.11).
    static final int IAPC_8042 = 1 << 1;
    static final int IAPC_VGA_NOT_PRESENT = 1 << 2;
    static final int IAPC_CMOS_RTC_NOT_PRESENT = 1 << 5;

    // MADT structure types (5.2.12).
    static final int MADT_LOCAL_APIC = 0;
    static final int MADT_IO_APIC = 1;
    static final int MADT_INTERRUPT_OVERRIDE = 2;
    static final int MADT_LOCAL_APIC_NMI = 4;

    private AcpiTables() {
    }

    /**
     * Writes the tables into {@link Layout#ACPI_START}..{@link Layout#ACPI_END} and returns the
     * RSDP's address ({@link Layout#ACPI_START}, 16-byte aligned in the BIOS read-only area, where
     * Linux's legacy scan finds it even without being told).
     *
     * @throws IllegalArgumentException if the tables do not fit the area
     * @throws io.aether.memory.GuestMemoryException if guest RAM does not cover the area
     */
    public static long write(GuestMemory memory, PlatformConfig config) {
        long rsdpAddress = Layout.ACPI_START;
        long xsdtAddress = align(rsdpAddress + RSDP_SIZE);
        long fadtAddress = align(xsdtAddress + Sdt.HEADER_SIZE + 2 * 8);
        long madtAddress = align(fadtAddress + FADT_SIZE);
        byte[] madt = madt(config);
        long dsdtAddress = align(madtAddress + madt.length);
        byte[] dsdt = dsdt(config);
        if (dsdtAddress + dsdt.length > Layout.ACPI_END) {
            throw new IllegalArgumentException("ACPI tables for " + config.vcpus() + " vCPUs and " + config.virtioMmio().size()
                    + " devices need " + (dsdtAddress + dsdt.length - Layout.ACPI_START) + " bytes, more than the ACPI area");
        }
        memory.fill(Layout.ACPI_START, Layout.ACPI_END - Layout.ACPI_START, (byte) 0);
        memory.write(rsdpAddress, rsdp(xsdtAddress));
        memory.write(xsdtAddress, xsdt(List.of(fadtAddress, madtAddress)));
        memory.write(fadtAddress, fadt(dsdtAddress, config));
        memory.write(madtAddress, madt);
        memory.write(dsdtAddress, dsdt);
        return rsdpAddress;
    }

    /** The Root System Description Pointer, revision 2 (5.2.5.3), pointing at the XSDT only. */
    static byte[] rsdp(long xsdtAddress) {
        ByteBuffer b = le(RSDP_SIZE);
        b.put("RSD PTR ".getBytes(StandardCharsets.US_ASCII));
        b.put((byte) 0); // checksum of the first 20 bytes
        b.put(padded(OEM.oemId(), 6));
        b.put((byte) 2); // revision: ACPI 2.0 and later
        b.putInt(0); // RsdtAddress: no RSDT, the XSDT serves
        b.putInt(RSDP_SIZE);
        b.putLong(xsdtAddress);
        b.put((byte) 0); // extended checksum, over all 36 bytes
        byte[] r = b.array();
        r[8] = Sdt.checksum(r, 0, 20);
        r[32] = Sdt.checksum(r, 0, RSDP_SIZE);
        return r;
    }

    /** The Extended System Description Table (5.2.8): 64-bit pointers to the other tables. */
    static byte[] xsdt(List<Long> tables) {
        ByteBuffer b = le(8 * tables.size());
        tables.forEach(b::putLong);
        return Sdt.table("XSDT", XSDT_REVISION, OEM, b.array());
    }

    /** The Fixed ACPI Description Table, revision 6.5 (5.2.9), for a hardware-reduced platform. */
    static byte[] fadt(long dsdtAddress, PlatformConfig config) {
        ByteBuffer b = le(FADT_SIZE);
        int bootArch = IAPC_VGA_NOT_PRESENT | IAPC_CMOS_RTC_NOT_PRESENT | (config.i8042() ? IAPC_8042 : 0);
        b.putShort(109, (short) bootArch);
        // Buttons are not fixed-feature hardware: HW-reduced ACPI has none.
        b.putInt(112, FADT_HW_REDUCED_ACPI | FADT_RESET_REG_SUP | FADT_PWR_BUTTON | FADT_SLP_BUTTON);
        b.put(116, GenericAddress.ioPort8(RESET_PORT).encode());
        b.put(128, (byte) RESET_VALUE);
        b.put(131, (byte) FADT_MINOR_REVISION);
        b.putLong(140, dsdtAddress); // X_DSDT; the 32-bit DSDT field stays 0 so the two cannot disagree
        b.put(244, GenericAddress.ioPort8(SLEEP_CONTROL_PORT).encode());
        b.put(256, GenericAddress.ioPort8(SLEEP_STATUS_PORT).encode());
        b.put(268, HYPERVISOR_ID.getBytes(StandardCharsets.US_ASCII));
        byte[] body = new byte[FADT_SIZE - Sdt.HEADER_SIZE];
        System.arraycopy(b.array(), Sdt.HEADER_SIZE, body, 0, body.length);
        return Sdt.table("FACP", FADT_REVISION, OEM, body);
    }

    /**
     * The Multiple APIC Description Table (5.2.12): the local APIC address, one enabled
     * Processor Local APIC per vCPU (ACPI processor UID = APIC id = vCPU index), the IOAPIC at
     * GSI base 0, ISA IRQ 0 routed to GSI 2 as on PC hardware, and LINT1 as NMI on every CPU.
     * PCAT_COMPAT is off: there is no 8259 PIC.
     */
    static byte[] madt(PlatformConfig config) {
        ByteBuffer b = le(8 + 8 * config.vcpus() + 12 + 10 + 6);
        b.putInt((int) Layout.LAPIC_BASE);
        b.putInt(0); // flags: PCAT_COMPAT off
        for (int cpu = 0; cpu < config.vcpus(); cpu++) {
            b.put((byte) MADT_LOCAL_APIC).put((byte) 8).put((byte) cpu).put((byte) cpu).putInt(1); // enabled
        }
        b.put((byte) MADT_IO_APIC).put((byte) 12).put((byte) 0).put((byte) 0).putInt((int) Layout.IOAPIC_BASE).putInt(0);
        b.put((byte) MADT_INTERRUPT_OVERRIDE).put((byte) 10).put((byte) 0).put((byte) 0).putInt(2).putShort((short) 0);
        b.put((byte) MADT_LOCAL_APIC_NMI).put((byte) 6).put((byte) 0xFF).putShort((short) 0).put((byte) 1);
        return Sdt.table("APIC", MADT_REVISION, OEM, b.array());
    }

    /** The Differentiated System Description Table: \_S5_ and the devices under \_SB_. */
    static byte[] dsdt(PlatformConfig config) {
        return Sdt.table("DSDT", DSDT_REVISION, OEM, dsdtAml(config));
    }

    static byte[] dsdtAml(PlatformConfig config) {
        List<byte[]> devices = new ArrayList<>();
        for (int cpu = 0; cpu < config.vcpus(); cpu++) {
            // Linux's ACPI processor driver matches _UID to the MADT's ACPI processor UID.
            devices.add(Aml.device(String.format("C%03X", cpu),
                    Aml.name("_HID", Aml.string("ACPI0007")),
                    Aml.name("_UID", Aml.integer(cpu))));
        }
        if (config.serial()) {
            devices.add(Aml.device("COM1",
                    Aml.name("_HID", Aml.eisaId("PNP0501")),
                    Aml.name("_UID", Aml.integer(0)),
                    Aml.name("_CRS", Aml.resourceTemplate(
                            Aml.io16(0x3F8, 0x3F8, 0, 8),
                            Aml.irqNoFlags(Layout.SERIAL_GSI)))));
        }
        if (config.i8042()) {
            // Linux's i8042 driver finds the controller through PNP0303 and takes IRQ 1 from _CRS.
            devices.add(Aml.device("PS2K",
                    Aml.name("_HID", Aml.eisaId("PNP0303")),
                    Aml.name("_CRS", Aml.resourceTemplate(
                            Aml.io16(0x60, 0x60, 0, 1),
                            Aml.io16(0x64, 0x64, 0, 1),
                            Aml.irqNoFlags(Layout.KEYBOARD_GSI)))));
        }
        List<VirtioMmioWindow> windows = config.virtioMmio();
        for (int i = 0; i < windows.size(); i++) {
            VirtioMmioWindow w = windows.get(i);
            devices.add(Aml.device(String.format("V%03X", i),
                    Aml.name("_HID", Aml.string("LNRO0005")),
                    Aml.name("_UID", Aml.integer(i)),
                    Aml.name("_CRS", Aml.resourceTemplate(
                            Aml.memory32Fixed(true, w.base(), w.size()),
                            Aml.extendedInterrupt(Aml.Trigger.LEVEL, Aml.Polarity.ACTIVE_HIGH, false, w.gsi())))));
        }
        return Aml.concat(
                // \_S5_: SLP_TYPa, SLP_TYPb and two reserved values.
                Aml.name("_S5_", Aml.pkg(Aml.integer(S5_SLP_TYP), Aml.integer(0), Aml.integer(0), Aml.integer(0))),
                Aml.scope("\\_SB_", devices.toArray(byte[][]::new)));
    }

    private static long align(long address) {
        return (address + 15) & ~15L;
    }

    private static ByteBuffer le(int size) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static byte[] padded(String text, int length) {
        byte[] out = new byte[length];
        byte[] b = text.getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < length; i++) out[i] = i < b.length ? b[i] : (byte) ' ';
        return out;
    }
}
