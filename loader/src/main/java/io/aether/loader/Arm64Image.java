package io.aether.loader;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A parsed arm64 Linux {@code Image} header (Documentation/arch/arm64/booting.rst, "Call the kernel
 * image"): 64 bytes, little-endian, with the magic "ARM\x64" at offset 56.
 */
final class Arm64Image {

    static final int HEADER_SIZE = 64;
    static final int TEXT_OFFSET = 8;
    static final int IMAGE_SIZE = 16;
    static final int FLAGS = 24;
    static final int MAGIC_OFFSET = 56;
    /** "ARM\x64" read as a little-endian 32-bit number. */
    static final int MAGIC = 0x644D_5241;

    static final long FLAG_BIG_ENDIAN = 1;
    static final int PAGE_SIZE_SHIFT = 1;
    // Flags bit 3 (physical placement) needs nothing here: the kernel always goes to the lowest
    // 2 MiB-aligned base in RAM, which satisfies both of its values.
    /** The kernel's base, text_offset below its first byte, is 2 MiB aligned. */
    static final long BASE_ALIGNMENT = 2L << 20;
    /** text_offset is 0 (Linux 5.8 and later) or at most a 4 KiB-aligned offset inside the first 2 MiB. */
    static final long TEXT_OFFSET_ALIGNMENT = 4096;

    /** The kernel's page size, flags bits 1-2; unspecified counts as the largest. */
    enum PageSize {
        UNSPECIFIED(64 << 10), KIB_4(4 << 10), KIB_16(16 << 10), KIB_64(64 << 10);

        final long bytes;

        PageSize(long bytes) {
            this.bytes = bytes;
        }
    }

    final String name;
    final long textOffset;
    final long imageSize;
    /** What the initrd and the device tree are aligned to, so the kernel never shares a page with them. */
    final PageSize pageSize;
    /** The whole file, or only its first bytes when the loader reads the rest straight into guest memory. */
    private final byte[] file;
    final long fileSize;

    private Arm64Image(String name, byte[] file, long fileSize) throws LoadException {
        this.name = name;
        this.file = file;
        this.fileSize = fileSize;
        if (fileSize < HEADER_SIZE || file.length < HEADER_SIZE) {
            throw new LoadException(name, "truncated: " + fileSize + " bytes cannot hold the 64-byte arm64 Image header");
        }
        ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        if (b.getInt(MAGIC_OFFSET) != MAGIC) throw new LoadException(name, "not an arm64 Image: " + whatItIs(file));
        textOffset = b.getLong(TEXT_OFFSET);
        imageSize = b.getLong(IMAGE_SIZE);
        long flags = b.getLong(FLAGS);
        if ((flags & FLAG_BIG_ENDIAN) != 0) {
            throw new LoadException(name, "a big-endian kernel (flags bit 0): the vCPUs start little-endian");
        }
        pageSize = PageSize.values()[(int) (flags >>> PAGE_SIZE_SHIFT) & 3];
        // Unsigned: a hostile value with the top bit set is huge, not negative.
        if (Long.compareUnsigned(textOffset, BASE_ALIGNMENT) >= 0 || textOffset % TEXT_OFFSET_ALIGNMENT != 0) {
            throw new LoadException(name, "text_offset 0x" + Long.toHexString(textOffset) + " is not a 4 KiB-aligned offset below 2 MiB");
        }
        if (imageSize == 0) {
            throw new LoadException(name, "image_size is 0: a kernel older than Linux 3.17, which does not say how much memory it needs");
        }
        if (Long.compareUnsigned(imageSize, fileSize) < 0) {
            throw new LoadException(name, "image_size 0x" + Long.toHexString(imageSize) + " is smaller than the " + fileSize + "-byte file");
        }
    }

    static Arm64Image parse(String name, byte[] file) throws LoadException {
        return new Arm64Image(name, file, file.length);
    }

    /** Parses the header from {@code head}, the first bytes of a {@code fileSize}-byte file. */
    static Arm64Image parseHead(String name, byte[] head, long fileSize) throws LoadException {
        return new Arm64Image(name, head, fileSize);
    }

    /** Whether {@link #bytes} holds the whole file. */
    boolean whole() {
        return file.length == fileSize;
    }

    /** Whether {@code file} carries the arm64 Image magic. */
    static boolean looksLike(byte[] file) {
        return file.length >= HEADER_SIZE && ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN).getInt(MAGIC_OFFSET) == MAGIC;
    }

    /** The kernel's first byte when its 2 MiB-aligned base is the first such address at or above {@code ramStart}. */
    long start(long ramStart) {
        return ((ramStart + BASE_ALIGNMENT - 1) & -BASE_ALIGNMENT) + textOffset;
    }

    /** The file's bytes (all of them when {@link #whole}), to be copied to {@link #start}; image_size bytes from there belong to the kernel. */
    byte[] bytes() {
        return file;
    }

    /** Names what a file without the magic is, when it is something a user might mistake for an Image. */
    private static String whatItIs(byte[] file) {
        if (BzImage.looksLike(file)) return "this is an x86 bzImage";
        if (ElfKernel.looksLike(file)) return "this is an ELF file (a vmlinux?): boot the Image instead";
        return "no \"ARM\\x64\" magic at offset 56";
    }
}
