package io.aether.vmm;

import io.aether.arch.VirtioMmioWindow;
import io.aether.arch.x86_64.BootConfigurator;
import io.aether.arch.x86_64.BootEntry;
import io.aether.arch.x86_64.BootPlan;
import io.aether.arch.x86_64.Layout;
import io.aether.arch.x86_64.PlatformConfig;
import io.aether.arch.x86_64.StubGuest;
import io.aether.arch.x86_64.VcpuState;
import io.aether.common.BusDevice;
import io.aether.common.InterruptLine;
import io.aether.devices.PowerEvents;
import io.aether.devices.acpi.AcpiPowerDevice;
import io.aether.devices.block.VirtioBlock;
import io.aether.devices.i8042.I8042;
import io.aether.devices.net.VirtioNet;
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
import io.aether.virtio.VirtioDevice;
import io.aether.virtio.VirtioMmioTransport;
import io.aether.vmspec.SpecException;
import io.aether.vmspec.VmSpec;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * One microVM: its KVM VM, guest memory, devices and vCPU threads, from creation to teardown.
 *
 * <pre>
 *   MicroVm vm = MicroVm.create(spec, consoleOut, null); // everything allocated, kernel loaded
 *   vm.start();                                        // vCPU threads enter the guest
 *   vm.consoleInput(bytes);                            // keys for the guest's serial console
 *   StopReason why = vm.awaitStop();                   // poweroff, reboot, crash, or requestStop
 *   vm.close();                                        // threads joined, disks flushed, memory unmapped
 * </pre>
 */
public final class MicroVm implements AutoCloseable {

    /** Where KVM's Intel real-mode helpers live: above RAM and devices, below 4 GiB. */
    private static final long TSS_ADDRESS = 0xFFFB_D000L;
    private static final long IDENTITY_MAP_ADDRESS = 0xFFFB_C000L;

    private final VmSpec spec;
    private final Kvm kvm;
    private final Vm vm;
    private final GuestMemory memory;
    private final Bus io = new Bus("port I/O");
    private final Bus mmio = new Bus("MMIO");
    private final List<Vcpu> vcpus = new ArrayList<>();
    private final List<VcpuRunner> runners = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();
    private final List<AutoCloseable> resources = new ArrayList<>();
    private final CompletableFuture<StopReason> stopped = new CompletableFuture<>();
    private final PrintStream trace;
    private Serial16550 serial;
    private final List<NetPump> netPumps = new ArrayList<>();
    private boolean closed;

    private MicroVm(VmSpec spec, Kvm kvm, Vm vm, GuestMemory memory, PrintStream trace) {
        this.spec = spec;
        this.kvm = kvm;
        this.vm = vm;
        this.memory = memory;
        this.trace = trace;
    }

    /**
     * Creates the VM: checks the spec against the host, maps memory, creates the devices and
     * vCPUs and loads the guest. Nothing runs until {@link #start()}.
     *
     * @param spec the VM, with every NIC's MAC address chosen ({@link VmSpec#withMacsFor})
     * @param consoleOut where the guest's serial console output goes
     * @param trace where every vCPU exit is printed, decoded; null prints nothing
     * @throws SpecException for a spec this host cannot run (one line naming the field)
     * @throws VmCreationException when the host refuses something while building the VM
     */
    public static MicroVm create(VmSpec spec, OutputStream consoleOut, PrintStream trace) {
        Kvm kvm = Kvm.open();
        MicroVm machine = null;
        try {
            int maxVcpus = Math.max(kvm.checkExtension(Capability.MAX_VCPUS), kvm.checkExtension(Capability.NR_VCPUS));
            spec.checkHost(maxVcpus);
            Vm vm = kvm.createVm();
            List<RegionSpec> regions = isStub(spec)
                    ? List.of(RegionSpec.ram(0, spec.memory().bytes()))
                    : Layout.memoryRegions(spec.memory().bytes());
            GuestMemory memory = GuestMemory.anonymous(regions);
            machine = new MicroVm(spec, kvm, vm, memory, trace);
            machine.build(consoleOut);
            return machine;
        } catch (RuntimeException e) {
            if (machine != null) {
                machine.close();
            } else {
                kvm.close();
            }
            throw e;
        }
    }

