package io.aether.vmm;

import io.aether.kvm.Vcpu;
import io.aether.kvm.VcpuExit;
import io.aether.kvm.Vm;

/** The monitor's own calls from the guest: which KVM passes on, and how the monitor answers them. */
interface Hypercalls {
    /** Has KVM pass the monitor's calls on to it instead of answering them itself; before any vCPU runs. */
    void forwardHypercalls(Vm vm);

    /**
     * Answers a call KVM passed on, on its vCPU's thread: the result in the vCPU's registers, the
     * guest resumes after its call.
     *
     * @return false for a call this architecture never asked KVM for (the VM then stops)
     */
    boolean answerHypercall(Vcpu vcpu, VcpuExit.Hypercall call);
}
