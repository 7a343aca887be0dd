package io.aether.vmm;

import io.aether.kvm.Vcpu;
import io.aether.kvm.Vm;
import java.util.List;

/** vCPU creation and the registers that do not depend on the guest. */
interface VcpuSetup {
    /** Configures every vCPU (the first boots, the others wait for the guest to start them). */
    void configureVcpus(Vm vm, List<Vcpu> vcpus, boolean stub);

    /**
     * Has KVM stop {@code vcpu} after every instruction and at every software breakpoint, each
     * a debug exit with its syndrome ({@code KVM_SET_GUEST_DEBUG}).
     *
     * @throws VmCreationException where this architecture's debug exits are not decoded
     */
    void enableGuestDebug(Vcpu vcpu);
}