    private void build(OutputStream consoleOut) {
        vm.setTssAddress(TSS_ADDRESS);
        vm.setIdentityMapAddress(IDENTITY_MAP_ADDRESS);
        for (MemoryRegion r : memory.regions()) {
            vm.setUserMemoryRegion(r.slot(), r.readOnly() ? Vm.MEM_READONLY : 0, r.guestBase(), r.host());
        }
        List<CpuidEntry> supported = kvm.supportedCpuid();
        switch (spec.boot()) {
            case VmSpec.Boot.Stub stub -> buildStub(consoleOut, supported, stub.program());
            case VmSpec.Boot.Linux linux -> buildLinux(consoleOut, supported, linux);
        }
    }

    private static boolean isStub(VmSpec spec) {
        return spec.boot() instanceof VmSpec.Boot.Stub;
    }

    /** The stub guest runs without an interrupt controller, so that its final HLT reaches us. */
    private void buildStub(OutputStream consoleOut, List<CpuidEntry> supported, VmSpec.StubProgram program) {
        serial = new Serial16550(consoleOut, InterruptLine.NONE, Serial16550.DEFAULT_INPUT_CAPACITY, this::consoleSpace);
        io.register(Serial16550.COM1_PORT, Serial16550.PORT_COUNT, "serial", serial);
        StubGuest.Program code = switch (program) {
            case HELLO -> StubGuest.Program.HELLO;
            case ECHO -> StubGuest.Program.ECHO;
            case CRASH -> StubGuest.Program.CRASH;
        };
        for (StubGuest.Chunk chunk : StubGuest.image(code)) memory.write(chunk.address(), chunk.bytes());
        Vcpu vcpu = vm.createVcpu(0);
        vcpus.add(vcpu);
        X86Vcpus.configureCommon(vcpu, supported, 1, false);
        X86Vcpus.loadRealModeEntry(vcpu, StubGuest.ENTRY);
    }

