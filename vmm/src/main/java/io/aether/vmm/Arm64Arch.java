package io.aether.vmm;

import io.aether.arch.VirtioMmioWindow;
import io.aether.arch.aarch64.DeviceTree;
import io.aether.arch.aarch64.Layout;
import io.aether.arch.aarch64.Platform;
import io.aether.arch.aarch64.Smccc;
import io.aether.arch.aarch64.StubGuest;
import io.aether.common.InterruptLine;
import io.aether.devices.PowerEvents;
import io.aether.kvm.Arm64Register;
import io.aether.kvm.CpuidEntry;
import io.aether.kvm.Esr;
import io.aether.kvm.Vcpu;
import io.aether.kvm.VcpuExit;
import io.aether.kvm.Vm;
import io.aether.kvm.VgicV3;
import io.aether.loader.Arm64Kernel;
import io.aether.loader.Arm64Loader;
import io.aether.loader.LoadException;
import io.aether.memory.GuestMemory;
import io.aether.memory.RegionSpec;
import io.aether.vmspec.VmSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Function;

/**
 * aarch64: QEMU {@code virt}'s layout, the in-kernel GICv3, a device tree, PSCI 0.2 vCPUs
 * (KVM answers the guest's PSCI calls: CPU_ON starts a secondary, SYSTEM_OFF and SYSTEM_RESET
 * arrive as system events), and the kernel entered as Documentation/arch/arm64/booting.rst asks.
 */
final class Arm64Arch implements Arch {

    /** EL1h with D, A, I and F masked: what booting.rst asks of the boot CPU (KVM's reset value too). */
    static final long BOOT_PSTATE = 0x3C5;
    /**
     * ESR_EL2's EC for a data abort from the guest (0x24) and IL (bit 25), which KVM leaves out of
     * {@code arm_nisv.esr_iss}: it passes only the ISS bits it vouches for (CM, WnR, DFSC).
     */
    static final long DATA_ABORT_LOWER_EL = 0x24L << 26 | 1L << 25;

    /** Set by {@link #loadKernel}, then {@link #describePlatform}, then read by {@link #enterKernel}. */
    private Arm64Kernel kernel;
    private long deviceTreeAddress;

    @Override
    public List<RegionSpec> memoryRegions(VmSpec.Boot boot, long bytes) {
        return Layout.memoryRegions(bytes);
    }

    @Override
    public List<VirtioMmioWindow> virtioWindows(int count) {
        return Layout.virtioMmioWindows(count);
    }

    @Override
    public void reserveKvmAreas(Vm vm) {
        // KVM keeps nothing of its own in an arm64 guest's address space.
    }

    @Override
    public void createInterruptController(Vm vm) {
        // The GICv3 is made in finishInterruptController, once the vCPUs exist, so that a VM that
        // fails before then holds no device descriptor: KVM ties the device to the VM, not its fd.
    }

    @Override
    public InterruptLine interruptLine(Vm vm, int spi) {
        return asserted -> vm.armSpiLine(spi, asserted);
    }

    /**
     * Not yet: the arm64 test host proves the {@code KVM_IRQ_LINE} path; irqfd numbering on the
     * vGIC (its SPI routing) is unproven here, so devices interrupt and are notified through exits.
     */
    @Override
    public boolean eventFds(Vm vm) {
        return false;
    }

    @Override
    public void finishInterruptController(Vm vm) {
        try (VgicV3 gic = vm.createVgicV3(Layout.GIC_DISTRIBUTOR_BASE, Layout.GIC_REDISTRIBUTOR_BASE)) {
            gic.initialize();
        }
        BootTrace.mark("gic-ready");
    }

    /** The console is a 16550 on MMIO (ns16550a); power-off and reset are PSCI calls KVM answers. */
    @Override
    public void attachPlatformDevices(DeviceManager devices, Vm vm, Function<InterruptLine, Device.Uart> console, PowerEvents power,
                                      boolean stub) {
        devices.attachMmio(Layout.UART_BASE, Layout.UART_SIZE, console.apply(stub ? InterruptLine.NONE : interruptLine(vm, Layout.UART_SPI)));
    }

    @Override
    public void loadKernel(GuestMemory memory, VmSpec.Boot.Linux linux) {
        try {
            kernel = Arm64Loader.load(memory, linux.kernel(), linux.initrd(), Layout.RAM_BASE);
        } catch (LoadException e) {
            throw new VmCreationException(e.getMessage(), e);
        }
        BootTrace.mark("kernel-loaded");
    }

    @Override
    public void describePlatform(GuestMemory memory, VmSpec spec, List<VirtioMmioWindow> windows, List<Vcpu> vcpus) {
        List<Long> mpidrs = new ArrayList<>();
        for (Vcpu vcpu : vcpus) mpidrs.add(vcpu.register(Arm64Register.MPIDR_EL1));
        BootTrace.mark("mpidrs-read");
        deviceTreeAddress = placeDeviceTree(memory, spec, windows.size(), mpidrs);
        BootTrace.mark("device-tree-written");
    }

    /**
     * Writes the device tree of this machine (its vCPUs' {@code mpidrs}, {@code virtioDevices}
     * windows, the initrd where {@link #loadKernel} put it) after the kernel and initrd; returns its address.
     */
    long placeDeviceTree(GuestMemory memory, VmSpec spec, int virtioDevices, List<Long> mpidrs) {
        Optional<Platform.Initrd> initrd = kernel.initrdSize() == 0 ? Optional.empty()
                : Optional.of(new Platform.Initrd(kernel.initrdAddress(), kernel.initrdAddress() + kernel.initrdSize()));
        String cmdline = spec.boot() instanceof VmSpec.Boot.Linux linux ? linux.cmdline() : "";
        try {
            byte[] dtb = DeviceTree.build(Platform.standard(spec.memory().bytes(), mpidrs, virtioDevices, cmdline, initrd));
            return Arm64Loader.placeDeviceTree(memory, kernel, dtb);
        } catch (IllegalArgumentException e) {
            throw new VmCreationException("device tree: " + e.getMessage(), e);
        } catch (LoadException e) {
            throw new VmCreationException(e.getMessage(), e);
        }
    }

