package io.aether.vmm;

import io.aether.kvm.CpuidEntry;
import io.aether.kvm.Vcpu;
import io.aether.kvm.Vm;
import java.util.List;

/**
 * What a snapshot keeps beyond memory and devices, and gives back on restore: the vCPUs' state
 * and CPUID, the in-kernel interrupt controller's and clock's state ({@link VmSnapshot}'s format
 * is x86_64's; an aarch64 VM refuses to be saved or restored).
 */
interface Snapshots {
    /**
     * Refuses, in one line naming {@code action}, where this architecture's VMs cannot be saved or
     * restored.
     *
     * @throws UnsupportedOperationException on such an architecture
     */
    void requireSnapshots(String action);

    /** The CPUID each vCPU was given (configured or restored), in vCPU order; empty where CPUID does not exist. */
    List<List<CpuidEntry>> cpuids();

    /** Loads the VM-wide state of {@code saved} (interrupt controllers, timers, clock), before any vCPU exists. */
    void restoreVm(Vm vm, VmSnapshot.Saved saved);

    /** Gives {@code vcpu} its saved CPUID (the guest sees the CPU it saw), then its saved state, instead of configuring it. */
    void restoreVcpu(Vcpu vcpu, VmSnapshot.Saved saved);
}
