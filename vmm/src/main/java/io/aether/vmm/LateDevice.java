package io.aether.vmm;

import io.aether.common.BusDevice;
import io.aether.common.Uninterruptibly;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;

/**
 * What the bus holds, from before the vCPUs run, for a device that is still being built beside
 * them ({@link DeviceManager#buildLate}): an access waits until the device is there, then gets the
 * device's own answer. Once its build has failed or the VM stops it is nobody's: reads give all
 * ones and writes are dropped, as on an empty bus (the guest never sees a half-built device).
 */
final class LateDevice implements BusDevice {

    private final CountDownLatch settled = new CountDownLatch(1);
    private volatile BusDevice device;

    /** The device is built: every access, those waiting included, goes to it from now on. */
    void bind(BusDevice built) {
        device = built;
        settled.countDown();
    }

    /** No device will come (its build failed, or the VM stops): waiting accesses are answered as nobody's. */
    void abandon() {
        settled.countDown();
    }

    /** The device, or null for none; waits for its build to end. */
    private BusDevice await() {
        BusDevice built = device;
        if (built != null) return built;
        // A vCPU thread is stopped by the VM's stop, which abandons this; the interrupt is kept for it.
        Uninterruptibly.await(settled);
        return device;
    }

    @Override
    public void read(long offset, byte[] data) {
        BusDevice built = await();
        if (built == null) {
            Arrays.fill(data, (byte) 0xFF);
        } else {
            built.read(offset, data);
        }
    }

    @Override
    public void write(long offset, byte[] data) {
        BusDevice built = await();
        if (built != null) built.write(offset, data);
    }
}
