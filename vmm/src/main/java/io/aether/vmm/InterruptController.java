package io.aether.vmm;

import io.aether.common.InterruptLine;
import io.aether.kvm.Vm;

/** The in-kernel interrupt controller and the lines devices raise on it. */
interface InterruptController {
    /** Creates it, before any vCPU. */
    void createInterruptController(Vm vm);

    /** The line of interrupt {@code number} (a GSI on x86_64, an SPI on aarch64). */
    InterruptLine interruptLine(Vm vm, int number);

    /**
     * Whether this VM's virtio devices may signal through an irqfd on their interrupt number and
     * be notified through an ioeventfd on their window (see {@link VirtioNotifier}), after
     * {@link #createInterruptController}: the host's KVM has both.
     */
    boolean eventFds(Vm vm);

    /** Completes it once every vCPU exists. */
    void finishInterruptController(Vm vm);
}
