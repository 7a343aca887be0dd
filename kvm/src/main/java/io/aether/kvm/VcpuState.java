package io.aether.kvm;

import io.aether.snapshot.SnapshotException;
import io.aether.snapshot.StateReader;
import io.aether.snapshot.StateWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Everything KVM holds for one x86_64 vCPU, as {@link Vcpu#state} reads it and {@link Vcpu#restore}
 * loads it. Registers, special registers and MSRs are typed; the XSAVE area, XCRs, LAPIC page,
 * vCPU events and debug registers are the kernel's structs as bytes, which the monitor never
 * interprets. The sregs' interrupt bitmap is not kept: the vCPU events hold the same interrupt.
 * A VM without the in-kernel irqchip (the stub guest) has no LAPIC: {@code lapic} is then empty.
 *
 * @param mpState {@code KVM_MP_STATE_*}
 */
public record VcpuState(Regs regs, Sregs sregs, byte[] xsave, byte[] xcrs, List<MsrEntry> msrs, byte[] lapic,
                        byte[] vcpuEvents, int mpState, byte[] debugRegs) {

    /** More than the {@link #SAVED_MSRS} and whatever a later version adds; bounds what a state file may ask for. */
    public static final int MAX_MSRS = 256;
    /** {@code KVM_MP_STATE_SUSPENDED}, the highest state the uapi header defines. */
    private static final int MAX_MP_STATE = 10;

    /**
     * The MSRs a snapshot keeps, where the host supports them: the boot MSRs the monitor sets,
     * EFER, PAT, the TSC deadline and kvmclock's (old and new numbers), as in the SDM and
     * arch/x86/include/asm/msr-index.h, arch/x86/include/uapi/asm/kvm_para.h.
     */
    public static final List<Integer> SAVED_MSRS = List.of(
            0x10,        // IA32_TSC
            0x174,       // IA32_SYSENTER_CS
            0x175,       // IA32_SYSENTER_ESP
            0x176,       // IA32_SYSENTER_EIP
            0x1A0,       // IA32_MISC_ENABLE
            0x277,       // IA32_PAT
            0x2FF,       // IA32_MTRR_DEF_TYPE
            0x6E0,       // IA32_TSC_DEADLINE
            0xC000_0080, // EFER
            0xC000_0081, // STAR
            0xC000_0082, // LSTAR
            0xC000_0083, // CSTAR
            0xC000_0084, // SFMASK
            0xC000_0102, // KERNEL_GS_BASE
            0x11,        // MSR_KVM_WALL_CLOCK
            0x12,        // MSR_KVM_SYSTEM_TIME
            0x4B56_4D00, // MSR_KVM_WALL_CLOCK_NEW
            0x4B56_4D01); // MSR_KVM_SYSTEM_TIME_NEW

    public VcpuState {
        exact("xsave", xsave, Structs.XSAVE_SIZE);
        exact("xcrs", xcrs, Structs.XCRS_SIZE);
        if (lapic.length != 0) exact("lapic", lapic, (int) Structs.LAPIC_SIZE);
        exact("vcpuEvents", vcpuEvents, Structs.VCPU_EVENTS_SIZE);
        exact("debugRegs", debugRegs, Structs.DEBUGREGS_SIZE);
        if (msrs.size() > MAX_MSRS) throw new IllegalArgumentException("msrs: " + msrs.size() + " is more than " + MAX_MSRS);
        Set<Integer> seen = new HashSet<>();
        for (MsrEntry m : msrs) {
            if (!seen.add(m.index())) throw new IllegalArgumentException("msrs: MSR 0x" + Integer.toHexString(m.index()) + " twice");
        }
        if (mpState < 0 || mpState > MAX_MP_STATE) {
            throw new IllegalArgumentException("mpState: " + mpState + " is no KVM_MP_STATE (0 to " + MAX_MP_STATE + ")");
        }
        xsave = xsave.clone();
        xcrs = xcrs.clone();
        msrs = List.copyOf(msrs);
        lapic = lapic.clone();
        vcpuEvents = vcpuEvents.clone();
        debugRegs = debugRegs.clone();
    }

    /** IA32_MTRR_DEF_TYPE: KVM emulates the MTRRs for every guest but leaves them out of its MSR index list. */
    private static final int MTRR_DEF_TYPE = 0x2FF;

    /**
     * The MSRs of {@link #SAVED_MSRS} that {@code supported} (the host's {@link Kvm#msrIndexList()})
     * holds, and the MTRR default type. EFER, where the list leaves it out, travels in the sregs.
     */
    public static List<Integer> savedMsrs(List<Integer> supported) {
        Set<Integer> host = Set.copyOf(supported);
        return SAVED_MSRS.stream().filter(m -> m == MTRR_DEF_TYPE || host.contains(m)).toList();
    }

    @Override
    public byte[] xsave() {
        return xsave.clone();
    }

    @Override
    public byte[] xcrs() {
        return xcrs.clone();
    }

    @Override
    public byte[] lapic() {
        return lapic.clone();
    }

    @Override
    public byte[] vcpuEvents() {
        return vcpuEvents.clone();
    }

    @Override
    public byte[] debugRegs() {
        return debugRegs.clone();
    }

    /** Equal when every field is, the byte arrays compared by content. */
    @Override
    public boolean equals(Object o) {
        return o instanceof VcpuState v && v.regs.equals(regs) && v.sregs.equals(sregs) && Arrays.equals(v.xsave, xsave)
                && Arrays.equals(v.xcrs, xcrs) && v.msrs.equals(msrs) && Arrays.equals(v.lapic, lapic)
                && Arrays.equals(v.vcpuEvents, vcpuEvents) && v.mpState == mpState && Arrays.equals(v.debugRegs, debugRegs);
    }

    @Override
    public int hashCode() {
        return Objects.hash(regs, sregs, Arrays.hashCode(xsave), Arrays.hashCode(xcrs), msrs, Arrays.hashCode(lapic),
                Arrays.hashCode(vcpuEvents), mpState, Arrays.hashCode(debugRegs));
    }

    @Override
    public String toString() {
        return "VcpuState[" + regs + ", " + sregs + ", msrs=" + msrs + ", mpState=" + mpState + "]";
    }

    /** Writes the fields in the order {@link #read} takes them. */
    public void write(StateWriter out) {
        for (long r : regs.toArray()) out.i64(r);
        for (Segment s : segments(sregs)) {
            out.i64(s.base()).i32(s.limit()).u16(s.selector()).u8(s.type()).bool(s.present()).u8(s.dpl())
                    .bool(s.db()).bool(s.s()).bool(s.l()).bool(s.g()).bool(s.avl()).bool(s.unusable());
        }
        out.i64(sregs.gdt().base()).u16(sregs.gdt().limit()).i64(sregs.idt().base()).u16(sregs.idt().limit());
        out.i64(sregs.cr0()).i64(sregs.cr2()).i64(sregs.cr3()).i64(sregs.cr4()).i64(sregs.cr8()).i64(sregs.efer())
                .i64(sregs.apicBase());
        out.bytes(xsave).bytes(xcrs);
        out.i32(msrs.size());
        for (MsrEntry m : msrs) out.i32(m.index()).i64(m.data());
        out.bytes(lapic).bytes(vcpuEvents).i32(mpState).bytes(debugRegs);
    }

    public static VcpuState read(StateReader in) throws SnapshotException {
        long[] r = new long[18];
        for (int i = 0; i < r.length; i++) r[i] = in.i64("regs");
        Regs regs = Regs.fromArray(r);
        Segment[] g = new Segment[SEGMENT_NAMES.length];
        for (int i = 0; i < g.length; i++) g[i] = segment(in, SEGMENT_NAMES[i]);
        DescriptorTable gdt = new DescriptorTable(in.i64("gdt.base"), in.u16("gdt.limit"));
        DescriptorTable idt = new DescriptorTable(in.i64("idt.base"), in.u16("idt.limit"));
        Sregs sregs = new Sregs(g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], gdt, idt, in.i64("cr0"), in.i64("cr2"),
                in.i64("cr3"), in.i64("cr4"), in.i64("cr8"), in.i64("efer"), in.i64("apicBase"));
        byte[] xsave = in.bytes("xsave", Structs.XSAVE_SIZE);
        byte[] xcrs = in.bytes("xcrs", Structs.XCRS_SIZE);
        int count = in.i32("msrs");
        if (count < 0 || count > MAX_MSRS) throw in.fail("msrs", "count " + Integer.toUnsignedString(count) + " is more than " + MAX_MSRS);
        List<MsrEntry> msrs = new ArrayList<>(count);
        for (int i = 0; i < count; i++) msrs.add(new MsrEntry(in.i32("msrs"), in.i64("msrs")));
        byte[] lapic = in.bytes("lapic", (int) Structs.LAPIC_SIZE);
        byte[] events = in.bytes("vcpuEvents", Structs.VCPU_EVENTS_SIZE);
        int mpState = in.i32("mpState");
        byte[] debugRegs = in.bytes("debugRegs", Structs.DEBUGREGS_SIZE);
        return in.build(() -> new VcpuState(regs, sregs, xsave, xcrs, msrs, lapic, events, mpState, debugRegs));
    }

    private static final String[] SEGMENT_NAMES = {"cs", "ds", "es", "fs", "gs", "ss", "tr", "ldt"};

    private static Segment[] segments(Sregs s) {
        return new Segment[] {s.cs(), s.ds(), s.es(), s.fs(), s.gs(), s.ss(), s.tr(), s.ldt()};
    }

    private static Segment segment(StateReader in, String name) throws SnapshotException {
        long base = in.i64(name + ".base");
        int limit = in.i32(name + ".limit");
        int selector = in.u16(name + ".selector");
        int type = in.u8(name + ".type");
        if (type > 15) throw in.fail(name + ".type", type + " is more than 4 bits");
        boolean present = in.bool(name + ".present");
        int dpl = in.u8(name + ".dpl");
        if (dpl > 3) throw in.fail(name + ".dpl", dpl + " is no privilege level (0 to 3)");
        return new Segment(base, limit, selector, type, present, dpl, in.bool(name + ".db"), in.bool(name + ".s"),
                in.bool(name + ".l"), in.bool(name + ".g"), in.bool(name + ".avl"), in.bool(name + ".unusable"));
    }

    static void exact(String field, byte[] value, int size) {
        if (value.length != size) throw new IllegalArgumentException(field + ": " + value.length + " bytes, expected " + size);
    }
}
