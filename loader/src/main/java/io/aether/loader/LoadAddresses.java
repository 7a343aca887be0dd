package io.aether.loader;

/**
 * Where the platform wants things: the loader knows formats, the platform's memory layout
 * decides addresses (on x86_64 they come from {@code io.aether.arch.x86_64.Layout}).
 *
 * @param kernelStart where a bzImage's protected-mode code goes; no kernel byte may be loaded
 *     below it (the boot structures live there)
 * @param cmdlineAddress where the command line goes
 * @param cmdlineCapacity bytes reserved for the command line, its NUL included
 */
public record LoadAddresses(long kernelStart, long cmdlineAddress, long cmdlineCapacity) {

    public LoadAddresses {
        if (kernelStart <= 0 || kernelStart % 4096 != 0) {
            throw new IllegalArgumentException("kernel start 0x" + Long.toHexString(kernelStart) + " is not a positive page-aligned address");
        }
        if (cmdlineAddress <= 0 || cmdlineCapacity < 1 || cmdlineAddress + cmdlineCapacity > kernelStart) {
            throw new IllegalArgumentException("command line area 0x" + Long.toHexString(cmdlineAddress) + " + " + cmdlineCapacity
                    + " is not a non-empty area below the kernel start 0x" + Long.toHexString(kernelStart));
        }
    }
}
