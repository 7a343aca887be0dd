package io.aether.loader;

/** The kind of kernel file that was loaded. */
public enum KernelFormat {
    /** A compressed Linux kernel with a real-mode setup header (Documentation/arch/x86/boot.rst). */
    BZIMAGE,
    /** An uncompressed ELF64 x86_64 executable such as vmlinux. */
    ELF
}
