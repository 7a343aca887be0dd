package io.aether.vmm;

import io.aether.arch.VirtioMmioWindow;
import io.aether.arch.x86_64.BootConfigurator;
import io.aether.arch.x86_64.BootEntry;
import io.aether.arch.x86_64.BootPlan;
import io.aether.arch.x86_64.Layout;
import io.aether.arch.x86_64.PlatformConfig;
import io.aether.arch.x86_64.StubGuest;
import io.aether.arch.x86_64.VcpuState;
import io.aether.common.InterruptLine;
import io.aether.devices.PowerEvents;
import io.aether.devices.acpi.AcpiPowerDevice;
import io.aether.devices.block.VirtioBlock;
import io.aether.devices.i8042.I8042;
import io.aether.devices.ratelimit.RateLimiter;
import io.aether.devices.ratelimit.Throttle;
import io.aether.devices.rng.EntropySource;
import io.aether.devices.rng.VirtioRng;
import io.aether.devices.serial.Serial16550;
import io.aether.kvm.Capability;
import io.aether.kvm.CpuidEntry;
import io.aether.kvm.Kvm;
import io.aether.kvm.Vcpu;
import io.aether.kvm.Vm;
import io.aether.loader.BootMode;
import io.aether.loader.KernelEntry;
import io.aether.loader.KernelLoader;
import io.aether.loader.LoadAddresses;
import io.aether.loader.LoadException;
import io.aether.loader.LoadRequest;
import io.aether.loader.LoadedKernel;
import io.aether.memory.GuestMemory;
import io.aether.memory.MemoryRegion;
import io.aether.memory.RegionSpec;
import io.aether.snapshot.SnapshotException;
import io.aether.virtio.VirtioDevice;
import io.aether.virtio.VirtioMmioTransport;
import io.aether.vmspec.VmSpec;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * Assembles a {@link MicroVm} from its spec: the KVM VM and its memory slots, every device
 * (attached to the VM's {@link DeviceManager}), the guest's code and boot tables in memory, and
 * the vCPUs configured to enter it. Nothing runs until {@link MicroVm#start()}. On failure,
 * everything made so far is released before the exception leaves.
 */
final class VmBuilder {

    /** Where KVM's Intel real-mode helpers live: above RAM and devices, below 4 GiB. */
    private static final long TSS_ADDRESS = 0xFFFB_D000L;
    private static final long IDENTITY_MAP_ADDRESS = 0xFFFB_C000L;

    private final VmSpec spec;
    private final OutputStream consoleOut;
    private final DeviceManager devices = new DeviceManager();
    private final List<Vcpu> vcpus = new ArrayList<>();
    /** Completed by the guest's power events before the VM object exists; MicroVm takes it over. */
    private final CompletableFuture<StopReason> stopped = new CompletableFuture<>();
    private final List<AutoCloseable> made = new ArrayList<>();
    /** The CPUID each vCPU was given, in vCPU order (a snapshot keeps it). */
    private final List<List<CpuidEntry>> cpuids = new ArrayList<>();
    /** The snapshot being restored, or null for a fresh boot. */
    private final VmSnapshot.Saved saved;
    private Vm vm;
    private GuestMemory memory;
    /** Runs rate-limit retries; made only for a VM with a rate limit. */
    private ThrottleTimer throttleTimer;
    private final PowerEvents power = new PowerEvents() {
        @Override
        public void powerOff() {
            stopped.complete(new StopReason.PowerOff());
        }

        @Override
        public void reset() {
            stopped.complete(new StopReason.Reboot());
        }
    };
    /** Whether virtio notifications and interrupts go through ioeventfd and irqfd (see {@link VirtioNotifier}). */
    private boolean eventFds;

    private VmBuilder(VmSpec spec, OutputStream consoleOut, VmSnapshot.Saved saved) {
        this.spec = spec;
        this.consoleOut = consoleOut;
        this.saved = saved;
    }

    /** See {@link MicroVm#create}. */
    static MicroVm build(VmSpec spec, OutputStream consoleOut, PrintStream trace) {
        VmBuilder builder = new VmBuilder(spec, consoleOut, null);
        try {
            return builder.assemble(trace);
        } catch (RuntimeException e) {
            builder.release();
            throw e;
        }
    }

    /**
     * The VM of a snapshot: built as its spec says, its memory the snapshot's memory file mapped
     * copy-on-write, the guest's code not loaded again, every vCPU, chip and device state loaded.
     * See {@link VmSnapshot#restore}.
     */
    static MicroVm restore(VmSnapshot.Saved saved, OutputStream consoleOut, PrintStream trace) throws SnapshotException {
        VmBuilder builder = new VmBuilder(saved.spec(), consoleOut, saved);
        try {
            MicroVm vm = builder.assemble(trace);
            VmSnapshot.restoreDevices(saved, builder.devices);
            return vm;
        } catch (SnapshotException e) {
            builder.release();
            throw e;
        } catch (RuntimeException e) {
            // The host refused something (a CPU feature, a capability, a state KVM would not load, a disk that would not open).
            builder.release();
            throw new SnapshotException("cannot restore on this host: " + e.getMessage(), e);
        }
    }

    /** Where the spec puts guest memory: one region for the stub, RAM around the MMIO gap for Linux. */
    static List<RegionSpec> regions(VmSpec spec) {
        return spec.boot() instanceof VmSpec.Boot.Stub
                ? List.of(RegionSpec.ram(0, spec.memory().bytes()))
                : Layout.memoryRegions(spec.memory().bytes());
    }

    private MicroVm assemble(PrintStream trace) {
        Kvm kvm = Kvm.open();
        made.add(kvm);
        int maxVcpus = Math.max(kvm.checkExtension(Capability.MAX_VCPUS), kvm.checkExtension(Capability.NR_VCPUS));
        spec.checkHost(maxVcpus);
        boolean stub = spec.boot() instanceof VmSpec.Boot.Stub;
        if (saved != null) {
            kvm.requireStateCapabilities();
            try {
                VmSnapshot.checkHost(saved, kvm);
            } catch (SnapshotException e) {
                throw new IllegalStateException(e.getMessage(), e);
            }
        }
        memory = saved == null ? GuestMemory.anonymous(regions(spec)) : GuestMemory.privateFile(regions(spec), saved.memoryFile());
        made.add(memory);
        vm = kvm.createVm();
        made.add(vm);
        made.add(devices);
        vm.setTssAddress(TSS_ADDRESS);
        vm.setIdentityMapAddress(IDENTITY_MAP_ADDRESS);
        for (MemoryRegion r : memory.regions()) {
            vm.setUserMemoryRegion(r.slot(), r.readOnly() ? Vm.MEM_READONLY : 0, r.guestBase(), r.host());
        }
        List<CpuidEntry> supported = kvm.supportedCpuid();
        switch (spec.boot()) {
            case VmSpec.Boot.Stub s -> buildStub(supported, s.program());
            case VmSpec.Boot.Linux linux -> buildLinux(supported, linux);
        }
        return new MicroVm(spec, kvm, vm, memory, devices, vcpus, cpuids, stopped, stub, trace);
    }

    /** The stub guest runs without an interrupt controller, so that its final HLT reaches us. */
    private void buildStub(List<CpuidEntry> supported, VmSpec.StubProgram program) {
        attachConsole(InterruptLine.NONE);
        // Polled: the stub has no interrupt controller.
        attachKeyboard(InterruptLine.NONE);
        StubGuest.Program code = switch (program) {
            case HELLO -> StubGuest.Program.HELLO;
            case ECHO -> StubGuest.Program.ECHO;
            case COUNT -> StubGuest.Program.COUNT;
            case CRASH -> StubGuest.Program.CRASH;
            case KEYBOARD -> StubGuest.Program.KEYBOARD;
        };
        Vcpu vcpu = createVcpu(0);
        if (saved != null) {
            restoreVcpu(vcpu);
            return;
        }
        for (StubGuest.Chunk chunk : StubGuest.image(code)) memory.write(chunk.address(), chunk.bytes());
        cpuids.add(X86Vcpus.configureCommon(vcpu, supported, 1, false));
        X86Vcpus.loadRealModeEntry(vcpu, StubGuest.ENTRY);
    }

    /** The saved CPUID (the guest sees the CPU it saw), then the saved state. */
    private void restoreVcpu(Vcpu vcpu) {
        List<CpuidEntry> cpuid = saved.cpuids().get(vcpu.id());
        vcpu.setCpuid(cpuid);
        cpuids.add(cpuid);
        vcpu.restore(saved.vcpus().get(vcpu.id()));
    }

    private void buildLinux(List<CpuidEntry> supported, VmSpec.Boot.Linux linux) {
        vm.createIrqchip();
        vm.createPit2(true);
        eventFds = useEventFds(vm);
        attachConsole(new KvmInterruptLine(vm, Layout.SERIAL_GSI));
        attachKeyboard(new KvmInterruptLine(vm, Layout.KEYBOARD_GSI));
        devices.attachPorts(AcpiPowerDevice.BASE_PORT, AcpiPowerDevice.SIZE, new Device.AcpiPower("acpi-power", new AcpiPowerDevice(power)));
        // The delay port: Linux writes it between legacy I/O; claim it so it is not counted as unknown.
        devices.claimPorts(0x80, 1, "post-code");
        attachVirtio();
        if (saved != null) {
            vm.restore(saved.vm().orElseThrow(() -> new IllegalStateException("the snapshot of a Linux guest has no VM state")));
            for (int i = 0; i < spec.vcpus(); i++) restoreVcpu(createVcpu(i));
            return;
        }

        LoadedKernel kernel;
        try {
            kernel = KernelLoader.load(memory, new LoadRequest(linux.kernel(), linux.initrd(), linux.cmdline(),
                    BootMode.AUTO, new LoadAddresses(Layout.KERNEL_START, Layout.CMDLINE_ADDRESS, Layout.CMDLINE_CAPACITY)));
        } catch (LoadException e) {
            throw new VmCreationException(e.getMessage(), e);
        }
        BootEntry entry = switch (kernel.entry()) {
            case KernelEntry.Linux64 l -> new BootEntry.LinuxBoot(l.address(), l.setupHeader());
            case KernelEntry.Pvh p -> new BootEntry.Pvh(p.address());
        };
        VcpuState boot = BootConfigurator.configureSystem(memory, new BootPlan(entry, spec.memory().bytes(),
                kernel.cmdlineAddress(), kernel.initrdAddress(), kernel.initrdSize(),
                new PlatformConfig(spec.vcpus(), windows(), true, true)));
        for (int i = 0; i < spec.vcpus(); i++) {
            Vcpu vcpu = createVcpu(i);
            cpuids.add(X86Vcpus.configureCommon(vcpu, supported, spec.vcpus(), true));
            if (i == 0) X86Vcpus.loadBootState(vcpu, boot);
        }
    }

    private void attachConsole(InterruptLine irq) {
        Serial16550 uart = new Serial16550(consoleOut, irq, Serial16550.DEFAULT_INPUT_CAPACITY, devices::consoleSpaceFreed);
        devices.attachPorts(Serial16550.COM1_PORT, Serial16550.PORT_COUNT, new Device.Uart("serial", uart));
    }

    private void attachKeyboard(InterruptLine irq) {
        devices.attachPorts(I8042.BASE_PORT, I8042.PORT_COUNT, new Device.Keyboard("i8042", new I8042(power, irq)));
    }

    /** The disks, the NICs, then the entropy device, each in the next virtio-mmio window. */
    private void attachVirtio() {
        List<VirtioMmioWindow> windows = windows();
        int next = 0;
        for (int i = 0; i < spec.disks().size(); i++) {
            VmSpec.Disk disk = spec.disks().get(i);
            VirtioBlock block;
            try {
                block = VirtioBlock.open(disk.path(), VirtioBlock.Options.defaults().withReadOnly(disk.readOnly()),
                        throttle(disk.rateLimit()));
            } catch (IOException e) {
                throw new VmCreationException(e.getMessage(), e);
            }
            devices.addBackend(block);
            VirtioMmioWindow w = windows.get(next++);
            devices.attachMmio(w.base(), w.size(), new Device.Block("virtio-blk" + i, block, transport("virtio-blk" + i, block, w)));
        }
        for (int i = 0; i < spec.nics().size(); i++) {
            VmSpec.Nic nic = spec.nics().get(i);
            int index = i;
            NetPump pump = NetPump.open(nic.tap(), nic.mac().orElseThrow(
                    () -> new IllegalArgumentException("nics[" + index + "].mac: not chosen (VmSpec.withMacsFor chooses one)")),
                    throttle(nic.rxRateLimit()), throttle(nic.txRateLimit()));
            devices.addThread(pump);
            VirtioMmioWindow w = windows.get(next++);
            devices.attachMmio(w.base(), w.size(), new Device.Net("virtio-net" + i, pump.device(), transport("virtio-net" + i, pump.device(), w)));
        }
        VirtioRng rng = new VirtioRng(EntropySource.secureRandom());
        VirtioMmioWindow w = windows.get(next);
        devices.attachMmio(w.base(), w.size(), new Device.Rng("virtio-rng0", rng, transport("virtio-rng0", rng, w)));
    }

    /** A device queue's throttle for the spec's limit; the VM's retry timer is made with the first. */
    private Throttle throttle(Optional<VmSpec.RateLimit> limit) {
        if (limit.isEmpty()) return Throttle.NONE;
        VmSpec.RateLimit l = limit.get();
        if (throttleTimer == null) {
            throttleTimer = new ThrottleTimer();
            devices.addThread(throttleTimer);
        }
        return Throttle.of(new RateLimiter(
                l.bytesPerSecond() == 0 ? Optional.empty() : Optional.of(new RateLimiter.Limit(l.bytesPerSecond(), l.bytesCapacity())),
                l.opsPerSecond() == 0 ? Optional.empty() : Optional.of(new RateLimiter.Limit(l.opsPerSecond(), l.opsCapacity())),
                System::nanoTime), throttleTimer);
    }

    /** One window per virtio device: the disks, the NICs and the entropy device. */
    private List<VirtioMmioWindow> windows() {
        return Layout.virtioMmioWindows(spec.disks().size() + spec.nics().size() + 1);
    }

    /** The system property that turns ioeventfd and irqfd off ({@code off}), to compare or to work around a host. */
    static final String EVENT_FDS_PROPERTY = "aether.kvm.eventfds";

    /** Whether this host's KVM has both ioeventfd and irqfd, and they are not turned off. */
    private static boolean useEventFds(Vm vm) {
        return !"off".equals(System.getProperty(EVENT_FDS_PROPERTY))
                && vm.checkExtension(Capability.IOEVENTFD) > 0 && vm.checkExtension(Capability.IRQFD) > 0;
    }

    /**
     * The device's transport in window {@code w}. With eventfds, its interrupt is an irqfd and its
     * QueueNotify writes wake a thread of its own; otherwise they exit to the vCPU, and the
     * interrupt is a {@code KVM_IRQ_LINE} ioctl.
     */
    private VirtioMmioTransport transport(String name, VirtioDevice device, VirtioMmioWindow w) {
        if (!eventFds) return new VirtioMmioTransport(device, memory, new KvmInterruptLine(vm, w.gsi()));
        IrqFdLine irq = IrqFdLine.register(vm, w.gsi());
        try {
            VirtioMmioTransport transport = new VirtioMmioTransport(device, memory, irq);
            devices.addThread(VirtioNotifier.register(name, vm, w.base(), transport, irq));
            return transport;
        } catch (RuntimeException e) {
            irq.close();
            throw e;
        }
    }

    private Vcpu createVcpu(int id) {
        Vcpu vcpu = vm.createVcpu(id);
        vcpus.add(vcpu);
        made.add(vcpu);
        return vcpu;
    }

    /** Closes what was made, the last first; a failure to close one does not keep the rest open. */
    private void release() {
        for (AutoCloseable r : made.reversed()) {
            try {
                r.close();
            } catch (Exception e) {
                // Already failing: the first exception is the one to report.
            }
        }
    }
}
