package io.aether.loader;

/**
 * Where an arm64 kernel and its initrd were loaded. The boot vCPU enters at {@code entry} with
 * x0 holding the device tree's address ({@link Arm64Loader#placeDeviceTree}).
 *
 * @param entry the kernel's first byte, where execution starts
 * @param kernelEnd the first byte after the image_size bytes the kernel may use
 * @param initrdAddress where the initrd is, 0 without one
 * @param initrdSize its size, 0 without one
 * @param ramEnd the end of the RAM region holding the kernel
 * @param alignment the kernel's page size (64 KiB when its header leaves it unsaid): the initrd
 *     and the device tree start on such a boundary, never inside a kernel page
 */
public record Arm64Kernel(long entry, long kernelEnd, long initrdAddress, long initrdSize, long ramEnd, long alignment) {

    /** The first byte nothing loaded occupies. */
    long freeFrom() {
        return initrdSize == 0 ? kernelEnd : initrdAddress + initrdSize;
    }
}
