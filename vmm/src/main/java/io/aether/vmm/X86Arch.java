package io.aether.vmm;

import io.aether.arch.VirtioMmioWindow;
import io.aether.arch.x86_64.BootConfigurator;
import io.aether.arch.x86_64.BootPlan;
import io.aether.arch.x86_64.Layout;
import io.aether.arch.x86_64.PlatformConfig;
import io.aether.arch.x86_64.StubGuest;
import io.aether.arch.x86_64.VcpuState;
import io.aether.common.InterruptLine;
import io.aether.devices.PowerEvents;
import io.aether.devices.acpi.AcpiPowerDevice;
import io.aether.devices.i8042.I8042;
import io.aether.devices.serial.Serial16550;
import io.aether.kvm.Capability;
import io.aether.kvm.CpuidEntry;
import io.aether.kvm.Kvm;
import io.aether.kvm.Vcpu;
import io.aether.kvm.VcpuExit;
import io.aether.kvm.Vm;
import io.aether.loader.BootMode;
import io.aether.loader.KernelEntry;
import io.aether.loader.KernelLoader;
import io.aether.loader.LoadAddresses;
import io.aether.loader.LoadException;
import io.aether.loader.LoadRequest;
import io.aether.loader.LoadedKernel;
import io.aether.memory.GuestMemory;
import io.aether.memory.RegionSpec;
import io.aether.vmspec.VmSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * x86_64: the PC layout, the in-kernel IOAPIC and PIT, ACPI and boot parameters, the Linux or PVH
 * entry, the i8042 (reset line and Ctrl-Alt-Del), and snapshots (CPUID and vCPU state).
 */
final class X86Arch implements Arch {

    /** Where KVM's Intel real-mode helpers live: above RAM and devices, below 4 GiB. */
    private static final long TSS_ADDRESS = 0xFFFB_D000L;
    private static final long IDENTITY_MAP_ADDRESS = 0xFFFB_C000L;

    private final List<CpuidEntry> supportedCpuid;
    private final boolean tscDeadline;
    /** The CPUID each vCPU was given, in vCPU order (a snapshot keeps it). */
    private final List<List<CpuidEntry>> cpuids = new ArrayList<>();
    /** Set by {@link #loadKernel}, then {@link #describePlatform}, then read by {@link #enterKernel}. */
    private LoadedKernel kernel;
    private VcpuState boot;

    /**
     * What this host's KVM can give a guest in CPUID, asked once per process: the answer is the
     * same for every VM but for the APIC ids of whichever host CPU ran the ioctl, which each
     * vCPU's CPUID replaces ({@code Cpuid.forVcpu}), and the ioctl costs about 0.5 ms of each
     * VM's build here.
     */
    private static volatile List<CpuidEntry> hostCpuid;

    /** Whether KVM's in-kernel APIC runs the TSC-deadline timer, asked once per process as {@link #hostCpuid} is. */
    private static volatile Boolean hostTscDeadline;

    X86Arch(Kvm kvm) {
        this.supportedCpuid = hostCpuid(kvm);
        this.tscDeadline = hostTscDeadline(kvm);
    }

    static List<CpuidEntry> hostCpuid(Kvm kvm) {
        List<CpuidEntry> known = hostCpuid;
        if (known == null) hostCpuid = known = List.copyOf(kvm.supportedCpuid());
        return known;
    }

    static boolean hostTscDeadline(Kvm kvm) {
        Boolean known = hostTscDeadline;
        if (known == null) hostTscDeadline = known = kvm.checkExtension(Capability.TSC_DEADLINE_TIMER) > 0;
        return known;
    }

    /**
     * The MSRs this host's KVM can save and load, asked once per process as {@link #hostCpuid}
     * is: the same for every VM, and a restore's host check asked it each time (with the CPUID,
     * about 0.7 ms of each restore here).
     */
    private static volatile List<Integer> hostMsrs;

    static List<Integer> hostMsrs(Kvm kvm) {
        List<Integer> known = hostMsrs;
        if (known == null) hostMsrs = known = List.copyOf(kvm.msrIndexList());
        return known;
    }

    @Override
    public List<RegionSpec> memoryRegions(VmSpec.Boot boot, long bytes) {
        return regions(boot, bytes);
    }

    /** One region for the stub, RAM around the MMIO gap for Linux (a snapshot's memory is checked against it). */
    static List<RegionSpec> regions(VmSpec.Boot boot, long bytes) {
        return boot instanceof VmSpec.Boot.Stub ? List.of(RegionSpec.ram(0, bytes)) : Layout.memoryRegions(bytes);
    }

    @Override
    public List<VirtioMmioWindow> virtioWindows(int count) {
        return Layout.virtioMmioWindows(count);
    }

    @Override
    public boolean buildsShellAhead() {
        return true;
    }

    @Override
    public void reserveKvmAreas(Vm vm) {
        vm.setTssAddress(TSS_ADDRESS);
        vm.setIdentityMapAddress(IDENTITY_MAP_ADDRESS);
    }

    @Override
    public void createInterruptController(Vm vm) {
        vm.createIrqchip();
        vm.createPit2(true);
        BootTrace.mark("irqchip-created");
    }

    @Override
    public InterruptLine interruptLine(Vm vm, int number) {
        return new KvmInterruptLine(vm, number);
    }

    @Override
    public boolean eventFds(Vm vm) {
        return vm.checkExtension(Capability.IOEVENTFD) > 0 && vm.checkExtension(Capability.IRQFD) > 0;
    }

    @Override
    public void finishInterruptController(Vm vm) {
        // The IOAPIC and the LAPICs are complete once made.
    }

