package io.aether.vmm;

import io.aether.vmspec.VmSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * What this host's KVM can run. A PVM-backed {@code /dev/kvm} (the {@code kvm_pvm} module, on a
 * CPU that shows the guest no VMX or SVM) runs the stub guest, but an unmodified Linux kernel only
 * through instruction emulation: minutes of it, then an emulation failure. Front ends refuse a
 * Linux boot on such a host at once, with what to do instead.
 */
public final class KvmHost {

    private KvmHost() {
    }

    /**
     * Why this host cannot boot an unmodified Linux kernel, if it cannot.
     *
     * @param root where {@code sys/module} and {@code proc/cpuinfo} are read ({@code /} for this host; tests pass fakes)
     */
    public static Optional<String> whyNoLinux(Path root) {
        if (!Files.isDirectory(root.resolve("sys/module/kvm_pvm"))) return Optional.empty();
        String cpuinfo;
        try {
            cpuinfo = Files.readString(root.resolve("proc/cpuinfo"));
        } catch (IOException e) {
            cpuinfo = "";
        }
        // Compiled here, not in a static field: every monitor initializes this class, and only a
        // Linux boot on a PVM host needs java.util.regex (docs/BENCHMARKS.md (d)).
        if (Pattern.compile("^flags\\s*:.*\\b(vmx|svm)\\b", Pattern.MULTILINE).matcher(cpuinfo).find()) return Optional.empty();
        return Optional.of("this host's /dev/kvm is PVM-backed (kvm_pvm, no VMX or SVM in the CPU): it runs the stub guest (--stub)"
                + " but cannot boot an unmodified Linux kernel; run Linux in the nested test host ('aether demo'),"
                + " or on a host with hardware virtualization");
    }

    /**
     * Refuses a Linux boot on a host that cannot run it (see {@link #whyNoLinux}).
     *
     * @throws VmCreationException with the reason
     */
    public static void requireLinuxBootable(VmSpec spec, Path root) {
        if (spec.boot() instanceof VmSpec.Boot.Linux) {
            whyNoLinux(root).ifPresent(why -> {
                throw new VmCreationException(why, null);
            });
        }
    }
}
