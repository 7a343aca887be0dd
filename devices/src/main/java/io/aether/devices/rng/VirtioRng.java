package io.aether.devices.rng;

import io.aether.memory.GuestMemory;
import io.aether.memory.GuestMemoryException;
import io.aether.virtio.DescriptorChain;
import io.aether.virtio.RequestQueue;
import io.aether.virtio.VirtioDevice;
import io.aether.virtio.VirtioInterrupt;
import io.aether.virtio.Virtqueue;
import java.util.List;
import java.util.Objects;

/**
 * A virtio entropy device (virtio 1.2, 5.4): fills each device-writable chain of its one request
 * queue with bytes from an {@link EntropySource}, at most {@value #MAX_BYTES_PER_REQUEST} per
 * request. A chain with device-readable buffers, or with no writable byte, is a fault: counted
 * and completed with 0 bytes.
 */
public final class VirtioRng implements VirtioDevice {

    public static final int DEVICE_TYPE = 4;
    public static final int MAX_BYTES_PER_REQUEST = 64 * 1024;
    public static final int DEFAULT_QUEUE_SIZE = 256;

    /**
     * Counters.
     *
     * @param requests requests filled
     * @param bytes bytes of entropy given to the guest
     * @param faults malformed requests
     */
    public record Counters(long requests, long bytes, long faults) {
    }

    private final EntropySource source;
    private final int queueSize;
    private final RequestQueue queue = new RequestQueue();
    private long requests;
    private long bytes;
    private long faults;

    public VirtioRng(EntropySource source) {
        this(source, DEFAULT_QUEUE_SIZE);
    }

    /** @param queueSize the queue's maximum size, a power of two from 1 to 32768 */
    public VirtioRng(EntropySource source, int queueSize) {
        this.queueSize = Virtqueue.checkMaxSize("entropy queue size", 1, queueSize);
        this.source = Objects.requireNonNull(source, "source");
    }

    public synchronized Counters counters() {
        return new Counters(requests, bytes, faults);
    }

    @Override
    public int deviceType() {
        return DEVICE_TYPE;
    }

    @Override
    public long deviceFeatures() {
        return 0;
    }

    @Override
    public int queueCount() {
        return 1;
    }

    @Override
    public int queueMaxSize(int index) {
        return queueSize;
    }

    @Override
    public int configSize() {
        return 0;
    }

    @Override
    public void readConfig(int offset, byte[] data) {
        // 5.4.4: no configuration space; the transport never calls this with a range inside it.
    }

    @Override
    public synchronized void activate(GuestMemory memory, long features, List<Virtqueue> queues, VirtioInterrupt interrupt) {
        queue.activate(queues, interrupt);
    }

    @Override
    public synchronized void reset() {
        queue.reset();
    }

    @Override
    public synchronized void queueNotify(int index) {
        queue.drain(this::serve);
    }

    private long serve(DescriptorChain chain) {
        if (chain.readableLength() != 0 || chain.writableLength() == 0) {
            faults++;
            return 0;
        }
        int n = (int) Math.min(chain.writableLength(), MAX_BYTES_PER_REQUEST);
        byte[] random = new byte[n];
        source.fill(random);
        try {
            chain.write(0, random, 0, n);
        } catch (GuestMemoryException e) {
            faults++;
            return 0;
        }
        requests++;
        bytes += n;
        return n;
    }
}
