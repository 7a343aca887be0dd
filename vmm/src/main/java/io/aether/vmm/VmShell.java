package io.aether.vmm;

import io.aether.kvm.Capability;
import io.aether.kvm.Kvm;
import io.aether.kvm.Vcpu;
import io.aether.kvm.Vm;
import io.aether.vmspec.VmSpec;
import java.util.List;
import java.util.Optional;

/**
 * The part of a VM that no spec decides, made ahead of it (a standby monitor makes one while it
 * waits): {@code /dev/kvm} opened, the KVM VM created with its architecture's reserved areas, and
 * the first vCPU created (its {@code kvm_run} area mapped) and configured as a stub guest's boot
 * vCPU (CPUID, MSRs, FPU; a restore loads the snapshot's over them). {@link MicroVm#create(VmSpec,
 * java.io.OutputStream, java.io.PrintStream, VmShell)} and {@link VmSnapshot#restore(java.nio.file.Path,
 * java.io.OutputStream, java.io.PrintStream, java.io.PrintStream, VmShell)} take it when it fits
 * the VM (a stub guest's shape: no interrupt controller, whose creation must come before any
 * vCPU's) and then own its parts; otherwise they build as without it and leave it as it was. One
 * shell serves one VM at most; {@link #close} releases it if no VM took it.
 */
public final class VmShell implements AutoCloseable {

    /** What a build takes over; {@code arch} has configured {@code first} (a fresh boot goes on with it, a restore takes its own). */
    record Parts(Kvm kvm, Arch arch, int maxVcpus, Vm vm, Vcpu first) {
    }

    private Parts parts;

    private VmShell(Parts parts) {
        this.parts = parts;
    }

    /**
     * A shell for the host's architecture, or empty where it builds nothing ahead (aarch64: its
     * vCPUs and interrupt controller are made in an order a shell does not fit).
     *
     * @throws io.aether.sys.NativeCallException when the host refuses one of its calls
     */
    public static Optional<VmShell> prebuild() {
        Kvm kvm = Kvm.open();
        Vm vm = null;
        Vcpu first = null;
        try {
            Arch arch = Arch.of(System.getProperty("os.arch"), kvm);
            if (!arch.buildsShellAhead()) {
                kvm.close();
                return Optional.empty();
            }
            int maxVcpus = Math.max(kvm.checkExtension(Capability.MAX_VCPUS), kvm.checkExtension(Capability.NR_VCPUS));
            vm = kvm.createVm();
            arch.reserveKvmAreas(vm);
            first = vm.createVcpu(0);
            arch.configureVcpus(vm, List.of(first), true);
            return Optional.of(new VmShell(new Parts(kvm, arch, maxVcpus, vm, first)));
        } catch (RuntimeException e) {
            if (first != null) first.close();
            if (vm != null) vm.close();
            kvm.close();
            throw e;
        }
    }

    /** Whether a VM has taken this shell (then it is the VM's, closed with it). */
    public synchronized boolean taken() {
        return parts == null;
    }

    /**
     * Its parts if they fit a VM of {@code spec}'s shape and no VM took them; null otherwise.
     * Still the shell's until {@link #take}.
     */
    synchronized Parts fitting(VmSpec spec) {
        return parts != null && spec.boot() instanceof VmSpec.Boot.Stub ? parts : null;
    }

    /** Hands {@code fitting}'s parts over to the VM being built: from now on the shell serves no other. */
    synchronized void take(Parts fitting) {
        if (parts != fitting) throw new IllegalStateException("the VM's shell was taken by another VM");
        parts = null;
    }

    /** Releases the shell unless a VM took it. */
    @Override
    public synchronized void close() {
        if (parts == null) return;
        parts.first().close();
        parts.vm().close();
        parts.kvm().close();
        parts = null;
    }
}
