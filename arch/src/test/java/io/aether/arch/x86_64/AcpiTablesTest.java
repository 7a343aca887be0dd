package io.aether.arch.x86_64;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.arch.VirtioMmioWindow;
import io.aether.arch.acpi.AmlDecoder;
import io.aether.arch.acpi.ChecksumOracle;
import io.aether.memory.GuestMemory;
import io.aether.memory.GuestMemoryException;
import io.aether.memory.RegionSpec;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import io.aether.testkit.Gen;
import io.aether.testkit.Property;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class AcpiTablesTest {

    private final GuestMemory memory = GuestMemory.anonymous(List.of(RegionSpec.ram(0, 2 << 20)));

    @AfterEach
    void close() {
        memory.close();
    }

    private static ByteBuffer le(byte[] b) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static byte[] table(GuestMemory memory, long address) {
        int length = memory.readInt(address + 4);
        return memory.read(address, length);
    }

    private static String sig(byte[] t) {
        return new String(t, 0, 4, StandardCharsets.US_ASCII);
    }

    /** The tables the RSDP leads to, by signature, each checked for its checksum. */
    private List<byte[]> tables(long rsdp) {
        return tables(memory, rsdp);
    }

    private static List<byte[]> tables(GuestMemory memory, long rsdp) {
        byte[] r = memory.read(rsdp, 36);
        byte[] xsdt = table(memory, le(r).getLong(24));
        assertEquals("XSDT", sig(xsdt));
        assertEquals(0, ChecksumOracle.tableSum(xsdt), "XSDT checksum");
        List<byte[]> out = new ArrayList<>();
        out.add(xsdt);
        for (int at = 36; at < xsdt.length; at += 8) {
            byte[] t = table(memory, le(xsdt).getLong(at));
            assertEquals(0, ChecksumOracle.tableSum(t), sig(t) + " checksum");
            out.add(t);
            if (sig(t).equals("FACP")) {
                byte[] dsdt = table(memory, le(t).getLong(140));
                assertEquals(0, ChecksumOracle.tableSum(dsdt), "DSDT checksum");
                out.add(dsdt);
            }
        }
        return out;
    }

    private static byte[] find(List<byte[]> tables, String signature) {
        return tables.stream().filter(t -> sig(t).equals(signature)).findFirst().orElseThrow();
    }

    @Test
    void rsdpIsRevisionTwoAtTheBiosAreaWithBothChecksums() {
        long rsdp = AcpiTables.write(memory, new PlatformConfig(1, List.of(), true, false));
        assertEquals(0xE0000, rsdp);
        byte[] r = memory.read(rsdp, 36);
        assertEquals("RSD PTR ", new String(r, 0, 8, StandardCharsets.US_ASCII));
        assertEquals(0, ChecksumOracle.rsdpSum(r), "checksum over the ACPI 1.0 part");
        assertEquals(0, ChecksumOracle.rsdpExtendedSum(r), "extended checksum");
        assertEquals(2, r[15], "revision");
        assertEquals(0, le(r).getInt(16), "no RSDT");
        assertEquals(36, le(r).getInt(20));
        assertEquals("AETHER", new String(r, 9, 6, StandardCharsets.US_ASCII));
        long xsdt = le(r).getLong(24);
        assertTrue(xsdt > rsdp && xsdt < 0x100000 && xsdt % 16 == 0);
    }

    @Test
    void xsdtListsFadtAndMadtAndFadtPointsAtDsdt() {
        long rsdp = AcpiTables.write(memory, new PlatformConfig(2, Layout.virtioMmioWindows(2), true, false));
        List<byte[]> tables = tables(rsdp);
        assertEquals(List.of("XSDT", "FACP", "DSDT", "APIC"), tables.stream().map(AcpiTablesTest::sig).toList());
        for (byte[] t : tables) {
            assertEquals(t.length, le(t).getInt(4));
        }
    }

    @Test
    void fadtDescribesAHardwareReducedPlatformWithTheMonitorsPowerRegisters() {
        long rsdp = AcpiTables.write(memory, new PlatformConfig(1, List.of(), true, false));
        byte[] f = find(tables(rsdp), "FACP");
        ByteBuffer b = le(f);
        assertEquals(276, f.length);
        assertEquals(6, f[8], "FADT major revision");
        assertEquals(5, f[131], "FADT minor revision");
        int flags = b.getInt(112);
        assertEquals(1 << 20, flags & (1 << 20), "HW_REDUCED_ACPI");
        assertEquals(1 << 10, flags & (1 << 10), "RESET_REG_SUP");
        int bootArch = b.getShort(109);
        assertEquals(0b10_0100, bootArch, "VGA not present and CMOS RTC not present, no 8042, MSI allowed");
        assertEquals(0, b.getInt(40), "32-bit DSDT pointer left 0, X_DSDT used");
        assertTrue(b.getLong(140) > rsdp);
        // RESET_REG: SystemIO, 8 bits, offset 0, byte access, port 0x602; RESET_VALUE 1.
        assertArrayEquals(HexFormat.of().parseHex("0108000102060000" + "00000000"), Arrays.copyOfRange(f, 116, 128));
        assertEquals(1, f[128]);
        assertArrayEquals(HexFormat.of().parseHex("0108000100060000" + "00000000"), Arrays.copyOfRange(f, 244, 256), "SLEEP_CONTROL_REG");
        assertArrayEquals(HexFormat.of().parseHex("0108000101060000" + "00000000"), Arrays.copyOfRange(f, 256, 268), "SLEEP_STATUS_REG");
        assertEquals("AETHERVM", new String(f, 268, 8, StandardCharsets.US_ASCII));
        assertEquals(0, b.getShort(46), "no SCI on a hardware-reduced platform");
    }

    @Test
    void fadtAnnouncesThe8042OnlyWhenPresent() {
        long rsdp = AcpiTables.write(memory, new PlatformConfig(1, List.of(), false, true));
        byte[] f = find(tables(rsdp), "FACP");
        assertEquals(0b10_0110, le(f).getShort(109));
    }

    @Test
    void madtHasOneEnabledLocalApicPerVcpuAndTheIoapic() {
        long rsdp = AcpiTables.write(memory, new PlatformConfig(3, List.of(), true, false));
        byte[] m = find(tables(rsdp), "APIC");
        ByteBuffer b = le(m);
        assertEquals(0xFEE0_0000, b.getInt(36));
        assertEquals(0, b.getInt(40), "PCAT_COMPAT off");
        List<String> entries = new ArrayList<>();
        int at = 44;
        while (at < m.length) {
            int type = m[at];
            int len = m[at + 1];
            switch (type) {
                case 0 -> entries.add("lapic uid=" + m[at + 2] + " id=" + m[at + 3] + " flags=" + b.getInt(at + 4));
                case 1 -> entries.add("ioapic id=" + m[at + 2] + " addr=" + Integer.toHexString(b.getInt(at + 4)) + " gsi=" + b.getInt(at + 8));
                case 2 -> entries.add("override bus=" + m[at + 2] + " irq=" + m[at + 3] + " gsi=" + b.getInt(at + 4) + " flags=" + b.getShort(at + 8));
                case 4 -> entries.add("nmi uid=" + (m[at + 2] & 0xFF) + " flags=" + b.getShort(at + 3) + " lint=" + m[at + 5]);
                default -> throw new AssertionError("unexpected MADT entry type " + type);
            }
            assertTrue(len > 0);
            at += len;
        }
        assertEquals(m.length, at, "entries fill the table exactly");
        assertEquals(List.of(
                "lapic uid=0 id=0 flags=1", "lapic uid=1 id=1 flags=1", "lapic uid=2 id=2 flags=1",
                "ioapic id=0 addr=fec00000 gsi=0",
                "override bus=0 irq=0 gsi=2 flags=0",
                "nmi uid=255 flags=0 lint=1"), entries);
    }

    @Test
    void smallDsdtMatchesItsHandDerivedBytes() {
        var config = new PlatformConfig(1, List.of(new VirtioMmioWindow(0xD000_0000L, 0x200, 5)), true, false);
        long rsdp = AcpiTables.write(memory, config);
        byte[] dsdt = find(tables(rsdp), "DSDT");
        String expected = ""
                // Name(_S5_, Package(4) {5, 0, 0, 0})
                + "085F53355F" + "1207" + "04" + "0A05000000"
                // Scope(\_SB_): PkgLength 140 = 0x8C in two bytes (lead 0x4C, then 0x08)
                + "10" + "4C08" + "5C5F53425F"
                // Device(C000) { Name(_HID, "ACPI0007") Name(_UID, 0) }: 25 bytes of body
                + "5B82" + "1A" + "43303030"
                + "085F484944" + "0D" + "4143504930303037" + "00"
                + "085F554944" + "00"
                // Device(COM1) { _HID EisaId("PNP0501"), _UID 0, _CRS { IO(0x3F8, 8), IRQNoFlags {4} } }
                + "5B82" + "2B" + "434F4D31"
                + "085F484944" + "0C41D00501"
                + "085F554944" + "00"
                + "085F435253" + "11" + "10" + "0A0D" + "4701F803F8030008" + "221000" + "7900"
                // Device(V000) { _HID "LNRO0005", _UID 0, _CRS { Memory32Fixed(RW, 0xD0000000, 0x200),
                //                Interrupt(ResourceConsumer, Level, ActiveHigh, Exclusive) {5} } }
                + "5B82" + "3A" + "56303030"
                + "085F484944" + "0D" + "4C4E524F30303035" + "00"
                + "085F554944" + "00"
                + "085F435253" + "11" + "1A" + "0A17"
                + "860900" + "01" + "000000D0" + "00020000"
                + "890600" + "01" + "01" + "05000000"
                + "7900";
        assertEquals(expected.toLowerCase(), HexFormat.of().formatHex(Arrays.copyOfRange(dsdt, 36, dsdt.length)));
        assertEquals(36 + 154, dsdt.length);
        assertEquals(2, dsdt[8], "DSDT revision 2: 64-bit integers");
    }

    @Test
    void dsdtDecodesToOneDevicePerVcpuAndWindow() {
        List<VirtioMmioWindow> windows = Layout.virtioMmioWindows(19);
        long rsdp = AcpiTables.write(memory, new PlatformConfig(16, windows, true, false));
        byte[] dsdt = find(tables(rsdp), "DSDT");
        List<Object> top = AmlDecoder.decode(Arrays.copyOfRange(dsdt, 36, dsdt.length));
        assertEquals(new AmlDecoder.Named("_S5_", List.of(5L, 0L, 0L, 0L)), top.get(0));
        AmlDecoder.Block sb = (AmlDecoder.Block) top.get(1);
        assertEquals("\\_SB_", sb.name());
        List<AmlDecoder.Block> devices = sb.blocks("Device");
        assertEquals(16 + 1 + 19, devices.size());
        for (int cpu = 0; cpu < 16; cpu++) {
            AmlDecoder.Block d = devices.get(cpu);
            assertEquals(String.format("C%03X", cpu), d.name());
            assertEquals("ACPI0007", d.value("_HID"));
            assertEquals((long) cpu, d.value("_UID"));
        }
        for (int i = 0; i < 19; i++) {
            AmlDecoder.Block d = devices.get(17 + i);
            assertEquals("LNRO0005", d.value("_HID"));
            assertEquals((long) i, d.value("_UID"));
            byte[] crs = ((AmlDecoder.Buf) d.value("_CRS")).bytes();
            ByteBuffer b = le(crs);
            assertEquals((byte) 0x86, crs[0]);
            assertEquals(windows.get(i).base(), b.getInt(4) & 0xFFFF_FFFFL);
            assertEquals(0x200, b.getInt(8));
            assertEquals((byte) 0x89, crs[12]);
            assertEquals(1, crs[15], "consumer, level, active-high, exclusive");
            assertEquals(5 + i, b.getInt(17));
            assertArrayEquals(new byte[] {0x79, 0}, Arrays.copyOfRange(crs, crs.length - 2, crs.length));
        }
    }

    @Test
    void dsdtNamesTheKeyboardControllerWithItsPortsAndIrq() {
        long rsdp = AcpiTables.write(memory, new PlatformConfig(1, List.of(), false, true));
        byte[] dsdt = find(tables(rsdp), "DSDT");
        String keyboard = ""
                // Device(PS2K) { _HID EisaId("PNP0303"),
                //                _CRS { IO(Decode16, 0x60, 0x60, 0, 1), IO(Decode16, 0x64, 0x64, 0, 1), IRQNoFlags {1} } }
                + "5B82" + "2D" + "5053324B"
                + "085F484944" + "0C41D00303"
                + "085F435253" + "11" + "18" + "0A15"
                + "4701600060000001" + "4701640064000001" + "220200" + "7900";
        String aml = HexFormat.of().formatHex(Arrays.copyOfRange(dsdt, 36, dsdt.length));
        assertTrue(aml.endsWith(keyboard.toLowerCase()), aml);
        AmlDecoder.Block sb = (AmlDecoder.Block) AmlDecoder.decode(Arrays.copyOfRange(dsdt, 36, dsdt.length)).get(1);
        assertEquals(List.of("C000", "PS2K"), sb.blocks("Device").stream().map(AmlDecoder.Block::name).toList());
    }

    @Test
    void dsdtLeavesOutTheSerialPortWhenAbsent() {
        long rsdp = AcpiTables.write(memory, new PlatformConfig(1, List.of(), false, false));
        byte[] dsdt = find(tables(rsdp), "DSDT");
        AmlDecoder.Block sb = (AmlDecoder.Block) AmlDecoder.decode(Arrays.copyOfRange(dsdt, 36, dsdt.length)).get(1);
        assertEquals(List.of("C000"), sb.blocks("Device").stream().map(AmlDecoder.Block::name).toList());
    }

    @Test
    void tablesStayConsistentForAnyMachine() {
        Property.forAll(Gen.ints(1, 255), Gen.ints(0, 19)).tries(60).check((vcpus, devices) -> {
            try (GuestMemory fresh = GuestMemory.anonymous(List.of(RegionSpec.ram(0, 1 << 20)))) {
                long rsdp = AcpiTables.write(fresh, new PlatformConfig(vcpus, Layout.virtioMmioWindows(devices), true, true));
                List<byte[]> tables = tables(fresh, rsdp);
                byte[] madt = find(tables, "APIC");
                assertEquals(44 + 8 * vcpus + 12 + 10 + 6, madt.length);
                byte[] dsdt = find(tables, "DSDT");
                AmlDecoder.Block sb = (AmlDecoder.Block) AmlDecoder.decode(Arrays.copyOfRange(dsdt, 36, dsdt.length)).get(1);
                assertEquals(vcpus + 2 + devices, sb.blocks("Device").size(), "the vCPUs, COM1, the keyboard controller and the windows");
            }
        });
    }

    @Test
    void guestMemoryMustCoverTheAcpiArea() {
        try (GuestMemory small = GuestMemory.anonymous(List.of(RegionSpec.ram(0, 0xE0000)))) {
            assertThrows(GuestMemoryException.class, () -> AcpiTables.write(small, new PlatformConfig(1, List.of(), true, false)));
        }
    }
}
