package io.aether.kvm;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * Encodings of the kernel structs the bindings pass by pointer. Offsets follow
 * include/uapi/asm-x86/asm/kvm.h (sizes checked: kvm_regs 144, kvm_sregs 312, kvm_segment 24).
 */
final class Structs {

    static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG;
    static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT;
    static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT;
    static final ValueLayout.OfByte U8 = ValueLayout.JAVA_BYTE;

    static final long REGS_SIZE = 144;
    static final long SEGMENT_SIZE = 24;
    static final long SREGS_SIZE = 312;
    static final long CPUID_ENTRY_SIZE = 40;
    static final long MSR_ENTRY_SIZE = 16;
    static final long FPU_SIZE = 416;
    static final long FPU_FCW = 128;
    static final long FPU_MXCSR = 408;
    static final long LAPIC_SIZE = 1024;
    // arch/x86/include/uapi/asm/kvm.h, sizes checked with sizeof against the installed headers
    static final int XSAVE_SIZE = 4096;
    static final int XCRS_SIZE = 392;
    static final int VCPU_EVENTS_SIZE = 64;
    static final int DEBUGREGS_SIZE = 128;
    /** {@code struct kvm_irqchip}: chip_id, pad, then the 512-byte union of PIC or IOAPIC state. */
    static final int IRQCHIP_SIZE = 520;
    static final int IRQCHIP_STATE_OFFSET = 8;
    static final int PIT_STATE2_SIZE = 112;
    static final int CLOCK_DATA_SIZE = 48;

    /** {@code struct kvm_userspace_memory_region}. */
    static final MemoryLayout MEMORY_REGION = MemoryLayout.structLayout(
            U32.withName("slot"), U32.withName("flags"), U64.withName("guest_phys_addr"),
            U64.withName("memory_size"), U64.withName("userspace_addr"));

    private Structs() {
    }

    static void writeRegs(MemorySegment s, Regs regs) {
        long[] v = regs.toArray();
        for (int i = 0; i < v.length; i++) s.set(U64, i * 8L, v[i]);
    }

    static Regs readRegs(MemorySegment s) {
        long[] v = new long[18];
        for (int i = 0; i < v.length; i++) v[i] = s.get(U64, i * 8L);
        return Regs.fromArray(v);
    }

    private static void writeSegment(MemorySegment s, long off, Segment g) {
        s.set(U64, off, g.base());
        s.set(U32, off + 8, g.limit());
        s.set(U16, off + 12, (short) g.selector());
        s.set(U8, off + 14, (byte) g.type());
        s.set(U8, off + 15, (byte) (g.present() ? 1 : 0));
        s.set(U8, off + 16, (byte) g.dpl());
        s.set(U8, off + 17, (byte) (g.db() ? 1 : 0));
        s.set(U8, off + 18, (byte) (g.s() ? 1 : 0));
        s.set(U8, off + 19, (byte) (g.l() ? 1 : 0));
        s.set(U8, off + 20, (byte) (g.g() ? 1 : 0));
        s.set(U8, off + 21, (byte) (g.avl() ? 1 : 0));
        s.set(U8, off + 22, (byte) (g.unusable() ? 1 : 0));
        s.set(U8, off + 23, (byte) 0);
    }

    private static Segment readSegment(MemorySegment s, long off) {
        return new Segment(s.get(U64, off), s.get(U32, off + 8), Short.toUnsignedInt(s.get(U16, off + 12)),
                Byte.toUnsignedInt(s.get(U8, off + 14)), s.get(U8, off + 15) != 0, s.get(U8, off + 16),
                s.get(U8, off + 17) != 0, s.get(U8, off + 18) != 0, s.get(U8, off + 19) != 0,
                s.get(U8, off + 20) != 0, s.get(U8, off + 21) != 0, s.get(U8, off + 22) != 0);
    }

