package io.aether.virtio;

/**
 * The guest errors a {@link Virtqueue} detects. Each is counted; a bad chain with a valid head
 * is completed with 0 bytes used, one with a bad head is dropped, and a queue-wide error stops
 * the queue until the driver resets the device.
 */
public enum QueueFault {
    /** The driver's queue layout was refused when it set QueueReady (not counted per chain). */
    BAD_LAYOUT,
    /** The available index ran more than the queue size ahead (2.7.6): the queue stops. */
    AVAIL_INDEX_JUMP,
    /** A ring access failed although the layout was checked (a read-only used ring, say): the queue stops. */
    RING_ACCESS,
    /** A head index from the available ring is not below the queue size: dropped. */
    HEAD_OUT_OF_RANGE,
    /** A descriptor's next index is not below the size of its table. */
    NEXT_OUT_OF_RANGE,
    /** More descriptors than the queue size: a loop or an over-long chain (2.7.5.3.1). */
    CHAIN_TOO_LONG,
    /** An indirect descriptor without the feature, with NEXT set, nested, or with a bad table length. */
    BAD_INDIRECT,
    /** A device-readable descriptor after a device-writable one (2.7.4.2). */
    READABLE_AFTER_WRITABLE,
    /** A buffer or indirect table outside guest memory, or a writable buffer in read-only memory. */
    OUTSIDE_MEMORY;

    /** Whether this fault consumed one available-ring entry (as opposed to stopping the queue). */
    public boolean perChain() {
        return switch (this) {
            case BAD_LAYOUT, AVAIL_INDEX_JUMP, RING_ACCESS -> false;
            case HEAD_OUT_OF_RANGE, NEXT_OUT_OF_RANGE, CHAIN_TOO_LONG, BAD_INDIRECT, READABLE_AFTER_WRITABLE,
                 OUTSIDE_MEMORY -> true;
        };
    }
}