    /**
     * The stub guest runs without an interrupt controller, so that its final HLT reaches us; it
     * polls the console and the keyboard.
     */
    @Override
    public void attachPlatformDevices(DeviceManager devices, Vm vm, Function<InterruptLine, Device.Uart> console, PowerEvents power,
                                      boolean stub) {
        devices.attachPorts(Serial16550.COM1_PORT, Serial16550.PORT_COUNT,
                console.apply(stub ? InterruptLine.NONE : interruptLine(vm, Layout.SERIAL_GSI)));
        devices.attachPorts(I8042.BASE_PORT, I8042.PORT_COUNT,
                new Device.Keyboard("i8042", new I8042(power, stub ? InterruptLine.NONE : interruptLine(vm, Layout.KEYBOARD_GSI))));
        if (stub) return;
        devices.attachPorts(AcpiPowerDevice.BASE_PORT, AcpiPowerDevice.SIZE, new Device.AcpiPower("acpi-power", new AcpiPowerDevice(power)));
        // The delay port: Linux writes it between legacy I/O; claim it so it is not counted as unknown.
        devices.claimPorts(0x80, 1, "post-code");
    }

    @Override
    public void loadKernel(GuestMemory memory, VmSpec.Boot.Linux linux) {
        try {
            kernel = KernelLoader.load(memory, new LoadRequest(linux.kernel(), linux.initrd(), MachineCmdline.x86(linux.cmdline()),
                    BootMode.AUTO, new LoadAddresses(Layout.KERNEL_START, Layout.CMDLINE_ADDRESS, Layout.CMDLINE_CAPACITY)));
        } catch (LoadException e) {
            throw new VmCreationException(e.getMessage(), e);
        }
        BootTrace.mark("kernel-loaded");
    }

    @Override
    public void describePlatform(GuestMemory memory, VmSpec spec, List<VirtioMmioWindow> windows, List<Vcpu> vcpus) {
        io.aether.arch.x86_64.BootEntry entry = switch (kernel.entry()) {
            case KernelEntry.Linux64 l -> new io.aether.arch.x86_64.BootEntry.LinuxBoot(l.address(), l.setupHeader());
            case KernelEntry.Pvh p -> new io.aether.arch.x86_64.BootEntry.Pvh(p.address());
        };
        boot = BootConfigurator.configureSystem(memory, new BootPlan(entry, spec.memory().bytes(),
                kernel.cmdlineAddress(), kernel.initrdAddress(), kernel.initrdSize(),
                new PlatformConfig(vcpus.size(), windows, true, true)));
        BootTrace.mark("platform-described");
    }

    /**
     * No: an x86 guest's virtio devices are built before it runs (its Linux has virtio-mmio
     * built in, and probes the ACPI-described windows early; and a running VM may be
     * snapshotted, which needs all of its devices).
     */
    @Override
    public boolean virtioProbedLate() {
        return false;
    }

    @Override
    public void configureVcpus(Vm vm, List<Vcpu> vcpus, boolean stub) {
        for (Vcpu vcpu : vcpus) cpuids.add(X86Vcpus.configureCommon(vcpu, supportedCpuid, vcpus.size(), !stub, tscDeadline));
        BootTrace.mark("vcpus-initialized");
    }

    @Override
    public void enableGuestDebug(Vcpu vcpu) {
        throw new VmCreationException("guest debugging (single step, breakpoints) is implemented for aarch64 guests only", null);
    }

    @Override
    public void loadStub(GuestMemory memory, VmSpec.StubProgram program, Vcpu vcpu) {
        StubGuest.Program code = switch (program) {
            case HELLO -> StubGuest.Program.HELLO;
            case ECHO -> StubGuest.Program.ECHO;
            case COUNT -> StubGuest.Program.COUNT;
            case CRASH -> StubGuest.Program.CRASH;
            case KEYBOARD -> StubGuest.Program.KEYBOARD;
            case HYPERCALL -> throw new VmCreationException("--stub=hypercall: the hypercall program (an SMCCC call through HVC) is aarch64's; "
                    + "x86_64 has hello, echo, count, crash and keyboard", null);
        };
        for (StubGuest.Chunk chunk : StubGuest.image(code)) memory.write(chunk.address(), chunk.bytes());
        X86Vcpus.loadRealModeEntry(vcpu, StubGuest.ENTRY);
    }

    @Override
    public void enterKernel(Vcpu vcpu) {
        X86Vcpus.loadBootState(vcpu, boot);
        BootTrace.mark("registers-set");
    }

    @Override
    public String describe(VcpuExit exit) {
        return exit.describe();
    }

    /** KVM answers x86's VMCALL itself (KVM_CAP_EXIT_HYPERCALL is not enabled): the monitor takes over none. */
    @Override
    public void forwardHypercalls(Vm vm) {
    }

    @Override
    public boolean answerHypercall(Vcpu vcpu, VcpuExit.Hypercall call) {
        return false;
    }

    @Override
    public void requireSnapshots(String action) {
        // VmSnapshot's format is this architecture's.
    }

    @Override
    public List<List<CpuidEntry>> cpuids() {
        return cpuids;
    }

    @Override
    public void restoreVm(Vm vm, VmSnapshot.Saved saved) {
        vm.restore(saved.vm().orElseThrow(() -> new IllegalStateException("the snapshot of a Linux guest has no VM state")));
    }

    @Override
    public void restoreVcpu(Vcpu vcpu, VmSnapshot.Saved saved) {
        List<CpuidEntry> cpuid = saved.cpuids().get(vcpu.id());
        vcpu.setCpuid(cpuid);
        cpuids.add(cpuid);
        vcpu.restore(saved.vcpus().get(vcpu.id()));
    }
}
