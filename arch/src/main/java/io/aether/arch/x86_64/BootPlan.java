package io.aether.arch.x86_64;

/**
 * What {@link BootConfigurator#configureSystem} needs to know about a loaded kernel and the
 * machine: the kernel and initrd are already in guest memory, the command line too.
 *
 * @param entry how the kernel is entered
 * @param ramSize bytes of guest RAM, laid out as {@link Layout#memoryRegions} says
 * @param cmdlineAddress where the NUL-terminated command line is, below 4 GiB; 0 for none
 * @param initrdAddress where the initrd is, below 4 GiB; 0 when {@code initrdSize} is 0
 * @param initrdSize length of the initrd in bytes; 0 for none
 * @param platform vCPUs and devices for the ACPI tables
 */
public record BootPlan(BootEntry entry, long ramSize, long cmdlineAddress, long initrdAddress, long initrdSize,
                       PlatformConfig platform) {

    public BootPlan {
        if (entry == null || platform == null) throw new IllegalArgumentException("a boot plan needs an entry and a platform");
        Layout.memoryRegions(ramSize); // validates the size
        if (cmdlineAddress < 0 || cmdlineAddress > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("command line address 0x" + Long.toHexString(cmdlineAddress) + " is not below 4 GiB");
        }
        if (initrdSize < 0 || initrdAddress < 0 || initrdAddress + initrdSize > 0x1_0000_0000L) {
            throw new IllegalArgumentException("initrd 0x" + Long.toHexString(initrdAddress) + " + " + initrdSize + " bytes does not lie below 4 GiB");
        }
        if (initrdSize == 0 && initrdAddress != 0) {
            throw new IllegalArgumentException("initrd address 0x" + Long.toHexString(initrdAddress) + " given without a size");
        }
    }
}
