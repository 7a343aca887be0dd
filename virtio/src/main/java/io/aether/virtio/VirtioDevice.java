package io.aether.virtio;

import io.aether.memory.GuestMemory;
import java.util.List;

/**
 * A virtio device model as a transport drives it (virtio 1.2, chapter 3 and 5).
 *
 * <p>Threading: the transport calls every method while holding the device object's monitor
 * ({@code synchronized (device)}); a device that does work from another thread (a network
 * backend, say) synchronizes on itself too, so one lock guards the device, its queues and its
 * transport state. Methods must not throw for anything the guest controls: bad requests are
 * counted and answered through the queues.
 */
public interface VirtioDevice {

    /** The virtio device ID (virtio 1.2, section 5): 1 network, 2 block, 4 entropy. */
    int deviceType();

    /**
     * Device-specific feature bits offered to the driver. The transport adds
     * {@link VirtioFeatures#TRANSPORT}.
     */
    long deviceFeatures();

    /** The number of virtqueues. */
    int queueCount();

    /** The largest size the driver may give queue {@code index}: a power of two up to 32768. */
    int queueMaxSize(int index);

    /** Bytes of device configuration space. */
    int configSize();

    /** Reads configuration space; the transport guarantees {@code offset + data.length <= configSize()}. */
    void readConfig(int offset, byte[] data);

    /**
     * Writes configuration space; the transport guarantees the range is inside it. The devices here
     * have no driver-writable fields, so the default ignores the write.
     */
    default void writeConfig(int offset, byte[] data) {
    }

    /**
     * The driver set DRIVER_OK: start serving.
     *
     * @param memory the guest's memory
     * @param features the feature bits the driver accepted (a subset of the offered ones)
     * @param queues one per {@link #queueCount()}, in order; a queue the driver did not make
     *     ready yields no buffers
     * @param interrupt how to signal the driver
     */
    void activate(GuestMemory memory, long features, List<Virtqueue> queues, VirtioInterrupt interrupt);

    /** Back to the state before activation (status 0 written). The backend (file, tap) stays. */
    void reset();

    /** The driver notified queue {@code index} (already checked to exist) after adding buffers. */
    void queueNotify(int index);
}
