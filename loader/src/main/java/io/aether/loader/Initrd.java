package io.aether.loader;

import io.aether.memory.GuestMemory;
import io.aether.memory.GuestMemoryException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Places an initial ramdisk in guest RAM and reads it there. */
final class Initrd {

    static final long PAGE = 4096;
    /** Above 4 GiB the 32-bit ramdisk_image field cannot point. */
    static final long LIMIT_32 = 0x1_0000_0000L;
    /** The most copied into guest memory by one read. */
    static final long SLICE = 64L << 20;

    private Initrd() {
    }

    /**
     * The address for an initrd of {@code size} bytes: page-aligned, as high as possible so that
     * it ends at or below {@code min(addrMax + 1, ramEnd, 4 GiB)} (initrd_addr_max is the highest
     * address the initrd may occupy), and not below the kernel's end.
     */
    static long place(String name, long size, long kernelEnd, long ramEnd, long addrMax) throws LoadException {
        long top = Math.min(Math.min(ramEnd, LIMIT_32), addrMax + 1);
        long bottom = (kernelEnd + PAGE - 1) & -PAGE;
        if (size <= 0 || size > top || ((top - size) & -PAGE) < bottom) {
            throw new LoadException(name, "the " + size + "-byte initrd does not fit between the kernel's end 0x" + Long.toHexString(bottom)
                    + " and 0x" + Long.toHexString(top) + ": give the guest more memory");
        }
        return (top - size) & -PAGE;
    }

    /**
     * Reads the file into {@code [address, address + size)} of guest memory, a slice at a time: a
     * {@link ByteBuffer} holds less than 2 GiB, and an initrd may be larger.
     */
    static void read(GuestMemory memory, Path file, long address, long size) throws LoadException {
        read(memory, file, 0, address, size);
    }

    /** Reads {@code size} bytes of the file from {@code offset} into guest memory at {@code address}, as {@link #read(GuestMemory, Path, long, long)}. */
    static void read(GuestMemory memory, Path file, long offset, long address, long size) throws LoadException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ch.position(offset);
            for (long done = 0; done < size; ) {
                ByteBuffer target = memory.sliceForWrite(address + done, Math.min(SLICE, size - done)).asByteBuffer();
                while (target.hasRemaining()) {
                    if (ch.read(target) < 0) {
                        throw new LoadException(file.toString(), "file shrank to " + (offset + done + target.position()) + " bytes while it was read");
                    }
                }
                done += target.capacity();
            }
        } catch (IOException e) {
            throw new LoadException(file.toString(), "cannot read: " + e, e);
        } catch (GuestMemoryException e) {
            throw new LoadException(file.toString(), "does not fit guest memory: " + e.getMessage(), e);
        }
    }
}
