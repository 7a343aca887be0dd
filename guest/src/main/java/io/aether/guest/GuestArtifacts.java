package io.aether.guest;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * A fetched guest, as cached by {@link GuestFetcher}: a stock Debian kernel, the initramfs
 * built for it, and the module files it came with.
 *
 * @param kernelRelease        the kernel's release ({@code uname -r}), e.g. {@code 6.1.0-56-cloud-amd64};
 *                             also the name of the cache directory
 * @param kernelPackageVersion the Debian version of the kernel package, e.g. {@code 6.1.192-2}
 * @param busyboxVersion       the Debian version of {@code busybox-static}
 * @param directory            the cache directory holding everything below
 * @param kernel               the kernel image ({@code vmlinuz}, a bzImage)
 * @param initramfs            the guest initramfs ({@code initramfs.cpio.gz})
 * @param busybox              the static busybox binary the initramfs holds
 * @param guestModules         the guest's virtio modules, in load order (also inside the initramfs)
 * @param hostModules          the modules a nested test host loads (irqbypass, kvm, kvm-amd, tun), in load order
 * @param reused               true when the cache already held all of it
 */
public record GuestArtifacts(String kernelRelease, String kernelPackageVersion, String busyboxVersion,
                             Path directory, Path kernel, Path initramfs, Path busybox,
                             List<Path> guestModules, List<Path> hostModules, boolean reused) {

    public GuestArtifacts {
        Objects.requireNonNull(kernelRelease, "kernelRelease");
        Objects.requireNonNull(kernelPackageVersion, "kernelPackageVersion");
        Objects.requireNonNull(busyboxVersion, "busyboxVersion");
        Objects.requireNonNull(directory, "directory");
        Objects.requireNonNull(kernel, "kernel");
        Objects.requireNonNull(initramfs, "initramfs");
        Objects.requireNonNull(busybox, "busybox");
        guestModules = List.copyOf(guestModules);
        hostModules = List.copyOf(hostModules);
    }

    /** The host module file for {@code name} ({@code kvm_amd} or {@code kvm-amd} alike). */
    public Path hostModule(String name) {
        String wanted = KernelModules.canonicalName(name) + ".ko";
        for (Path p : hostModules) {
            if (KernelModules.canonicalName(p.getFileName().toString()).equals(wanted)) {
                return p;
            }
        }
        throw new IllegalArgumentException("no host module " + name + " among " + hostModules);
    }

    /** This record as a JSON object, for scripts. */
    public String toJson() {
        return "{\"kernelRelease\":" + Json.string(kernelRelease)
                + ",\"kernelPackageVersion\":" + Json.string(kernelPackageVersion)
                + ",\"busyboxVersion\":" + Json.string(busyboxVersion)
                + ",\"directory\":" + Json.string(directory.toString())
                + ",\"kernel\":" + Json.string(kernel.toString())
                + ",\"initramfs\":" + Json.string(initramfs.toString())
                + ",\"busybox\":" + Json.string(busybox.toString())
                + ",\"guestModules\":" + Json.strings(guestModules.stream().map(Path::toString).toList())
                + ",\"hostModules\":" + Json.strings(hostModules.stream().map(Path::toString).toList())
                + ",\"reused\":" + reused + "}";
    }
}
