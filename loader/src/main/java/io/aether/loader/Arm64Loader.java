package io.aether.loader;

import io.aether.memory.GuestMemory;
import io.aether.memory.GuestMemoryException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Loads an arm64 Linux {@code Image} (raw or gzip-compressed, as distributions ship
 * {@code vmlinuz}), its initrd and, once the platform has written it, the device tree. Following
 * Documentation/arch/arm64/booting.rst: the kernel text_offset bytes above the lowest 2 MiB-aligned
 * base in RAM, image_size bytes reserved for it, then the initrd, then the device tree (at most
 * 2 MiB, 8-byte aligned), each aligned to the kernel's page size. Every placement is checked
 * before anything is written; each problem is a one-line {@link LoadException} naming the file.
 */
public final class Arm64Loader {

    /** arm64 Linux maps at most 2 MiB of device tree. */
    public static final int MAX_DEVICE_TREE_SIZE = 2 << 20;

    private Arm64Loader() {
    }

    /**
     * Loads the kernel into the RAM region that holds {@code ramStart} and the initrd after it.
     *
     * @throws LoadException naming the file and the problem; guest memory is unchanged then
     */
    public static Arm64Kernel load(GuestMemory memory, Path kernel, Optional<Path> initrd, long ramStart) throws LoadException {
        return load(memory, kernel, initrd, ramStart, KernelLoader.MAX_KERNEL_SIZE);
    }

    static Arm64Kernel load(GuestMemory memory, Path kernel, Optional<Path> initrd, long ramStart, long limit) throws LoadException {
        String name = kernel.toString();
        long size = KernelLoader.size(kernel);
        if (size > limit) throw new LoadException(name, size + " bytes is larger than the " + limit + "-byte limit for a kernel");
        byte[] head = KernelLoader.readHead(kernel, (int) Math.min(size, KernelLoader.HEAD));
        Arm64Image image;
        if (Decompressor.Method.detect(head, 0, head.length) == Decompressor.Method.GZIP) {
            byte[] file = KernelLoader.readCapped(kernel, limit);
            image = Arm64Image.parse(name, Decompressor.decompress(name, file, 0, file.length, limit));
        } else {
            // An uncompressed Image goes from the file straight into guest memory: a copy in the
            // heap would add its size (31 MiB for Debian's) to the monitor's peak memory.
            image = Arm64Image.parseHead(name, head, size);
        }
        long ramEnd = KernelLoader.ramEnd(memory, ramStart, name);
        long start = image.start(ramStart);
        // Unsigned, overflow-free: image_size comes from the file.
        if (start >= ramEnd || Long.compareUnsigned(image.imageSize, ramEnd - start) > 0) {
            throw new LoadException(name, "the kernel needs 0x" + Long.toHexString(image.imageSize) + " bytes (image_size) from 0x"
                    + Long.toHexString(start) + ", guest RAM ends at 0x" + Long.toHexString(ramEnd) + ": give the guest more memory");
        }
        long kernelEnd = start + image.imageSize;
        long initrdAddress = 0;
        long initrdSize = 0;
        if (initrd.isPresent()) {
            Path path = initrd.get();
            initrdSize = KernelLoader.size(path);
            initrdAddress = alignUp(kernelEnd, image.pageSize.bytes);
            if (initrdAddress >= ramEnd || initrdSize > ramEnd - initrdAddress) {
                throw new LoadException(path.toString(), "the " + initrdSize + "-byte initrd does not fit between the kernel's end 0x"
                        + Long.toHexString(initrdAddress) + " and the end of RAM 0x" + Long.toHexString(ramEnd) + ": give the guest more memory");
            }
        }
        if (image.whole()) {
            try {
                memory.write(start, image.bytes(), 0, image.bytes().length);
            } catch (GuestMemoryException e) {
                throw new LoadException(name, "does not fit guest memory: " + e.getMessage(), e);
            }
        } else {
            Initrd.read(memory, kernel, start, image.fileSize);
        }
        if (initrd.isPresent()) Initrd.read(memory, initrd.get(), initrdAddress, initrdSize);
        return new Arm64Kernel(start, kernelEnd, initrdAddress, initrdSize, ramEnd, image.pageSize.bytes);
    }

    /**
     * Writes the device tree after the kernel and initrd and returns its address, for x0.
     *
     * @throws LoadException if it is larger than {@link #MAX_DEVICE_TREE_SIZE} or RAM ends first
     */
    public static long placeDeviceTree(GuestMemory memory, Arm64Kernel kernel, byte[] dtb) throws LoadException {
        if (dtb.length == 0 || dtb.length > MAX_DEVICE_TREE_SIZE) {
            throw new LoadException("device tree", dtb.length + " bytes is not in 1.." + MAX_DEVICE_TREE_SIZE + " (arm64 Linux maps at most 2 MiB)");
        }
        long address = alignUp(kernel.freeFrom(), kernel.alignment());
        if (address >= kernel.ramEnd() || dtb.length > kernel.ramEnd() - address) {
            throw new LoadException("device tree", "its " + dtb.length + " bytes do not fit between 0x" + Long.toHexString(address)
                    + " and the end of RAM 0x" + Long.toHexString(kernel.ramEnd()) + ": give the guest more memory");
        }
        memory.write(address, dtb);
        return address;
    }

    private static long alignUp(long value, long alignment) {
        return (value + alignment - 1) & -alignment;
    }
}
