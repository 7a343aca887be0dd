package io.aether.arch.x86_64;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/**
 * PVH's {@code struct hvm_start_info}, version 1 (xen/include/public/arch-x86/hvm/start_info.h),
 * with its module list (the initrd as one {@code hvm_modlist_entry}) and memory map
 * ({@code hvm_memmap_table_entry}s, e820 types) in the same page after it.
 */
final class PvhStartInfo {

    static final int MAGIC = 0x336E_C578;
    static final int VERSION = 1;
    static final int START_INFO_SIZE = 56;
    static final int MODLIST_OFFSET = 0x40;
    static final int MODLIST_ENTRY_SIZE = 32;
    static final int MEMMAP_OFFSET = 0x80;
    static final int MEMMAP_ENTRY_SIZE = 24;
    static final int PAGE = 4096;

    private PvhStartInfo() {
    }

    /** The page at {@code base}: start info, then the module list and the memory map. */
    static byte[] build(long base, long cmdlineAddress, long initrdAddress, long initrdSize, long rsdpAddress,
                        List<E820Entry> memmap) {
        if (MEMMAP_OFFSET + (long) memmap.size() * MEMMAP_ENTRY_SIZE > PAGE) {
            throw new IllegalArgumentException("PVH memory map of " + memmap.size() + " entries does not fit one page");
        }
        ByteBuffer b = ByteBuffer.allocate(PAGE).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0, MAGIC);
        b.putInt(4, VERSION);
        b.putInt(8, 0); // flags
        b.putInt(12, initrdSize > 0 ? 1 : 0); // nr_modules
        b.putLong(16, initrdSize > 0 ? base + MODLIST_OFFSET : 0); // modlist_paddr
        b.putLong(24, cmdlineAddress);
        b.putLong(32, rsdpAddress);
        b.putLong(40, base + MEMMAP_OFFSET); // memmap_paddr
        b.putInt(48, memmap.size()); // memmap_entries
        if (initrdSize > 0) {
            b.putLong(MODLIST_OFFSET, initrdAddress);
            b.putLong(MODLIST_OFFSET + 8, initrdSize);
            // cmdline_paddr 0: the module has no command line.
        }
        int at = MEMMAP_OFFSET;
        for (E820Entry e : memmap) {
            b.putLong(at, e.address());
            b.putLong(at + 8, e.size());
            b.putInt(at + 16, e.type());
            at += MEMMAP_ENTRY_SIZE;
        }
        return b.array();
    }
}