    static void writeSregs(MemorySegment s, Sregs r) {
        Segment[] segs = {r.cs(), r.ds(), r.es(), r.fs(), r.gs(), r.ss(), r.tr(), r.ldt()};
        for (int i = 0; i < segs.length; i++) writeSegment(s, i * SEGMENT_SIZE, segs[i]);
        long off = 8 * SEGMENT_SIZE;
        writeTable(s, off, r.gdt());
        writeTable(s, off + 16, r.idt());
        off += 32;
        long[] crs = {r.cr0(), r.cr2(), r.cr3(), r.cr4(), r.cr8(), r.efer(), r.apicBase()};
        for (int i = 0; i < crs.length; i++) s.set(U64, off + i * 8L, crs[i]);
        // interrupt_bitmap stays as read (zero for a fresh vCPU): no pending interrupt injected.
    }

    static Sregs readSregs(MemorySegment s) {
        Segment[] g = new Segment[8];
        for (int i = 0; i < 8; i++) g[i] = readSegment(s, i * SEGMENT_SIZE);
        long off = 8 * SEGMENT_SIZE;
        DescriptorTable gdt = readTable(s, off);
        DescriptorTable idt = readTable(s, off + 16);
        off += 32;
        return new Sregs(g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], gdt, idt,
                s.get(U64, off), s.get(U64, off + 8), s.get(U64, off + 16), s.get(U64, off + 24),
                s.get(U64, off + 32), s.get(U64, off + 40), s.get(U64, off + 48));
    }

    private static void writeTable(MemorySegment s, long off, DescriptorTable t) {
        s.set(U64, off, t.base());
        s.set(U16, off + 8, (short) t.limit());
    }

    private static DescriptorTable readTable(MemorySegment s, long off) {
        return new DescriptorTable(s.get(U64, off), Short.toUnsignedInt(s.get(U16, off + 8)));
    }

    /** Writes a {@code struct kvm_cpuid2} header and entries. */
    static void writeCpuid(MemorySegment s, List<CpuidEntry> entries) {
        s.set(U32, 0, entries.size());
        s.set(U32, 4, 0);
        for (int i = 0; i < entries.size(); i++) {
            CpuidEntry e = entries.get(i);
            long off = 8 + i * CPUID_ENTRY_SIZE;
            s.set(U32, off, e.function());
            s.set(U32, off + 4, e.index());
            s.set(U32, off + 8, e.flags());
            s.set(U32, off + 12, e.eax());
            s.set(U32, off + 16, e.ebx());
            s.set(U32, off + 20, e.ecx());
            s.set(U32, off + 24, e.edx());
            s.asSlice(off + 28, 12).fill((byte) 0);
        }
    }

    static List<CpuidEntry> readCpuid(MemorySegment s) {
        int n = s.get(U32, 0);
        List<CpuidEntry> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            long off = 8 + i * CPUID_ENTRY_SIZE;
            out.add(new CpuidEntry(s.get(U32, off), s.get(U32, off + 4), s.get(U32, off + 8), s.get(U32, off + 12),
                    s.get(U32, off + 16), s.get(U32, off + 20), s.get(U32, off + 24)));
        }
        return out;
    }

    static void writeMsrs(MemorySegment s, List<MsrEntry> msrs) {
        s.set(U32, 0, msrs.size());
        s.set(U32, 4, 0);
        for (int i = 0; i < msrs.size(); i++) {
            long off = 8 + i * MSR_ENTRY_SIZE;
            s.set(U32, off, msrs.get(i).index());
            s.set(U32, off + 4, 0);
            s.set(U64, off + 8, msrs.get(i).data());
        }
    }

    static List<MsrEntry> readMsrs(MemorySegment s, int count) {
        List<MsrEntry> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            long off = 8 + i * MSR_ENTRY_SIZE;
            out.add(new MsrEntry(s.get(U32, off), s.get(U64, off + 8)));
        }
        return out;
    }
}
