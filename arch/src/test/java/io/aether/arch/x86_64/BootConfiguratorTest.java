package io.aether.arch.x86_64;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.memory.GuestMemory;
import io.aether.memory.RegionSpec;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class BootConfiguratorTest {

    private static final long RAM = 64L << 20;
    private final GuestMemory memory = GuestMemory.anonymous(Layout.memoryRegions(RAM));
    private final PlatformConfig platform = new PlatformConfig(2, Layout.virtioMmioWindows(1), true, false);

    @AfterEach
    void close() {
        memory.close();
    }

    /** A bzImage-like setup header from offset 0x1F1: setup_sects 1, "HdrS" 2.15, loadflags LOADED_HIGH. */
    private static byte[] bzImageHeader() {
        ByteBuffer h = ByteBuffer.allocate(0x26C - 0x1F1).order(ByteOrder.LITTLE_ENDIAN);
        h.put(0, (byte) 1);
        h.putShort(0x1FE - 0x1F1, (short) 0xAA55);
        h.put(0x200 - 0x1F1, (byte) 0xEB).put(0x201 - 0x1F1, (byte) 0x6A);
        h.putInt(0x202 - 0x1F1, 0x5372_6448);
        h.putShort(0x206 - 0x1F1, (short) 0x020F);
        h.put(0x211 - 0x1F1, (byte) 0x01);
        h.putInt(0x230 - 0x1F1, 0x20_0000);
        h.putInt(0x238 - 0x1F1, 0x7FF);
        h.putInt(0x260 - 0x1F1, 0x123_4000);
        return h.array();
    }

    @Test
    void linuxBootGetsLongModeRegisters() {
        var plan = new BootPlan(new BootEntry.LinuxBoot(0x100200, bzImageHeader()), RAM, Layout.CMDLINE_ADDRESS, 0, 0, platform);
        VcpuState state = BootConfigurator.configureSystem(memory, plan);
        GeneralRegisters r = state.regs();
        assertEquals(0x100200, r.rip());
        assertEquals(Layout.ZERO_PAGE_ADDRESS, r.rsi(), "rsi points at boot_params");
        assertEquals(2, r.rflags());
        assertEquals(Layout.BOOT_STACK_POINTER, r.rsp());
        assertEquals(0, r.rax() | r.rbx() | r.rcx() | r.rdx() | r.rdi() | r.r8() | r.r15());
        SpecialRegisters s = state.sregs();
        assertEquals(0x8000_0011L, s.cr0(), "PE | ET | PG");
        assertEquals(0x20, s.cr4(), "PAE");
        assertEquals(0x500, s.efer(), "LME | LMA");
        assertEquals(Layout.PML4_ADDRESS, s.cr3());
        assertEquals(0x10, s.cs().selector(), "__BOOT_CS");
        assertTrue(s.cs().l() && !s.cs().db() && s.cs().present() && s.cs().s());
        for (Segment seg : List.of(s.ds(), s.es(), s.ss(), s.fs(), s.gs())) {
            assertEquals(0x18, seg.selector(), "__BOOT_DS");
            assertEquals(3, seg.type());
            assertEquals(0xFFFF_FFFF, seg.limit());
        }
        assertEquals(0xB, s.tr().type(), "busy TSS");
        assertEquals(new DescriptorTable(0x500, 47), s.gdt());
        assertEquals(0xFEE0_0900L, s.apicBase(), "enabled, bootstrap processor");
        assertEquals(FpuState.INITIAL, state.fpu());
        assertEquals(Msr.bootDefaults(), state.msrs());
    }

    @Test
    void theResetVectorWritesTheAcpiResetRegister() {
        var plan = new BootPlan(new BootEntry.Pvh(0x100_0000), RAM, 0, 0, 0, platform);
        BootConfigurator.configureSystem(memory, plan);
        // cli; mov al, 1; mov dx, 0x602; out dx, al; hlt; jmp back to the hlt
        byte[] expected = {(byte) 0xFA, (byte) 0xB0, 0x01, (byte) 0xBA, 0x02, 0x06, (byte) 0xEE, (byte) 0xF4, (byte) 0xEB, (byte) 0xFD};
        org.junit.jupiter.api.Assertions.assertArrayEquals(expected, memory.read(0xF_FFF0, expected.length));
        assertEquals(AcpiTables.RESET_PORT, 0x602);
    }

    @Test
    void gdtInMemoryMatchesTheSegmentRegisters() {
        var plan = new BootPlan(new BootEntry.LinuxBoot(0x100200, new byte[0]), RAM, Layout.CMDLINE_ADDRESS, 0, 0, platform);
        SpecialRegisters s = BootConfigurator.configureSystem(memory, plan).sregs();
        assertEquals(s.cs(), Segment.fromDescriptor(memory.readLong(Layout.GDT_ADDRESS + 0x10), 0x10));
        assertEquals(s.ds(), Segment.fromDescriptor(memory.readLong(Layout.GDT_ADDRESS + 0x18), 0x18));
        assertEquals(s.tr(), Segment.fromDescriptor(memory.readLong(Layout.GDT_ADDRESS + 0x20), 0x20));
        assertEquals(0, memory.readLong(Layout.GDT_ADDRESS), "null descriptor");
    }

    @Test
    void pageTablesIdentityMapTheFirstFourGib() {
        var plan = new BootPlan(new BootEntry.LinuxBoot(0x100200, new byte[0]), RAM, 0, 0, 0, platform);
        BootConfigurator.configureSystem(memory, plan);
        assertEquals(Layout.PDPT_ADDRESS | 3, memory.readLong(Layout.PML4_ADDRESS));
        assertEquals(0, memory.readLong(Layout.PML4_ADDRESS + 8));
        for (int gib = 0; gib < 4; gib++) {
            assertEquals((Layout.PD_ADDRESS + gib * 4096L) | 3, memory.readLong(Layout.PDPT_ADDRESS + gib * 8L));
        }
        assertEquals(0, memory.readLong(Layout.PDPT_ADDRESS + 32));
        // Walk a few addresses through the tables as the MMU would.
        for (long va : new long[] {0, 0x100200, 0x20_0000, 0x3FFF_FFFFL, 0xC000_0000L, 0xFEE0_0000L, 0xFFFF_FFFFL}) {
            long pml4e = memory.readLong(Layout.PML4_ADDRESS + ((va >>> 39) & 511) * 8);
            long pdpte = memory.readLong((pml4e & ~0xFFFL) + ((va >>> 30) & 511) * 8);
            long pde = memory.readLong((pdpte & ~0xFFFL) + ((va >>> 21) & 511) * 8);
            assertEquals(0x83, pde & 0x83, "present, writable, 2 MiB page");
            assertEquals(va, (pde & ~0x1F_FFFFL) | (va & 0x1F_FFFFL), "identity at 0x" + Long.toHexString(va));
        }
    }

    @Test
    void zeroPageCarriesTheKernelHeaderAndTheLoadersFields() {
        byte[] header = bzImageHeader();
        var plan = new BootPlan(new BootEntry.LinuxBoot(0x100200, header), RAM, Layout.CMDLINE_ADDRESS, 0x300_0000, 0x12345, platform);
        BootConfigurator.configureSystem(memory, plan);
        long zp = Layout.ZERO_PAGE_ADDRESS;
        assertEquals(1, memory.readByte(zp + 0x1F1), "setup_sects copied");
        assertEquals((short) 0xAA55, memory.readShort(zp + 0x1FE));
        assertEquals(0x5372_6448, memory.readInt(zp + 0x202));
        assertEquals(0x020F, memory.readShort(zp + 0x206));
        assertEquals(0x20_0000, memory.readInt(zp + 0x230), "kernel_alignment kept from the kernel");
        assertEquals(0x123_4000, memory.readInt(zp + 0x260), "init_size kept from the kernel");
        assertEquals((byte) 0xFF, memory.readByte(zp + 0x210), "type_of_loader");
        assertEquals((byte) 0x81, memory.readByte(zp + 0x211), "LOADED_HIGH kept, CAN_USE_HEAP added");
        assertEquals(0xFC00, memory.readShort(zp + 0x224) & 0xFFFF);
        assertEquals(Layout.CMDLINE_ADDRESS, memory.readInt(zp + 0x228));
        assertEquals(0x300_0000, memory.readInt(zp + 0x218));
        assertEquals(0x12345, memory.readInt(zp + 0x21C));
        assertEquals(0, memory.readByte(zp + 0x1EF), "sentinel 0: the kernel keeps the loader's fields");
        assertEquals(Layout.ACPI_START, memory.readLong(zp + 0x70), "acpi_rsdp_addr");
        assertEquals(0x2052_5450_2044_5352L, memory.readLong(Layout.ACPI_START), "\"RSD PTR \" is there");
        List<E820Entry> e820 = Layout.e820(RAM);
        assertEquals(e820.size(), memory.readByte(zp + 0x1E8));
        for (int i = 0; i < e820.size(); i++) {
            long at = zp + 0x2D0 + 20L * i;
            assertEquals(e820.get(i), new E820Entry(memory.readLong(at), memory.readLong(at + 8), memory.readInt(at + 16)));
        }
    }

    @Test
    void elfKernelsGetAFreshHeader() {
        var plan = new BootPlan(new BootEntry.LinuxBoot(0x100_0000, new byte[0]), RAM, Layout.CMDLINE_ADDRESS, 0, 0, platform);
        BootConfigurator.configureSystem(memory, plan);
        long zp = Layout.ZERO_PAGE_ADDRESS;
        assertEquals((short) 0xAA55, memory.readShort(zp + 0x1FE));
        assertEquals(0x5372_6448, memory.readInt(zp + 0x202));
        assertEquals(0x020F, memory.readShort(zp + 0x206));
        assertEquals((byte) 0x81, memory.readByte(zp + 0x211));
        assertEquals(0x100_0000, memory.readInt(zp + 0x230));
        assertEquals(2047, memory.readInt(zp + 0x238));
        assertEquals(0, memory.readInt(zp + 0x218), "no initrd");
    }

    @Test
    void pvhGetsFlatProtectedModeAndAStartInfo() {
        var plan = new BootPlan(new BootEntry.Pvh(0x1000_1234L), RAM, Layout.CMDLINE_ADDRESS, 0x300_0000, 0x5000, platform);
        VcpuState state = BootConfigurator.configureSystem(memory, plan);
        assertEquals(0x1000_1234L, state.regs().rip());
        assertEquals(Layout.PVH_INFO_ADDRESS, state.regs().rbx());
        SpecialRegisters s = state.sregs();
        assertEquals(0x11, s.cr0(), "PE | ET, no paging");
        assertEquals(0, s.cr4());
        assertEquals(0, s.efer());
        assertEquals(0xB, s.cs().type());
        assertTrue(s.cs().db() && !s.cs().l() && s.cs().g());
        assertEquals(0, s.cs().base());
        assertEquals(0xFFFF_FFFF, s.cs().limit());
        assertEquals(3, s.ss().type());
        assertEquals(0x67, s.tr().limit());

        long si = Layout.PVH_INFO_ADDRESS;
        assertEquals(0x336E_C578, memory.readInt(si));
        assertEquals(1, memory.readInt(si + 4));
        assertEquals(1, memory.readInt(si + 12), "one module: the initrd");
        long modlist = memory.readLong(si + 16);
        assertEquals(0x300_0000, memory.readLong(modlist));
        assertEquals(0x5000, memory.readLong(modlist + 8));
        assertEquals(Layout.CMDLINE_ADDRESS, memory.readLong(si + 24));
        assertEquals(Layout.ACPI_START, memory.readLong(si + 32));
        long memmap = memory.readLong(si + 40);
        List<E820Entry> e820 = Layout.e820(RAM);
        assertEquals(e820.size(), memory.readInt(si + 48));
        for (int i = 0; i < e820.size(); i++) {
            long at = memmap + 24L * i;
            assertEquals(e820.get(i), new E820Entry(memory.readLong(at), memory.readLong(at + 8), memory.readInt(at + 16)));
        }
        assertTrue(memmap + 24L * e820.size() <= si + 4096, "memory map inside the start-info page");
    }

    @Test
    void pvhWithoutInitrdHasNoModules() {
        var plan = new BootPlan(new BootEntry.Pvh(0x1000_1234L), RAM, Layout.CMDLINE_ADDRESS, 0, 0, platform);
        BootConfigurator.configureSystem(memory, plan);
        assertEquals(0, memory.readInt(Layout.PVH_INFO_ADDRESS + 12));
        assertEquals(0, memory.readLong(Layout.PVH_INFO_ADDRESS + 16));
    }

    @Test
    void badPlansAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new BootEntry.Pvh(1L << 32));
        assertThrows(IllegalArgumentException.class, () -> new BootEntry.LinuxBoot(0x100200, new byte[10]));
        byte[] noMagic = bzImageHeader();
        noMagic[0x202 - 0x1F1] = 'X';
        assertThrows(IllegalArgumentException.class, () -> new BootEntry.LinuxBoot(0x100200, noMagic));
        assertThrows(IllegalArgumentException.class, () -> new BootEntry.LinuxBoot(0x100200, new byte[0x290 - 0x1F1 + 1]));
        var entry = new BootEntry.Pvh(0x100_0000);
        assertThrows(IllegalArgumentException.class, () -> new BootPlan(entry, RAM, 0, 0x1000, 0, platform), "address without size");
        assertThrows(IllegalArgumentException.class, () -> new BootPlan(entry, RAM, 0, 0xFFFF_F000L, 0x2000, platform), "initrd across 4 GiB");
        assertThrows(IllegalArgumentException.class, () -> new BootPlan(entry, RAM + 1, 0, 0, 0, platform));
        try (GuestMemory tiny = GuestMemory.anonymous(List.of(RegionSpec.ram(0, 0x8_0000)))) {
            var plan = new BootPlan(entry, RAM, 0, 0, 0, platform);
            assertThrows(IllegalArgumentException.class, () -> BootConfigurator.configureSystem(tiny, plan));
        }
    }

    @Test
    void setupHeaderIsCopiedNotShared() {
        byte[] header = bzImageHeader();
        var entry = new BootEntry.LinuxBoot(0x100200, header);
        header[0] = 9;
        assertEquals(1, entry.setupHeader()[0]);
        entry.setupHeader()[0] = 9;
        assertArrayEquals(Arrays.copyOf(bzImageHeader(), 1), Arrays.copyOf(entry.setupHeader(), 1));
    }
}
