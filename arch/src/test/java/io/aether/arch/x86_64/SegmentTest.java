package io.aether.arch.x86_64;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class SegmentTest {

    @Test
    void flatCode64DescriptorDecodes() {
        Segment cs = Segment.fromDescriptor(Gdt.CODE64, 0x10);
        assertEquals(new Segment(0, 0xFFFF_FFFF, 0x10, 0xB, true, 0, false, true, true, true, false, false), cs);
    }

    @Test
    void flatDataAndCode32DescriptorsDecode() {
        assertEquals(new Segment(0, 0xFFFF_FFFF, 0x18, 0x3, true, 0, true, true, false, true, false, false),
                Segment.fromDescriptor(Gdt.DATA, 0x18));
        assertEquals(new Segment(0, 0xFFFF_FFFF, 0x10, 0xB, true, 0, true, true, false, true, false, false),
                Segment.fromDescriptor(Gdt.CODE32, 0x10));
    }

    @Test
    void byteGranularSystemDescriptorKeepsItsLimit() {
        Segment tss = Segment.fromDescriptor(Gdt.TSS, 0x20);
        assertEquals(0x67, tss.limit());
        assertEquals(0xB, tss.type());
        assertEquals(false, tss.s());
        assertEquals(false, tss.g());
    }

    @Test
    void baseAndDplAreAssembledFromTheirSplitFields() {
        // base 0x12345678: bits 15:0 of the base at 31:16, 23:16 at 39:32, 31:24 at 63:56; DPL 3.
        long d = 0x1200_F234_5678_0010L | (0xF3L << 40);
        Segment s = Segment.fromDescriptor(d, 0x2B);
        assertEquals(0x1234_5678L, s.base());
        assertEquals(3, s.dpl());
        assertEquals(0x0010, s.limit());
    }

    @Test
    void badFieldsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new Segment(0, 0, 0x10000, 0, true, 0, false, false, false, false, false, false));
        assertThrows(IllegalArgumentException.class, () -> new Segment(0, 0, 0, 16, true, 0, false, false, false, false, false, false));
        assertThrows(IllegalArgumentException.class, () -> new Segment(0, 0, 0, 0, true, 4, false, false, false, false, false, false));
    }
}
