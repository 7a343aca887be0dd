package io.aether.common;

/**
 * A device reached through guest port I/O or MMIO accesses.
 *
 * <p>The monitor routes each access that falls inside the device's range here, with the offset
 * relative to the start of that range. Everything in {@code data} on a write comes from the guest
 * and is untrusted; an access of an unexpected size or offset must be ignored (reads answer
 * zeros), never thrown back at the monitor.
 */
public interface BusDevice {

    /** The guest reads {@code data.length} bytes at {@code offset}; fill {@code data}. */
    void read(long offset, byte[] data);

    /** The guest writes {@code data} at {@code offset}. */
    void write(long offset, byte[] data);
}
