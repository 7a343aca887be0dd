package io.aether.devices.net;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * The host side of a virtio network device: a TAP device in the monitor, a queue in tests. Calls
 * come with the device's lock held, on a vCPU thread (transmit, and receive after the driver adds
 * buffers) or on the thread that calls {@link VirtioNet#processRx()}.
 */
public interface NetBackend {

    /**
     * Sends one Ethernet frame: the bytes from {@code frame}'s position to its limit. The buffer may
     * be a view of guest memory: finish with it before returning and keep no reference.
     */
    void send(ByteBuffer frame) throws IOException;

    /**
     * Takes one waiting frame without blocking, writing it from {@code into}'s position (0; the
     * buffer holds {@link VirtioNet#MAX_FRAME} bytes, a longer frame is the backend's to truncate
     * or drop).
     *
     * @return its length, or 0 when no frame is waiting
     */
    int receive(ByteBuffer into) throws IOException;

    /**
     * The device had stopped taking frames because the guest had no receive buffers, and now has
     * taken all waiting ones again: resume watching for frames and calling
     * {@link VirtioNet#processRx()}. Called with the device's lock held, after
     * {@link VirtioNet#rxStalled()} turned false. Must not block.
     */
    default void rxReady() {
    }
}
