package io.aether.vmm;

import io.aether.common.InterruptLine;
import io.aether.kvm.Vm;

/** A device's interrupt line wired to a GSI of the in-kernel IOAPIC. */
record KvmInterruptLine(Vm vm, int gsi) implements InterruptLine {
    @Override
    public void set(boolean asserted) {
        vm.irqLine(gsi, asserted);
    }
}
