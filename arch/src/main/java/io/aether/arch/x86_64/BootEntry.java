package io.aether.arch.x86_64;

/** How the boot vCPU enters the kernel. */
public sealed interface BootEntry {

    /** The guest-physical address of the first instruction. */
    long address();

    /**
     * Linux's 64-bit boot protocol (Documentation/arch/x86/boot.rst, "64-bit Boot Protocol"):
     * long mode with identity-mapped paging, {@code rsi} pointing at the zero page.
     *
     * @param address the 64-bit entry: a bzImage's load address + 0x200, or an ELF vmlinux's
     *     physical entry point
     * @param setupHeader a bzImage's setup header, the file's bytes from offset 0x1F1 (at most
     *     {@link ZeroPage#MAX_HEADER_LENGTH} bytes); empty for an ELF kernel, which gets a fresh header
     */
    record LinuxBoot(long address, byte[] setupHeader) implements BootEntry {
        public LinuxBoot {
            if (address <= 0) throw new IllegalArgumentException("Linux boot entry 0x" + Long.toHexString(address) + " is not a positive address");
            setupHeader = setupHeader.clone();
            ZeroPage.checkSetupHeader(setupHeader);
        }

        @Override
        public byte[] setupHeader() {
            return setupHeader.clone();
        }
    }

    /**
     * The PVH entry (Xen's HVM direct boot ABI, which Linux implements in
     * arch/x86/platform/pvh): 32-bit protected mode without paging, {@code ebx} pointing at
     * {@code struct hvm_start_info}.
     *
     * @param address the 32-bit physical entry from the kernel's XEN_ELFNOTE_PHYS32_ENTRY note
     */
    record Pvh(long address) implements BootEntry {
        public Pvh {
            if (address <= 0 || address > 0xFFFF_FFFFL) {
                throw new IllegalArgumentException("PVH entry 0x" + Long.toHexString(address) + " is not a 32-bit address");
            }
        }
    }
}
