package io.aether.vmm;

/**
 * A thread of a device's own beside the vCPUs (the network's receive pump): started with the
 * VM, held while the VM is paused, and stopped when the VM closes.
 */
interface DeviceThread extends AutoCloseable {

    void start();

    /**
     * Returns once the thread is doing nothing to its device, guest memory or interrupts, and
     * will do nothing until {@link #resume}.
     */
    void pause();

    void resume();

    /** Stops the thread, waits a bounded time for it, and releases the backend. */
    @Override
    void close();
}
