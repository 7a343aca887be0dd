package io.aether.loader;

/** Which entry point to boot a kernel through. */
public enum BootMode {
    /**
     * A bzImage through Linux's 64-bit boot protocol; an ELF vmlinux through its PVH entry when
     * it has the XEN_ELFNOTE_PHYS32_ENTRY note, else through the 64-bit boot protocol.
     */
    AUTO,
    /** Linux's 64-bit boot protocol, with a zero page (an ELF kernel gets a fresh setup header). */
    LINUX_64,
    /**
     * PVH: an ELF vmlinux's PHYS32 entry; for a bzImage, the vmlinux inside it is decompressed
     * and loaded instead, so the same file boots either way.
     */
    PVH
}
