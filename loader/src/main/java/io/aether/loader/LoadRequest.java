package io.aether.loader;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * What to load.
 *
 * @param kernel a bzImage or an ELF vmlinux (told apart by their magic numbers)
 * @param initrd an initial ramdisk, or empty
 * @param cmdline the kernel command line (no NUL characters)
 * @param mode which entry point to boot through
 * @param addresses where the platform wants the kernel and command line
 */
public record LoadRequest(Path kernel, Optional<Path> initrd, String cmdline, BootMode mode, LoadAddresses addresses) {

    public LoadRequest {
        Objects.requireNonNull(kernel, "kernel");
        Objects.requireNonNull(initrd, "initrd");
        Objects.requireNonNull(cmdline, "cmdline");
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(addresses, "addresses");
    }
}
