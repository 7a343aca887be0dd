package io.aether.virtio;

import io.aether.memory.GuestMemory;
import java.util.List;

/** A test device: copies each chain's readable bytes into its writable part. */
final class LoopbackDevice implements VirtioDevice {

    static final long FEATURE_A = 1L;
    static final long FEATURE_B = 1L << 1;

    boolean failActivation;
    int activations;
    int resets;
    long features;
    List<Virtqueue> queues;
    VirtioInterrupt interrupt;

    @Override
    public int deviceType() {
        return 42;
    }

    @Override
    public long deviceFeatures() {
        return FEATURE_A | FEATURE_B;
    }

    @Override
    public int queueCount() {
        return 2;
    }

    @Override
    public int queueMaxSize(int index) {
        return 16;
    }

    @Override
    public int configSize() {
        return 8;
    }

    @Override
    public void readConfig(int offset, byte[] data) {
        for (int i = 0; i < data.length; i++) data[i] = (byte) (0x10 + offset + i);
    }

    @Override
    public synchronized void activate(GuestMemory memory, long features, List<Virtqueue> queues, VirtioInterrupt interrupt) {
        if (failActivation) throw new IllegalStateException("test: activation fails");
        activations++;
        this.features = features;
        this.queues = queues;
        this.interrupt = interrupt;
    }

    @Override
    public synchronized void reset() {
        resets++;
        queues = null;
        interrupt = null;
    }

    @Override
    public synchronized void queueNotify(int index) {
        Virtqueue q = queues.get(index);
        for (DescriptorChain c; (c = q.pop()) != null; ) {
            int n = (int) Math.min(c.readableLength(), c.writableLength());
            byte[] b = new byte[n];
            c.read(0, b, 0, n);
            c.write(0, b, 0, n);
            q.addUsed(c, n);
        }
        interrupt.usedBuffers(index);
    }
}
