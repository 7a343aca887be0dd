package io.aether.arch.x86_64;

/**
 * One entry of the BIOS e820 memory map, as the Linux zero page carries it ({@code struct
 * boot_e820_entry}) and as PVH's {@code hvm_memmap_table_entry} carries it (same type numbers).
 *
 * @param address guest-physical start
 * @param size length in bytes, positive
 * @param type {@link #RAM} or {@link #RESERVED}
 */
public record E820Entry(long address, long size, int type) {

    /** Usable RAM (E820_TYPE_RAM). */
    public static final int RAM = 1;
    /** Reserved, not for the OS to use (E820_TYPE_RESERVED). */
    public static final int RESERVED = 2;

    public E820Entry {
        if (address < 0 || size <= 0 || address + size < address) {
            throw new IllegalArgumentException("e820 entry 0x" + Long.toHexString(address) + " + " + size + " is not a valid range");
        }
        if (type != RAM && type != RESERVED) {
            throw new IllegalArgumentException("e820 type " + type + " is neither RAM (1) nor reserved (2)");
        }
    }

    public long end() {
        return address + size;
    }
}
