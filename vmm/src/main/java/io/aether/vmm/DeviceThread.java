package io.aether.vmm;

/**
 * A thread of a device's own beside the vCPUs (the network's receive pump): started with the
 * VM and stopped when the VM closes.
 */
interface DeviceThread extends AutoCloseable {

    void start();

    /** Stops the thread, waits a bounded time for it, and releases the backend. */
    @Override
    void close();
}
