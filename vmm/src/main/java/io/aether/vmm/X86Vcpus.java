package io.aether.vmm;

import io.aether.arch.x86_64.Cpuid;
import io.aether.arch.x86_64.FpuState;
import io.aether.arch.x86_64.GeneralRegisters;
import io.aether.arch.x86_64.LocalApic;
import io.aether.arch.x86_64.Msr;
import io.aether.arch.x86_64.SpecialRegisters;
import io.aether.arch.x86_64.VcpuState;
import io.aether.kvm.CpuidEntry;
import io.aether.kvm.DescriptorTable;
import io.aether.kvm.MsrEntry;
import io.aether.kvm.Regs;
import io.aether.kvm.Segment;
import io.aether.kvm.Sregs;
import io.aether.kvm.Vcpu;
import java.util.List;

/** Loads the arch module's x86_64 register values into KVM vCPUs (field-for-field copies). */
final class X86Vcpus {

    private X86Vcpus() {
    }

    /**
     * The CPUID a guest's vCPU {@code index} of {@code count} gets on a host that supports
     * {@code supported}, with the TSC-deadline timer where {@code tscDeadline} (KVM's in-kernel APIC).
     */
    static List<CpuidEntry> guestCpuid(List<CpuidEntry> supported, int index, int count, boolean tscDeadline) {
        List<io.aether.arch.x86_64.CpuidEntry> host = supported.stream()
                .map(e -> new io.aether.arch.x86_64.CpuidEntry(e.function(), e.index(), e.flags(), e.eax(), e.ebx(), e.ecx(), e.edx()))
                .toList();
        return Cpuid.forVcpu(host, index, count, tscDeadline).stream()
                .map(e -> new CpuidEntry(e.function(), e.index(), e.flags(), e.eax(), e.ebx(), e.ecx(), e.edx()))
                .toList();
    }

    /**
     * CPUID with this vCPU's place in the topology, boot MSRs, FPU, and LAPIC LINT pins; returns
     * the CPUID set (a snapshot keeps it). {@code tscDeadline}: the in-kernel APIC can run the
     * TSC-deadline timer (KVM_CAP_TSC_DEADLINE_TIMER), which the guest's CPUID then announces.
     */
    static List<CpuidEntry> configureCommon(Vcpu vcpu, List<CpuidEntry> supported, int count, boolean lapic, boolean tscDeadline) {
        List<CpuidEntry> cpuid = guestCpuid(supported, vcpu.id(), count, lapic && tscDeadline);
        vcpu.setCpuid(cpuid);
        vcpu.setMsrs(Msr.bootDefaults().stream().map(m -> new MsrEntry(m.index(), m.value())).toList());
        vcpu.setFpu(FpuState.INITIAL.fcw(), FpuState.INITIAL.mxcsr());
        if (lapic) {
            byte[] registers = vcpu.lapic();
            LocalApic.configureLint(registers);
            vcpu.setLapic(registers);
        }
        return cpuid;
    }

    /** Loads the boot vCPU's entry state. */
    static void loadBootState(Vcpu vcpu, VcpuState state) {
        vcpu.sregs(); // read first: setSregs keeps the interrupt bitmap it read
        vcpu.setSregs(sregs(state.sregs()));
        vcpu.setRegs(regs(state.regs()));
        vcpu.setMsrs(state.msrs().stream().map(m -> new MsrEntry(m.index(), m.value())).toList());
    }

    static Regs regs(GeneralRegisters r) {
        return new Regs(r.rax(), r.rbx(), r.rcx(), r.rdx(), r.rsi(), r.rdi(), r.rsp(), r.rbp(), r.r8(), r.r9(), r.r10(),
                r.r11(), r.r12(), r.r13(), r.r14(), r.r15(), r.rip(), r.rflags());
    }

    static Sregs sregs(SpecialRegisters s) {
        return new Sregs(segment(s.cs()), segment(s.ds()), segment(s.es()), segment(s.fs()), segment(s.gs()),
                segment(s.ss()), segment(s.tr()), segment(s.ldt()), table(s.gdt()), table(s.idt()),
                s.cr0(), s.cr2(), s.cr3(), s.cr4(), s.cr8(), s.efer(), s.apicBase());
    }

    private static Segment segment(io.aether.arch.x86_64.Segment s) {
        return new Segment(s.base(), s.limit(), s.selector(), s.type(), s.present(), s.dpl(), s.db(), s.s(), s.l(),
                s.g(), s.avl(), s.unusable());
    }

    private static DescriptorTable table(io.aether.arch.x86_64.DescriptorTable t) {
        return new DescriptorTable(t.base(), t.limit());
    }

    /** Real mode at {@code entry} with CS base 0, for the stub guest. */
    static void loadRealModeEntry(Vcpu vcpu, long entry) {
        Sregs s = vcpu.sregs();
        Segment cs = new Segment(0, 0xFFFF, 0, s.cs().type(), true, 0, false, true, false, false, false, false);
        vcpu.setSregs(new Sregs(cs, s.ds(), s.es(), s.fs(), s.gs(), s.ss(), s.tr(), s.ldt(), s.gdt(), s.idt(),
                s.cr0(), s.cr2(), s.cr3(), s.cr4(), s.cr8(), s.efer(), s.apicBase()));
        vcpu.setRegs(new Regs(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, entry, GeneralRegisters.RFLAGS_RESERVED));
    }
}
