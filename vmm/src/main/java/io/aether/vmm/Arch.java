package io.aether.vmm;

import io.aether.kvm.Kvm;

/**
 * What assembling and running a VM needs to know about the guest's architecture, one concern per
 * interface ({@link MemoryLayout}, {@link InterruptController}, {@link PlatformDescription},
 * {@link VcpuSetup}, {@link BootEntry}, {@link ExitDecoding}, {@link Hypercalls}, {@link Snapshots}); {@link VmBuilder} and the vCPU loop use nothing arch-specific beyond these. One
 * instance serves one VM, in the order {@link VmBuilder} calls it: the layout, the interrupt
 * controller, the platform's devices, the kernel, the vCPUs, the platform description, the entry.
 */
sealed interface Arch extends MemoryLayout, InterruptController, PlatformDescription, VcpuSetup, BootEntry,
        ExitDecoding, Hypercalls, Snapshots permits X86Arch, Arm64Arch {

    /**
     * Whether a {@link VmShell} is made ahead of a VM: x86 creates its VM, reserved areas and
     * first vCPU before anything the spec decides; elsewhere nothing is built ahead.
     */
    default boolean buildsShellAhead() {
        return false;
    }

    /** The architecture {@code osArch} (the JVM's {@code os.arch}: KVM runs guests of its host's only). */
    static Arch of(String osArch, Kvm kvm) {
        return switch (osArch) {
            case "amd64", "x86_64" -> new X86Arch(kvm);
            case "aarch64" -> new Arm64Arch();
            default -> throw new VmCreationException("this monitor runs guests on x86_64 and aarch64 hosts, not on " + osArch, null);
        };
    }
}
