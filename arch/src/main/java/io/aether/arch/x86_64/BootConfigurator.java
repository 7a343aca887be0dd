package io.aether.arch.x86_64;

import io.aether.memory.GuestMemory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/**
 * Prepares an x86_64 guest to boot a loaded kernel: writes the ACPI tables, the GDT and IDT, the
 * page tables, the reset vector, and the zero page or PVH start info, and computes the boot
 * vCPU's registers.
 */
public final class BootConfigurator {

    /** Page-table entry bits: present, writable, and (in a page directory) a 2 MiB page. */
    static final long PTE_PRESENT = 1L;
    static final long PTE_WRITABLE = 1L << 1;
    static final long PTE_LARGE = 1L << 7;
    /** Page directories written: one per GiB, so the identity map covers the first 4 GiB. */
    static final int PAGE_DIRECTORIES = 4;

    private BootConfigurator() {
    }

    /**
     * Writes everything the kernel expects to find in memory besides itself, its initrd and its
     * command line, and returns the state to load into vCPU 0.
     *
     * @throws IllegalArgumentException if guest memory does not hold the low 1 MiB where the boot
     *     structures go, or the ACPI tables do not fit
     */
    public static VcpuState configureSystem(GuestMemory memory, BootPlan plan) {
        if (!memory.contains(0, Layout.KERNEL_START)) {
            throw new IllegalArgumentException("guest memory does not cover the first " + Layout.KERNEL_START + " bytes, where the boot structures go");
        }
        List<E820Entry> e820 = Layout.e820(plan.ramSize());
        long rsdp = AcpiTables.write(memory, plan.platform());
        boolean longMode = plan.entry() instanceof BootEntry.LinuxBoot;
        memory.write(Layout.GDT_ADDRESS, Gdt.bytes(longMode));
        memory.write(Layout.IDT_ADDRESS, new byte[8]);
        memory.write(ResetVector.ADDRESS, ResetVector.code());
        GeneralRegisters regs = switch (plan.entry()) {
            case BootEntry.LinuxBoot linux -> {
                writePageTables(memory);
                memory.write(Layout.ZERO_PAGE_ADDRESS, ZeroPage.build(linux.setupHeader(), plan.cmdlineAddress(),
                        plan.initrdAddress(), plan.initrdSize(), rsdp, e820));
                yield GeneralRegisters.entry(linux.address(), Layout.BOOT_STACK_POINTER, Layout.ZERO_PAGE_ADDRESS, 0);
            }
            case BootEntry.Pvh pvh -> {
                memory.write(Layout.PVH_INFO_ADDRESS, PvhStartInfo.build(Layout.PVH_INFO_ADDRESS, plan.cmdlineAddress(),
                        plan.initrdAddress(), plan.initrdSize(), rsdp, e820));
                yield GeneralRegisters.entry(pvh.address(), 0, 0, Layout.PVH_INFO_ADDRESS);
            }
        };
        return new VcpuState(regs, specialRegisters(longMode), FpuState.INITIAL, Msr.bootDefaults());
    }

    /**
     * Identity map of the first 4 GiB with 2 MiB pages: PML4[0] to the PDPT, PDPT[0..3] to four
     * page directories of 512 entries each. This covers the kernel, zero page, command line and
     * initrd as the 64-bit boot protocol requires, and the MMIO gap.
     */
    static void writePageTables(GuestMemory memory) {
        ByteBuffer pml4 = ByteBuffer.allocate(4096).order(ByteOrder.LITTLE_ENDIAN);
        pml4.putLong(0, Layout.PDPT_ADDRESS | PTE_PRESENT | PTE_WRITABLE);
        ByteBuffer pdpt = ByteBuffer.allocate(4096).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer pd = ByteBuffer.allocate(4096 * PAGE_DIRECTORIES).order(ByteOrder.LITTLE_ENDIAN);
        for (int dir = 0; dir < PAGE_DIRECTORIES; dir++) {
            pdpt.putLong(dir * 8, (Layout.PD_ADDRESS + dir * 4096L) | PTE_PRESENT | PTE_WRITABLE);
        }
        for (int i = 0; i < 512 * PAGE_DIRECTORIES; i++) {
            pd.putLong(i * 8, ((long) i << 21) | PTE_PRESENT | PTE_WRITABLE | PTE_LARGE);
        }
        memory.write(Layout.PML4_ADDRESS, pml4.array());
        memory.write(Layout.PDPT_ADDRESS, pdpt.array());
        memory.write(Layout.PD_ADDRESS, pd.array());
    }

    /**
     * Long mode (CR0.PE|ET|PG, CR4.PAE, EFER.LME|LMA, CR3 at the PML4, 64-bit CS) for Linux's
     * 64-bit entry; flat 32-bit protected mode without paging (CR0.PE|ET) for PVH.
     */
    static SpecialRegisters specialRegisters(boolean longMode) {
        Segment code = Segment.fromDescriptor(Gdt.code(longMode), Gdt.CODE_SELECTOR);
        Segment data = Segment.fromDescriptor(Gdt.DATA, Gdt.DATA_SELECTOR);
        Segment tss = Segment.fromDescriptor(Gdt.TSS, Gdt.TSS_SELECTOR);
        // No LDT: the power-on state, a present LDT descriptor of 64 KiB at 0 that nothing selects.
        Segment ldt = new Segment(0, 0xFFFF, 0, 2, true, 0, false, false, false, false, false, false);
        DescriptorTable gdt = new DescriptorTable(Layout.GDT_ADDRESS, Gdt.ENTRIES * 8 - 1);
        DescriptorTable idt = new DescriptorTable(Layout.IDT_ADDRESS, 7);
        long apicBase = Layout.LAPIC_BASE | SpecialRegisters.APIC_BASE_ENABLE | SpecialRegisters.APIC_BASE_BSP;
        if (longMode) {
            return new SpecialRegisters(code, data, data, data, data, data, tss, ldt, gdt, idt,
                    SpecialRegisters.CR0_PE | SpecialRegisters.CR0_ET | SpecialRegisters.CR0_PG, 0, Layout.PML4_ADDRESS,
                    SpecialRegisters.CR4_PAE, 0, SpecialRegisters.EFER_LME | SpecialRegisters.EFER_LMA, apicBase);
        }
        return new SpecialRegisters(code, data, data, data, data, data, tss, ldt, gdt, idt,
                SpecialRegisters.CR0_PE | SpecialRegisters.CR0_ET, 0, 0, 0, 0, 0, apicBase);
    }
}
