package io.aether.loader;

/** Where and how the loaded kernel wants to be entered. */
public sealed interface KernelEntry {

    /** Guest-physical address of the first instruction. */
    long address();

    /**
     * Linux's 64-bit boot protocol: long mode, {@code rsi} = zero page.
     *
     * @param address the 64-bit entry point
     * @param setupHeader the bzImage's setup header bytes from file offset 0x1F1, to copy into the
     *     zero page; empty for an ELF kernel
     */
    record Linux64(long address, byte[] setupHeader) implements KernelEntry {
        public Linux64 {
            setupHeader = setupHeader.clone();
        }

        @Override
        public byte[] setupHeader() {
            return setupHeader.clone();
        }
    }

    /**
     * The PVH entry: 32-bit protected mode, {@code ebx} = hvm_start_info.
     *
     * @param address the physical entry from the XEN_ELFNOTE_PHYS32_ENTRY note
     */
    record Pvh(long address) implements KernelEntry {
    }
}
