/**
 * Loading Linux kernels into guest memory: bzImage (with its gzip or LZ4 payload when the
 * vmlinux inside is wanted), ELF vmlinux with its PVH note, the initrd and the command line; and
 * for arm64 the {@code Image} format with its initrd and device tree ({@link io.aether.loader.Arm64Loader}).
 * Kernel files are user input: every parser is bounds-checked and fails with a one-line
 * {@link io.aether.loader.LoadException} naming the file and field.
 */
package io.aether.loader;
