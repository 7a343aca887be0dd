package io.aether.loader;

/**
 * What was loaded and where; the platform's boot configurator turns this into a zero page or a
 * PVH start info and the boot vCPU's registers.
 *
 * @param format what the kernel file was
 * @param entry how to enter it
 * @param kernelEnd the first byte after the memory the kernel occupies or, for a bzImage, needs
 *     for decompressing itself (its init_size)
 * @param cmdlineAddress where the NUL-terminated command line is
 * @param cmdlineLength its length in bytes without the NUL
 * @param initrdAddress where the initrd is, 0 without one
 * @param initrdSize its size, 0 without one
 */
public record LoadedKernel(KernelFormat format, KernelEntry entry, long kernelEnd, long cmdlineAddress, int cmdlineLength,
                           long initrdAddress, long initrdSize) {
}
