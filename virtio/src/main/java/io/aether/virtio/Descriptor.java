package io.aether.virtio;

/**
 * One buffer of a validated descriptor chain (virtio 1.2, 2.7.5), indirect tables already
 * followed: {@code [address, address + length)} lies in guest memory (writable ones in writable
 * memory); a zero-length descriptor's address is not checked.
 *
 * @param address guest-physical start
 * @param length bytes, 0 to 2^32 - 1
 * @param writable device-writable ({@code VIRTQ_DESC_F_WRITE}), else device-readable
 */
public record Descriptor(long address, long length, boolean writable) {

    public Descriptor {
        if (length < 0 || length > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("descriptor length out of range: " + length);
        }
    }
}
