package io.aether.vmm;

import io.aether.kvm.VcpuExit;

/** The exits whose payload differs by architecture. */
interface ExitDecoding {
    /** One line for {@code --trace-exits}, with the architecture's syndrome decoded where the exit carries one. */
    String describe(VcpuExit exit);
}
