package io.aether.vmm;

import io.aether.kvm.Vcpu;
import io.aether.memory.GuestMemory;
import io.aether.vmspec.VmSpec;

/** The guest's code in memory and the boot vCPU's registers to enter it. */
interface BootEntry {
    /** Loads the kernel and initrd; a bad file is a {@link VmCreationException} naming it. */
    void loadKernel(GuestMemory memory, VmSpec.Boot.Linux linux);

    /** Writes the stub guest's code and enters it on {@code vcpu}. */
    void loadStub(GuestMemory memory, VmSpec.StubProgram program, Vcpu vcpu);

    /** Sets the boot vCPU's registers to enter the kernel with the platform description. */
    void enterKernel(Vcpu boot);
}
