package io.aether.arch;

/**
 * One virtio-mmio device as the guest firmware tables announce it: a register window and the
 * interrupt line (global system interrupt on x86, SPI on Arm) the device raises.
 *
 * @param base guest-physical start of the register window, 4 KiB aligned
 * @param size length of the window in bytes (0x200 for a virtio-mmio transport)
 * @param gsi the interrupt line, counted from 0
 */
public record VirtioMmioWindow(long base, long size, int gsi) {

    public VirtioMmioWindow {
        if (base <= 0 || (base & 0xFFF) != 0) {
            throw new IllegalArgumentException("virtio-mmio window base 0x" + Long.toHexString(base) + " is not a positive 4 KiB-aligned address");
        }
        if (size <= 0 || size > 0x1000) {
            throw new IllegalArgumentException("virtio-mmio window size " + size + " is not in 1..4096");
        }
        if (gsi < 0) {
            throw new IllegalArgumentException("virtio-mmio interrupt line " + gsi + " is negative");
        }
    }

    /** The first address past the window. */
    public long end() {
        return base + size;
    }
}
