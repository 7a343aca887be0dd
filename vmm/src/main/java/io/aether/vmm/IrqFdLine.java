package io.aether.vmm;

import io.aether.common.InterruptLine;
import io.aether.kvm.Vm;
import io.aether.sys.EventFd;

/**
 * A level-triggered device interrupt wired to a GSI of the in-kernel IOAPIC through KVM's irqfd
 * with a resample eventfd, so that raising it is an eventfd write from whatever thread the device
 * runs on, not a {@code KVM_IRQ_LINE} ioctl. KVM holds the GSI asserted from the trigger until
 * the guest's EOI, then lowers it and signals {@link #resampleFd()}; {@link #resampled} raises it
 * again while the device still asserts its line, which is what level-triggered means.
 */
final class IrqFdLine implements InterruptLine, AutoCloseable {

    private final EventFd trigger;
    private final EventFd resample;
    private boolean asserted;

    IrqFdLine(EventFd trigger, EventFd resample) {
        this.trigger = trigger;
        this.resample = resample;
    }

    /** Creates the eventfds and registers them with KVM for {@code gsi}. */
    static IrqFdLine register(Vm vm, int gsi) {
        EventFd trigger = EventFd.open();
        EventFd resample = null;
        try {
            resample = EventFd.open();
            vm.addLevelIrqFd(trigger.fd(), resample.fd(), gsi);
            return new IrqFdLine(trigger, resample);
        } catch (RuntimeException e) {
            trigger.close();
            if (resample != null) resample.close();
            throw e;
        }
    }

    @Override
    public synchronized void set(boolean high) {
        asserted = high;
        // Lowering needs nothing: KVM lowers the GSI at the EOI and asks through the resample fd.
        if (high) trigger.signal();
    }

    /** What the device thread waits on, besides its queues. */
    int resampleFd() {
        return resample.fd();
    }

    /** The guest ended the interrupt and KVM lowered the GSI: raise it again if the device still asserts it. */
    synchronized void resampled() {
        resample.take();
        if (asserted) trigger.signal();
    }

    @Override
    public void close() {
        trigger.close();
        resample.close();
    }
}
