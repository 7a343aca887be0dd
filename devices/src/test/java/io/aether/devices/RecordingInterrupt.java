package io.aether.devices;

import io.aether.virtio.VirtioInterrupt;
import java.util.HashMap;
import java.util.Map;

/** A {@link VirtioInterrupt} for device tests run without a transport: counts the calls. */
public final class RecordingInterrupt implements VirtioInterrupt {

    private final Map<Integer, Integer> usedBuffers = new HashMap<>();
    private int configChanges;

    @Override
    public synchronized void usedBuffers(int queueIndex) {
        usedBuffers.merge(queueIndex, 1, Integer::sum);
    }

    @Override
    public synchronized void configChanged() {
        configChanges++;
    }

    public synchronized int usedCalls(int queueIndex) {
        return usedBuffers.getOrDefault(queueIndex, 0);
    }

    public synchronized int configChanges() {
        return configChanges;
    }
}