    private void buildLinux(OutputStream consoleOut, List<CpuidEntry> supported, VmSpec.Boot.Linux linux) {
        vm.createIrqchip();
        vm.createPit2(true);
        PowerEvents power = new PowerEvents() {
            @Override
            public void powerOff() {
                requestStop(new StopReason.PowerOff());
            }

            @Override
            public void reset() {
                requestStop(new StopReason.Reboot());
            }
        };
        serial = new Serial16550(consoleOut, new KvmInterruptLine(vm, Layout.SERIAL_GSI),
                Serial16550.DEFAULT_INPUT_CAPACITY, this::consoleSpace);
        io.register(Serial16550.COM1_PORT, Serial16550.PORT_COUNT, "serial", serial);
        // The FADT claims no i8042, so Linux skips a slow probe; the reset line still works.
        io.register(I8042.BASE_PORT, I8042.PORT_COUNT, "i8042", new I8042(power));
        io.register(AcpiPowerDevice.BASE_PORT, AcpiPowerDevice.SIZE, "acpi-power", new AcpiPowerDevice(power));
        // The delay port: Linux writes it between legacy I/O; claim it so it is not counted as unknown.
        io.register(0x80, 1, "post-code", IGNORE);

        List<VirtioDevice> virtio = new ArrayList<>();
        try {
            for (VmSpec.Disk disk : spec.disks()) {
                VirtioBlock block = VirtioBlock.open(disk.path(), VirtioBlock.Options.defaults().withReadOnly(disk.readOnly()));
                resources.add(block);
                virtio.add(block);
            }
        } catch (IOException e) {
            throw new VmCreationException(e.getMessage(), e);
        }
        for (int i = 0; i < spec.nics().size(); i++) {
            VmSpec.Nic nic = spec.nics().get(i);
            int index = i;
            NetPump pump = NetPump.open(nic.tap(), nic.mac().orElseThrow(
                    () -> new IllegalArgumentException("nics[" + index + "].mac: not chosen (VmSpec.withMacsFor chooses one)")));
            netPumps.add(pump);
            resources.add(pump);
            virtio.add(pump.device());
        }
        virtio.add(new VirtioRng(EntropySource.secureRandom()));
        List<VirtioMmioWindow> windows = Layout.virtioMmioWindows(virtio.size());
        for (int i = 0; i < virtio.size(); i++) {
            VirtioMmioWindow w = windows.get(i);
            var transport = new VirtioMmioTransport(virtio.get(i), memory, new KvmInterruptLine(vm, w.gsi()));
            mmio.register(w.base(), w.size(), "virtio-mmio@" + Long.toHexString(w.base()), transport);
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
                new PlatformConfig(spec.vcpus(), windows, true, false)));
        for (int i = 0; i < spec.vcpus(); i++) {
            Vcpu vcpu = vm.createVcpu(i);
            vcpus.add(vcpu);
            X86Vcpus.configureCommon(vcpu, supported, spec.vcpus(), true);
            if (i == 0) X86Vcpus.loadBootState(vcpu, boot);
        }
    }

    private static final BusDevice IGNORE = new BusDevice() {
        @Override
        public void read(long offset, byte[] data) {
            java.util.Arrays.fill(data, (byte) 0);
        }

        @Override
        public void write(long offset, byte[] data) {
        }
    };

    /** Starts one platform thread per vCPU. */
    public synchronized void start() {
        if (!threads.isEmpty()) throw new IllegalStateException("already started");
        for (Vcpu vcpu : vcpus) {
            VcpuRunner runner = new VcpuRunner(vcpu, io, mmio, isStub(spec), trace, this::requestStop);
            runners.add(runner);
            threads.add(Thread.ofPlatform().name("vcpu-" + vcpu.id()).daemon().start(runner));
        }
        netPumps.forEach(NetPump::start);
    }

    /** Stops the VM for {@code reason}; the first reason given wins. Safe from any thread. */
    public void requestStop(StopReason reason) {
        if (stopped.complete(reason)) runners.forEach(VcpuRunner::stop);
    }

    /** Blocks until the VM stops and says why. */
    public StopReason awaitStop() throws InterruptedException {
        try {
            return stopped.get();
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        }
    }

    /**
     * Offers bytes to the guest's serial console; returns how many it took (the UART's receive
     * buffer is bounded: retry the rest after {@link #awaitConsoleSpace}).
     */
    public int consoleInput(byte[] data) {
        return serial.enqueueInput(data);
    }

    private final Object consoleSpaceLock = new Object();

    private void consoleSpace() {
        synchronized (consoleSpaceLock) {
            consoleSpaceLock.notifyAll();
        }
    }

    /** Waits until the console may take input again, or {@code millis} pass. */
    public void awaitConsoleSpace(long millis) throws InterruptedException {
        synchronized (consoleSpaceLock) {
            if (serial.inputSpace() == 0) consoleSpaceLock.wait(millis);
        }
    }

    /**
     * Starts dirty-page logging: from now on {@link #takeDirtyPages} reports every page written,
     * by the guest (KVM logs its slots) or by the monitor (device DMA, logged by guest memory).
     * Snapshots and migration copy what it reports.
     */
    public synchronized void startDirtyLog() {
        memory.dirtyLog().enable();
        for (MemoryRegion r : memory.regions()) {
            int flags = (r.readOnly() ? Vm.MEM_READONLY : 0) | Vm.MEM_LOG_DIRTY_PAGES;
            vm.setUserMemoryRegion(r.slot(), flags, r.guestBase(), r.host());
        }
    }

    /**
     * The pages written since logging started or since the last call, one bitmap per memory
     * region (bit i = the page at the region's base + i * 4096), and clears them.
     */
    public synchronized java.util.List<long[]> takeDirtyPages() {
        if (!memory.dirtyLog().enabled()) throw new IllegalStateException("dirty logging is off: call startDirtyLog first");
        java.util.List<long[]> out = new java.util.ArrayList<>();
        for (MemoryRegion r : memory.regions()) {
            long[] guest = vm.dirtyLog(r.slot(), r.size() / RegionSpec.PAGE_SIZE);
            long[] monitor = memory.dirtyLog().take(r.slot());
            for (int i = 0; i < guest.length; i++) guest[i] |= monitor[i];
            out.add(guest);
        }
        return out;
    }

    /** The guest's memory (for tests and snapshots). */
    public GuestMemory memory() {
        return memory;
    }

    public VmSpec spec() {
        return spec;
    }

    /** Stops the vCPUs, joins their threads, closes devices and releases KVM and memory. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        requestStop(new StopReason.Requested("close"));
        for (Thread t : threads) {
            try {
                t.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        boolean joined = threads.stream().noneMatch(Thread::isAlive);
        for (AutoCloseable r : resources.reversed()) {
            try {
                r.close();
            } catch (Exception e) {
                // Closing is best effort; a flush failure was already counted by the device.
            }
        }
        if (joined) {
            vcpus.forEach(Vcpu::close);
            vm.close();
            kvm.close();
            memory.close();
        }
        // A vCPU thread that did not leave KVM_RUN still maps guest memory: the process exit frees it.
    }
}
