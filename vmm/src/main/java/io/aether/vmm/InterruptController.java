package io.aether.vmm;

import io.aether.common.InterruptLine;
import io.aether.kvm.Vm;

/** The in-kernel interrupt controller and the lines devices raise on it. */
interface InterruptController {
    /** Creates it, before any vCPU. */
    void createInterruptController(Vm vm);

    /** The line of interrupt {@code number} (a GSI on x86_64, an SPI on aarch64). */
    InterruptLine interruptLine(Vm vm, int number);

    /** Completes it once every vCPU exists. */
    void finishInterruptController(Vm vm);
}
