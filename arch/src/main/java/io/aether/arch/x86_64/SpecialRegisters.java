package io.aether.arch.x86_64;

/**
 * A vCPU's segment, descriptor-table and control registers, as in KVM's {@code struct kvm_sregs}
 * (the pending-interrupt bitmap there stays empty at boot and is not modelled).
 */
public record SpecialRegisters(Segment cs, Segment ds, Segment es, Segment fs, Segment gs, Segment ss,
                               Segment tr, Segment ldt, DescriptorTable gdt, DescriptorTable idt,
                               long cr0, long cr2, long cr3, long cr4, long cr8, long efer, long apicBase) {

    public static final long CR0_PE = 1L;
    public static final long CR0_ET = 1L << 4;
    public static final long CR0_PG = 1L << 31;
    public static final long CR4_PAE = 1L << 5;
    public static final long EFER_LME = 1L << 8;
    public static final long EFER_LMA = 1L << 10;
    /** IA32_APIC_BASE: this processor is the bootstrap processor. */
    public static final long APIC_BASE_BSP = 1L << 8;
    /** IA32_APIC_BASE: the local APIC is enabled (xAPIC mode). */
    public static final long APIC_BASE_ENABLE = 1L << 11;

    public SpecialRegisters {
        for (Segment seg : new Segment[] {cs, ds, es, fs, gs, ss, tr, ldt}) {
            if (seg == null) throw new IllegalArgumentException("special registers need all eight segments");
        }
        if (gdt == null || idt == null) throw new IllegalArgumentException("special registers need the GDT and IDT registers");
    }
}
