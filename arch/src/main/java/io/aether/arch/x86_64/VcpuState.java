package io.aether.arch.x86_64;

import java.util.List;

/**
 * Everything the monitor loads into the boot vCPU before its first run. The other vCPUs get
 * only {@link Msr#bootDefaults()}, {@link FpuState#INITIAL} and their CPUID: with an in-kernel
 * local APIC they wait for INIT/SIPI from the guest, which sets their registers.
 */
public record VcpuState(GeneralRegisters regs, SpecialRegisters sregs, FpuState fpu, List<Msr> msrs) {

    public VcpuState {
        if (regs == null || sregs == null || fpu == null) throw new IllegalArgumentException("vCPU state needs registers and FPU state");
        msrs = List.copyOf(msrs);
    }
}
