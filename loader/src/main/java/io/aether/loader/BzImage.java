package io.aether.loader;

import io.aether.memory.GuestMemory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * A parsed bzImage: the real-mode setup header (Documentation/arch/x86/boot.rst, "The Real-Mode
 * Kernel Header") and the protected-mode kernel that follows the setup sectors.
 */
final class BzImage {

    // Setup header offsets in the file.
    static final int SETUP_SECTS = 0x1F1;
    static final int SYSSIZE = 0x1F4;
    static final int BOOT_FLAG = 0x1FE;
    static final int JUMP = 0x200;
    static final int HEADER = 0x202;
    static final int VERSION = 0x206;
    static final int LOADFLAGS = 0x211;
    static final int INITRD_ADDR_MAX = 0x22C;
    static final int KERNEL_ALIGNMENT = 0x230;
    static final int RELOCATABLE_KERNEL = 0x234;
    static final int XLOADFLAGS = 0x236;
    static final int CMDLINE_SIZE = 0x238;
    static final int PAYLOAD_OFFSET = 0x248;
    static final int PAYLOAD_LENGTH = 0x24C;
    static final int PREF_ADDRESS = 0x258;
    static final int INIT_SIZE = 0x260;
    /** The header area of boot_params ends here; nothing past it is copied. */
    static final int HEADER_AREA_END = 0x290;
    /** The file must reach at least past init_size. */
    static final int MIN_LENGTH = INIT_SIZE + 4;

    static final int BOOT_FLAG_MAGIC = 0xAA55;
    static final int HEADER_MAGIC = 0x5372_6448; // "HdrS"
    /** Boot protocol 2.12 added xloadflags and with it the announced 64-bit entry. */
    static final int MIN_VERSION = 0x020C;
    static final int LOADED_HIGH = 0x01;
    static final int XLF_KERNEL_64 = 0x01;
    /** The 64-bit entry point sits this far into the protected-mode kernel. */
    static final long ENTRY_64_OFFSET = 0x200;

    final String name;
    final int version;
    final int setupSize;
    final long kernelSize;
    final long initrdAddrMax;
    final long kernelAlignment;
    final boolean relocatable;
    final long cmdlineSize;
    final long payloadOffset;
    final long payloadLength;
    final long prefAddress;
    final long initSize;
    /** The file's first bytes (at least its setup header), or all of it. */
    private final byte[] file;
    private final long fileLength;
    private final int headerEnd;

    private BzImage(String name, byte[] file, long fileLength) throws LoadException {
        this.name = name;
        this.file = file;
        this.fileLength = fileLength;
        if (file.length < Math.min(fileLength, HEADER_AREA_END)) {
            throw new IllegalArgumentException(file.length + " bytes of a " + fileLength + "-byte file do not hold its setup header");
        }
        ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        if (file.length < HEADER + 6) {
            throw new LoadException(name, "truncated: " + file.length + " bytes cannot hold a bzImage setup header");
        }
        int bootFlag = b.getShort(BOOT_FLAG) & 0xFFFF;
        if (bootFlag != BOOT_FLAG_MAGIC) {
            throw new LoadException(name, String.format("not a bzImage: boot_flag at 0x1FE is 0x%04X, expected 0xAA55", bootFlag));
        }
        if (b.getInt(HEADER) != HEADER_MAGIC) throw new LoadException(name, "not a bzImage: no \"HdrS\" magic at offset 0x202");
        version = b.getShort(VERSION) & 0xFFFF;
        if (version < MIN_VERSION) {
            throw new LoadException(name, String.format("boot protocol %d.%02d is too old: 2.12 or newer is needed for the 64-bit entry",
                    version >> 8, version & 0xFF));
        }
        if (file.length < MIN_LENGTH) {
            throw new LoadException(name, "truncated: " + fileLength + " bytes end inside the setup header (0x" + Integer.toHexString(MIN_LENGTH) + " needed)");
        }
        if ((b.get(LOADFLAGS) & LOADED_HIGH) == 0) throw new LoadException(name, "not a bzImage: loadflags lacks LOADED_HIGH (a zImage?)");
        if ((b.getShort(XLOADFLAGS) & XLF_KERNEL_64) == 0) {
            throw new LoadException(name, "no 64-bit entry point: xloadflags bit XLF_KERNEL_64 is clear");
        }
        int sects = file[SETUP_SECTS] & 0xFF;
        setupSize = ((sects == 0 ? 4 : sects) + 1) * 512;
        kernelSize = (b.getInt(SYSSIZE) & 0xFFFF_FFFFL) * 16;
        if (kernelSize == 0) throw new LoadException(name, "syssize is 0: no protected-mode kernel");
        if (setupSize + kernelSize > fileLength) {
            throw new LoadException(name, "truncated: setup_sects " + sects + " and syssize say " + (setupSize + kernelSize)
                    + " bytes, the file has " + fileLength);
        }
        initrdAddrMax = b.getInt(INITRD_ADDR_MAX) & 0xFFFF_FFFFL;
        kernelAlignment = b.getInt(KERNEL_ALIGNMENT) & 0xFFFF_FFFFL;
        if (kernelAlignment == 0 || Long.bitCount(kernelAlignment) != 1) {
            throw new LoadException(name, "kernel_alignment 0x" + Long.toHexString(kernelAlignment) + " is not a power of two");
        }
        relocatable = file[RELOCATABLE_KERNEL] != 0;
        cmdlineSize = b.getInt(CMDLINE_SIZE) & 0xFFFF_FFFFL;
        payloadOffset = b.getInt(PAYLOAD_OFFSET) & 0xFFFF_FFFFL;
        payloadLength = b.getInt(PAYLOAD_LENGTH) & 0xFFFF_FFFFL;
        prefAddress = b.getLong(PREF_ADDRESS);
        initSize = b.getInt(INIT_SIZE) & 0xFFFF_FFFFL;
        if (initSize == 0) throw new LoadException(name, "init_size is 0");
        // The header ends at 0x202 + the jump's displacement byte (boot.rst).
        headerEnd = Math.clamp(HEADER + (file[JUMP + 1] & 0xFF), MIN_LENGTH, HEADER_AREA_END);
    }

    static BzImage parse(String name, byte[] file) throws LoadException {
        return new BzImage(name, file, file.length);
    }

    /**
     * Parses the setup header from the file's first bytes, {@code head} (all of a file shorter
     * than {@link BzImage#HEADER_AREA_END}); {@link #load} then reads the kernel from the file.
     */
    static BzImage parseHead(String name, byte[] head, long fileLength) throws LoadException {
        return new BzImage(name, head, fileLength);
    }

    /** Whether the file carries the bzImage magic numbers (boot_flag and "HdrS"). */
    static boolean looksLike(byte[] file) {
        if (file.length < HEADER + 4) return false;
        ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        return (b.getShort(BOOT_FLAG) & 0xFFFF) == BOOT_FLAG_MAGIC && b.getInt(HEADER) == HEADER_MAGIC;
    }

    /** The setup header bytes from 0x1F1 to its end, for the zero page. */
    byte[] setupHeader() {
        return Arrays.copyOfRange(file, SETUP_SECTS, Math.min(headerEnd, file.length));
    }

    /**
     * Loads the protected-mode kernel at {@code loadAddress}, from the bytes parsed where they hold
     * it, else from {@code source} (the file they came from), and returns the end of the memory the
     * kernel needs: its decompressor relocates to the load address rounded up to
     * kernel_alignment, or to pref_address if that is higher (always pref_address when not
     * relocatable), and uses init_size bytes from there.
     */
    long load(GuestMemory memory, long loadAddress, long ramEnd, Path source) throws LoadException {
        if (loadAddress + kernelSize > ramEnd) {
            throw new LoadException(name, "the " + kernelSize + "-byte kernel does not fit guest RAM at 0x" + Long.toHexString(loadAddress)
                    + " (RAM ends at 0x" + Long.toHexString(ramEnd) + ")");
        }
        long aligned = (loadAddress + kernelAlignment - 1) & -kernelAlignment;
        // pref_address is unsigned: a hostile value beyond 2^63 must count as huge, not negative.
        long runAddress = relocatable && Long.compareUnsigned(aligned, prefAddress) >= 0 ? aligned : prefAddress;
        if (runAddress < 0 || runAddress > ramEnd || initSize > ramEnd - runAddress) {
            throw new LoadException(name, "the kernel needs " + initSize + " bytes (init_size) from 0x" + Long.toHexString(runAddress)
                    + " to decompress, guest RAM ends at 0x" + Long.toHexString(ramEnd) + ": give the guest more memory");
        }
        if (file.length >= setupSize + kernelSize) {
            memory.write(loadAddress, file, setupSize, (int) kernelSize);
        } else {
            // Straight from the file into guest memory: through the heap, an 8 MiB kernel was read and copied
            // three times (docs/BENCHMARKS.md (a)).
            Initrd.read(memory, source, setupSize, loadAddress, kernelSize);
        }
        return Math.max(loadAddress + kernelSize, runAddress + initSize);
    }

    /** The 64-bit entry point when loaded at {@code loadAddress}. */
    static long entry64(long loadAddress) {
        return loadAddress + ENTRY_64_OFFSET;
    }

    /** Decompresses the payload: the kernel's own ELF vmlinux (followed by relocation data). */
    byte[] extractVmlinux(long limit) throws LoadException {
        if (file.length != fileLength) throw new IllegalStateException("the payload is in the file, and only its head was read");
        if (payloadLength == 0 || payloadOffset > kernelSize || payloadLength > kernelSize - payloadOffset) {
            throw new LoadException(name, "payload_offset 0x" + Long.toHexString(payloadOffset) + " + payload_length " + payloadLength
                    + " point outside the " + kernelSize + "-byte kernel");
        }
        return Decompressor.decompress(name, file, (int) (setupSize + payloadOffset), (int) payloadLength, limit);
    }
}