    /**
     * Yes: Debian's arm64 kernel has virtio-mmio as a module, which the initramfs loads seconds
     * into the boot; until then the guest touches only the UART, the GIC and PSCI. Building the
     * virtio devices meanwhile takes the virtio classes' first use (none of them in an AOT cache
     * trained on the stub guest) off the path to the first KVM_RUN (docs/BENCHMARKS.md (f)).
     */
    @Override
    public boolean virtioProbedLate() {
        return true;
    }

    /** PSCI 0.2 on every vCPU; all but the first stay off until the guest's PSCI CPU_ON. */
    @Override
    public void configureVcpus(Vm vm, List<Vcpu> vcpus, boolean stub) {
        int target = vm.armPreferredTarget();
        for (int i = 0; i < vcpus.size(); i++) vcpus.get(i).armInit(target, i > 0);
        forwardHypercalls(vm);
        BootTrace.mark("vcpus-initialized");
    }

    /**
     * {@link Smccc#AETHER_NEXT} through KVM's SMCCC filter. A host without the filter (before
     * Linux 6.4) answers the call NOT_SUPPORTED itself, which the guest sees as a refusal.
     */
    @Override
    public void forwardHypercalls(Vm vm) {
        vm.armForwardSmccc(Smccc.AETHER_NEXT, 1);
    }

    @Override
    public boolean answerHypercall(Vcpu vcpu, VcpuExit.Hypercall call) {
        long[] answer = answer(call.functionId(), vcpu.register(Arm64Register.x(1)));
        for (int i = 0; i < answer.length; i++) vcpu.setRegister(Arm64Register.x(i), answer[i]);
        return true;
    }

    /**
     * What the monitor puts in x0 and x1 for the SMCCC call {@code functionId} whose x1 was
     * {@code argument}: {@link Smccc#AETHER_NEXT} answers SUCCESS and argument + 1; any other id
     * KVM passed on is NOT_SUPPORTED, as SMCCC says of a function nobody serves.
     */
    static long[] answer(long functionId, long argument) {
        if (functionId == Integer.toUnsignedLong(Smccc.AETHER_NEXT)) return new long[] {Smccc.SUCCESS, argument + 1};
        return new long[] {Smccc.NOT_SUPPORTED};
    }

    @Override
    public void enableGuestDebug(Vcpu vcpu) {
        vcpu.armSetGuestDebug(true, true);
    }

    /** The stub at the start of RAM, entered at EL1h with DAIF masked; it ends with PSCI SYSTEM_OFF. */
    @Override
    public void loadStub(GuestMemory memory, VmSpec.StubProgram program, Vcpu vcpu) {
        StubGuest.Program code = switch (program) {
            case HELLO -> StubGuest.Program.HELLO;
            case ECHO -> StubGuest.Program.ECHO;
            case COUNT -> StubGuest.Program.COUNT;
            case HYPERCALL -> StubGuest.Program.HYPERCALL;
            case CRASH, KEYBOARD -> throw new VmCreationException("--stub=" + program.name().toLowerCase(Locale.ROOT)
                    + ": the crash (a triple fault) and keyboard (the i8042) programs are x86_64's; arm64 has hello, echo, count and hypercall", null);
        };
        memory.write(StubGuest.ENTRY, StubGuest.image(code));
        vcpu.setRegister(Arm64Register.PSTATE, BOOT_PSTATE);
        vcpu.setRegister(Arm64Register.PC, StubGuest.ENTRY);
    }

    /** x0 = the device tree, x1..x3 = 0, PC = the kernel's first byte, EL1h with DAIF masked. */
    @Override
    public void enterKernel(Vcpu boot) {
        boot.setRegister(Arm64Register.x(0), deviceTreeAddress);
        for (int i = 1; i <= 3; i++) boot.setRegister(Arm64Register.x(i), 0);
        boot.setRegister(Arm64Register.PSTATE, BOOT_PSTATE);
        boot.setRegister(Arm64Register.PC, kernel.entry());
        BootTrace.mark("registers-set");
    }

    /** A debug exit's ESR_EL2 and FAR_EL2, and an undecodable abort's syndrome, by name. */
    @Override
    public String describe(VcpuExit exit) {
        return switch (exit) {
            case VcpuExit.Debug d -> "DEBUG " + Esr.decode(d.arch()[0]) + " far=0x" + Long.toHexString(d.arch()[1]);
            case VcpuExit.ArmNisv n -> "ARM_NISV " + Esr.decode(DATA_ABORT_LOWER_EL | n.esrIss()) + " ipa=0x" + Long.toHexString(n.faultIpa());
            default -> exit.describe();
        };
    }

    @Override
    public void requireSnapshots(String action) {
        throw new UnsupportedOperationException("cannot " + action + ": snapshots are implemented for x86_64 guests only, not aarch64");
    }

    /** aarch64 has no CPUID: its vCPUs' features come from the target KVM picks. */
    @Override
    public List<List<CpuidEntry>> cpuids() {
        return List.of();
    }

    @Override
    public void restoreVm(Vm vm, VmSnapshot.Saved saved) {
        requireSnapshots("restore a snapshot");
    }

    @Override
    public void restoreVcpu(Vcpu vcpu, VmSnapshot.Saved saved) {
        requireSnapshots("restore a snapshot");
    }
}
