package io.aether.virtio;

/**
 * How an active device tells the driver about its work; given to {@link VirtioDevice#activate}.
 * Implemented by the transport, which applies the driver's notification suppression.
 */
public interface VirtioInterrupt {

    /**
     * The device finished a pass over queue {@code queueIndex}. Interrupts the driver if used
     * buffers were added since the last call and the driver has not suppressed interrupts
     * ({@code VIRTQ_AVAIL_F_NO_INTERRUPT}, or {@code used_event} with EVENT_IDX). Cheap when
     * nothing was added, so devices call it after every pass.
     */
    void usedBuffers(int queueIndex);

    /** The device's configuration space changed (virtio 1.2, 2.5.1). */
    void configChanged();
}
