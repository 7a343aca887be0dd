package io.aether.virtio;

import java.util.List;

/**
 * The single request queue of a device that answers every chain as soon as the driver makes it
 * available (block, entropy): held from {@link VirtioDevice#activate} to
 * {@link VirtioDevice#reset}, drained on each notification. Not thread-safe: the owning device's
 * lock guards it, as it guards the device.
 */
public final class RequestQueue {

    /** What {@link Server#serve} answers for a chain it will not serve yet (over a rate limit): it stays in the queue. */
    public static final long NOT_NOW = -1;

    /** Serves one chain. */
    @FunctionalInterface
    public interface Server {
        /**
         * Handles {@code chain}; returns the bytes written into it (0 for a request that was
         * refused), or {@link #NOT_NOW} to leave it, and those after it, in the queue for later.
         */
        long serve(DescriptorChain chain);
    }

    private Virtqueue queue;
    private VirtioInterrupt interrupt;

    /** Takes the device's only queue and its interrupt ({@link VirtioDevice#activate}). */
    public void activate(List<Virtqueue> queues, VirtioInterrupt interrupt) {
        this.queue = queues.getFirst();
        this.interrupt = interrupt;
    }

    /** Drops the queue ({@link VirtioDevice#reset}): notifications are ignored until the next activation. */
    public void reset() {
        queue = null;
        interrupt = null;
    }

    /**
     * Completes every available chain with the length {@code server} returns, up to one it
     * answers {@link #NOT_NOW}, then signals the driver once (the used ring, 2.7.8, and its
     * interrupt, 2.7.7.2); does nothing before activation.
     */
    public void drain(Server server) {
        if (queue == null) return;
        for (DescriptorChain chain; (chain = queue.pop()) != null; ) {
            long written = server.serve(chain);
            if (written == NOT_NOW) {
                queue.undoPop(chain);
                break;
            }
            queue.addUsed(chain, written);
        }
        interrupt.usedBuffers(0);
    }
}
