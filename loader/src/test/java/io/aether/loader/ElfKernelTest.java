package io.aether.loader;

import static io.aether.loader.TestImages.MIB;
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
import java.util.OptionalLong;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ElfKernelTest {

    private final GuestMemory memory = GuestMemory.anonymous(List.of(RegionSpec.ram(0, 32 * MIB)));

    @AfterEach
    void close() {
        memory.close();
    }

    private static String problem(byte[] file) {
        LoadException e = assertThrows(LoadException.class, () -> ElfKernel.parse("vmlinux", file));
        assertTrue(e.getMessage().startsWith("vmlinux: "), e.getMessage());
        return e.getMessage();
    }

    private static byte[] tweak(byte[] file, Consumer<ByteBuffer> change) {
        byte[] copy = file.clone();
        change.accept(ByteBuffer.wrap(copy).order(ByteOrder.LITTLE_ENDIAN));
        return copy;
    }

    @Test
    void segmentsLandAtTheirPhysicalAddressesWithBssZeroed() throws Exception {
        memory.fill(0x100_0000, 0x8000, (byte) 0xAA);
        ElfKernel elf = ElfKernel.parse("vmlinux", TestImages.vmlinux(true));
        long end = elf.load(memory, MIB);
        assertEquals(0x100_8000, end);
        assertArrayEquals(TestImages.pattern(0x3000, 1), memory.read(0x100_0000, 0x3000));
        assertArrayEquals(TestImages.pattern(0x1800, 2), memory.read(0x100_4000, 0x1800));
        assertArrayEquals(new byte[0x2800], memory.read(0x100_5800, 0x2800), "bss zeroed");
        assertEquals((byte) 0xAA, memory.readByte(0x100_3000), "the gap between segments is not touched");
    }

    @Test
    void pvhEntryComesFromTheXenNote() throws Exception {
        assertEquals(OptionalLong.of(0x100_0040), ElfKernel.parse("vmlinux", TestImages.vmlinux(true)).pvhEntry);
        assertEquals(OptionalLong.empty(), ElfKernel.parse("vmlinux", TestImages.vmlinux(false)).pvhEntry);
        byte[] fourByte = TestImages.elf(0x100_0000, List.of(new TestImages.Seg(0x100_0000, 0x100_0000, new byte[16], 16)),
                List.of(new TestImages.Note("Xen", 18, TestImages.le32(0x100_0123))));
        assertEquals(OptionalLong.of(0x100_0123), ElfKernel.parse("vmlinux", fourByte).pvhEntry);
        byte[] otherXenNote = TestImages.elf(0x100_0000, List.of(new TestImages.Seg(0x100_0000, 0x100_0000, new byte[16], 16)),
                List.of(new TestImages.Note("Xen", 17, TestImages.le64(0x100_0123))));
        assertEquals(OptionalLong.empty(), ElfKernel.parse("vmlinux", otherXenNote).pvhEntry);
    }

    @Test
    void entryIsTranslatedToPhysical() throws Exception {
        assertEquals(0x100_0000, ElfKernel.parse("vmlinux", TestImages.vmlinux(false)).physicalEntry(), "already physical");
        byte[] virtualEntry = TestImages.elf(0xFFFF_FFFF_8100_0200L,
                List.of(new TestImages.Seg(0xFFFF_FFFF_8100_0000L, 0x100_0000, new byte[0x1000], 0x1000)), List.of());
        assertEquals(0x100_0200, ElfKernel.parse("vmlinux", virtualEntry).physicalEntry());
        byte[] nowhere = TestImages.elf(0x5000_0000, List.of(new TestImages.Seg(0x100_0000, 0x100_0000, new byte[16], 16)), List.of());
        LoadException e = assertThrows(LoadException.class, () -> ElfKernel.parse("vmlinux", nowhere).physicalEntry());
        assertEquals("vmlinux: e_entry 0x50000000 lies in no PT_LOAD segment", e.getMessage());
    }

    @Test
    void malformedHeadersNameTheField() {
        byte[] good = TestImages.vmlinux(true);
        assertTrue(problem(Arrays.copyOf(good, 40)).contains("truncated ELF header"));
        assertTrue(problem(tweak(good, b -> b.put(1, (byte) 'X'))).contains("e_ident magic"));
        assertTrue(problem(tweak(good, b -> b.put(4, (byte) 1))).contains("EI_CLASS"));
        assertTrue(problem(tweak(good, b -> b.put(5, (byte) 2))).contains("EI_DATA"));
        assertTrue(problem(tweak(good, b -> b.put(6, (byte) 0))).contains("EI_VERSION"));
        assertTrue(problem(tweak(good, b -> b.putShort(16, (short) 3))).contains("e_type is 3"));
        assertTrue(problem(tweak(good, b -> b.putShort(18, (short) 3))).contains("e_machine is 3"));
        assertTrue(problem(tweak(good, b -> b.putShort(54, (short) 32))).contains("e_phentsize"));
        assertTrue(problem(tweak(good, b -> b.putShort(56, (short) 0))).contains("e_phnum is 0"));
        assertTrue(problem(tweak(good, b -> b.putShort(56, (short) 0xFFFF))).contains("e_phnum"));
        assertTrue(problem(tweak(good, b -> b.putLong(32, good.length - 10))).contains("e_phoff"));
        assertTrue(problem(tweak(good, b -> b.putLong(32, -1))).contains("e_phoff"));
    }

    @Test
    void malformedSegmentsNameTheField() {
        byte[] good = TestImages.vmlinux(true);
        int ph0 = 64;
        assertTrue(problem(tweak(good, b -> b.putLong(ph0 + 8, good.length))).contains("p_offset"));
        assertTrue(problem(tweak(good, b -> b.putLong(ph0 + 32, 1L << 40))).contains("p_filesz"));
        assertTrue(problem(tweak(good, b -> b.putLong(ph0 + 32, -8))).contains("p_filesz"));
        assertTrue(problem(tweak(good, b -> b.putLong(ph0 + 40, 0x10))).contains("p_filesz 12288 exceeds p_memsz 16"));
        assertTrue(problem(tweak(good, b -> b.putLong(ph0 + 24, Long.MAX_VALUE - 0x10))).contains("overflows"));
        assertTrue(problem(tweak(good, b -> b.putLong(ph0 + 24, -4096))).contains("overflows"));
        int notePh = 64 + 2 * 56;
        assertTrue(problem(tweak(good, b -> b.putLong(notePh + 32, 1 << 20))).contains("program header 2"));
    }

    @Test
    void malformedNotesAreRefused() {
        byte[] good = TestImages.vmlinux(true);
        int noteOff = (int) ByteBuffer.wrap(good).order(ByteOrder.LITTLE_ENDIAN).getLong(64 + 2 * 56 + 8);
        // The first note's n_descsz made huge: it would run past the PT_NOTE segment.
        assertTrue(problem(tweak(good, b -> b.putInt(noteOff + 4, 0x7FFF_FFF0))).contains("runs past the end of its PT_NOTE"));
        assertTrue(problem(tweak(good, b -> b.putInt(noteOff, -1))).contains("runs past the end of its PT_NOTE"));
        byte[] oddSize = TestImages.elf(0x100_0000, List.of(new TestImages.Seg(0x100_0000, 0x100_0000, new byte[16], 16)),
                List.of(new TestImages.Note("Xen", 18, new byte[6])));
        assertTrue(problem(oddSize).contains("n_descsz 6"));
        byte[] above4g = TestImages.elf(0x100_0000, List.of(new TestImages.Seg(0x100_0000, 0x100_0000, new byte[16], 16)),
                List.of(TestImages.pvhNote(1L << 32)));
        assertTrue(problem(above4g).contains("not a 32-bit address"));
    }

    @Test
    void segmentsMustLieInRamAboveTheBootArea() throws Exception {
        byte[] low = TestImages.elf(0x8000, List.of(new TestImages.Seg(0x8000, 0x8000, new byte[16], 16)), List.of());
        LoadException e = assertThrows(LoadException.class, () -> ElfKernel.parse("vmlinux", low).load(memory, MIB));
        assertTrue(e.getMessage().contains("below 0x100000"), e.getMessage());
        byte[] high = TestImages.elf(0x1F0_0000, List.of(new TestImages.Seg(0x1F0_0000, 0x1F0_0000, new byte[16], 0x20_0000)), List.of());
        e = assertThrows(LoadException.class, () -> ElfKernel.parse("vmlinux", high).load(memory, MIB));
        assertTrue(e.getMessage().contains("outside guest RAM"), e.getMessage());
        assertEquals(0, memory.readLong(0x1F0_0000), "nothing written when a segment is refused");
        byte[] empty = TestImages.elf(0x100_0000, List.of(new TestImages.Seg(0x100_0000, 0x100_0000, new byte[0], 0)), List.of());
        assertTrue(problem(empty).contains("no PT_LOAD segment with contents"));
    }
}
