package io.aether.arch.x86_64;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/**
 * Linux's zero page, {@code struct boot_params} (Documentation/arch/x86/zero-page.rst and
 * boot.rst): the setup header a boot loader fills, the e820 map and the RSDP pointer.
 */
final class ZeroPage {

    static final int SIZE = 4096;
    // boot_params offsets (zero-page.rst).
    static final int ACPI_RSDP_ADDR = 0x070;
    static final int EXT_RAMDISK_IMAGE = 0x0C0;
    static final int EXT_RAMDISK_SIZE = 0x0C4;
    static final int EXT_CMD_LINE_PTR = 0x0C8;
    static final int E820_ENTRIES = 0x1E8;
    static final int SENTINEL = 0x1EF;
    static final int SETUP_HEADER = 0x1F1;
    static final int E820_TABLE = 0x2D0;
    static final int E820_MAX_ENTRIES = 128;
    static final int E820_ENTRY_SIZE = 20;
    /** The header area of boot_params ends at 0x290. */
    static final int MAX_HEADER_LENGTH = 0x290 - SETUP_HEADER;
    // Setup header offsets, absolute within boot_params (boot.rst, "The Real-Mode Kernel Header").
    static final int BOOT_FLAG = 0x1FE;
    static final int HEADER = 0x202;
    static final int VERSION = 0x206;
    static final int TYPE_OF_LOADER = 0x210;
    static final int LOADFLAGS = 0x211;
    static final int RAMDISK_IMAGE = 0x218;
    static final int RAMDISK_SIZE = 0x21C;
    static final int HEAP_END_PTR = 0x224;
    static final int CMD_LINE_PTR = 0x228;
    static final int KERNEL_ALIGNMENT = 0x230;
    static final int CMDLINE_SIZE = 0x238;

    static final int BOOT_FLAG_MAGIC = 0xAA55;
    static final int HEADER_MAGIC = 0x5372_6448; // "HdrS"
    static final int FRESH_VERSION = 0x020F;
    /** type_of_loader 0xFF: a boot loader without an assigned id. */
    static final int UNDEFINED_LOADER = 0xFF;
    static final int LOADED_HIGH = 0x01;
    static final int CAN_USE_HEAP = 0x80;
    /** End of the setup heap, relative to the real-mode code, minus 0x200 (boot.rst). */
    static final int HEAP_END = 0xFE00 - 0x200;
    /** What a fresh header promises as command line room; Linux's COMMAND_LINE_SIZE is 2048. */
    static final int FRESH_CMDLINE_SIZE = 2047;
    static final int FRESH_KERNEL_ALIGNMENT = 0x100_0000;

    private ZeroPage() {
    }

    /** Checks a setup header copied from a bzImage: empty, or long enough to carry its magic numbers. */
    static void checkSetupHeader(byte[] header) {
        if (header.length == 0) return;
        if (header.length > MAX_HEADER_LENGTH || header.length < HEADER + 4 - SETUP_HEADER) {
            throw new IllegalArgumentException("setup header of " + header.length + " bytes is not in " + (HEADER + 4 - SETUP_HEADER) + ".." + MAX_HEADER_LENGTH);
        }
        ByteBuffer b = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN);
        if ((b.getShort(BOOT_FLAG - SETUP_HEADER) & 0xFFFF) != BOOT_FLAG_MAGIC || b.getInt(HEADER - SETUP_HEADER) != HEADER_MAGIC) {
            throw new IllegalArgumentException("setup header lacks the 0xAA55 boot flag or the HdrS magic");
        }
    }

    /**
     * The zero page: the kernel's setup header (or a fresh one), the loader's fields in it, the
     * e820 map and the RSDP address. The sentinel byte stays 0, so the kernel keeps all of it.
     */
    static byte[] build(byte[] setupHeader, long cmdlineAddress, long initrdAddress, long initrdSize, long rsdpAddress,
                        List<E820Entry> e820) {
        if (e820.size() > E820_MAX_ENTRIES) throw new IllegalArgumentException("e820 map of " + e820.size() + " entries exceeds " + E820_MAX_ENTRIES);
        ByteBuffer b = ByteBuffer.allocate(SIZE).order(ByteOrder.LITTLE_ENDIAN);
        if (setupHeader.length == 0) {
            b.putShort(BOOT_FLAG, (short) BOOT_FLAG_MAGIC);
            b.putInt(HEADER, HEADER_MAGIC);
            b.putShort(VERSION, (short) FRESH_VERSION);
            b.put(LOADFLAGS, (byte) LOADED_HIGH);
            b.putInt(KERNEL_ALIGNMENT, FRESH_KERNEL_ALIGNMENT);
            b.putInt(CMDLINE_SIZE, FRESH_CMDLINE_SIZE);
        } else {
            b.put(SETUP_HEADER, setupHeader);
        }
        b.put(TYPE_OF_LOADER, (byte) UNDEFINED_LOADER);
        b.put(LOADFLAGS, (byte) (b.get(LOADFLAGS) | CAN_USE_HEAP));
        b.putShort(HEAP_END_PTR, (short) HEAP_END);
        b.putInt(CMD_LINE_PTR, (int) cmdlineAddress);
        b.putInt(EXT_CMD_LINE_PTR, (int) (cmdlineAddress >>> 32));
        b.putInt(RAMDISK_IMAGE, (int) initrdAddress);
        b.putInt(EXT_RAMDISK_IMAGE, (int) (initrdAddress >>> 32));
        b.putInt(RAMDISK_SIZE, (int) initrdSize);
        b.putInt(EXT_RAMDISK_SIZE, (int) (initrdSize >>> 32));
        b.putLong(ACPI_RSDP_ADDR, rsdpAddress);
        b.put(E820_ENTRIES, (byte) e820.size());
        int at = E820_TABLE;
        for (E820Entry e : e820) {
            b.putLong(at, e.address());
            b.putLong(at + 8, e.size());
            b.putInt(at + 16, e.type());
            at += E820_ENTRY_SIZE;
        }
        return b.array();
    }
}
