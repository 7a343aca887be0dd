package io.aether.devices;

import java.util.concurrent.atomic.AtomicInteger;

/** {@link PowerEvents} for device tests: counts the power-off and reset requests. */
public final class RecordingPower implements PowerEvents {

    private final AtomicInteger powerOffs = new AtomicInteger();
    private final AtomicInteger resets = new AtomicInteger();

    @Override
    public void powerOff() {
        powerOffs.incrementAndGet();
    }

    @Override
    public void reset() {
        resets.incrementAndGet();
    }

    public int powerOffs() {
        return powerOffs.get();
    }

    public int resets() {
        return resets.get();
    }

    /** Forgets the requests counted so far (between the tries of a property). */
    public void clear() {
        powerOffs.set(0);
        resets.set(0);
    }
}
