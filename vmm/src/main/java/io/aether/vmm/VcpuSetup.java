package io.aether.vmm;

import io.aether.kvm.Vcpu;
import io.aether.kvm.Vm;
import java.util.List;

/** vCPU creation and the registers that do not depend on the guest. */
interface VcpuSetup {
    /** Configures every vCPU (the first boots, the others wait for the guest to start them). */
    void configureVcpus(Vm vm, List<Vcpu> vcpus, boolean stub);
}
