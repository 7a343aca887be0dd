package io.aether.virtio;

/**
 * Feature bits shared by every virtio device (virtio 1.2, section 6 "Reserved Feature Bits").
 * Device-specific bits (0 to 23) are declared beside each device.
 */
public final class VirtioFeatures {

    /** The driver may use indirect descriptor tables (2.7.5.3). */
    public static final long RING_INDIRECT_DESC = 1L << 28;
    /** {@code used_event} / {@code avail_event} notification suppression (2.7.7, 2.7.10). */
    public static final long RING_EVENT_IDX = 1L << 29;
    /** A virtio 1.x ("modern") device; the only kind this transport offers. */
    public static final long VERSION_1 = 1L << 32;

    /** Bits the transport and {@link Virtqueue} implement and offer for every device. */
    public static final long TRANSPORT = VERSION_1 | RING_INDIRECT_DESC | RING_EVENT_IDX;

    private VirtioFeatures() {
    }

    /** Whether every bit of {@code feature} is set in {@code features}. */
    public static boolean has(long features, long feature) {
        return (features & feature) == feature;
    }
}
