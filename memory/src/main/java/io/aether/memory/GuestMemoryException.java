package io.aether.memory;

/**
 * A guest-physical access fell outside guest RAM, or wrote to a read-only region, or was
 * misaligned for an atomic access. Such addresses come from the guest: a device catches this,
 * counts the fault and fails the request; the monitor never reads host memory because of it.
 */
public final class GuestMemoryException extends RuntimeException {

    private final long address;
    private final long length;

    public GuestMemoryException(String what, long address, long length) {
        super(what + ": guest-physical 0x" + Long.toHexString(address) + " + " + length + " bytes");
        this.address = address;
        this.length = length;
    }

    public long address() {
        return address;
    }

    public long length() {
        return length;
    }
}
