package io.aether.vmm;

import io.aether.arch.VirtioMmioWindow;
import io.aether.common.InterruptLine;
import io.aether.common.Uninterruptibly;
import io.aether.devices.PowerEvents;
import io.aether.devices.block.VirtioBlock;
import io.aether.devices.ratelimit.RateLimiter;
import io.aether.devices.ratelimit.Throttle;
import io.aether.devices.rng.EntropySource;
import io.aether.devices.rng.VirtioRng;
import io.aether.devices.serial.Serial16550;
import io.aether.kvm.Capability;
import io.aether.kvm.Kvm;
import io.aether.kvm.Vcpu;
import io.aether.kvm.Vm;
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
 * the vCPUs configured to enter it; what differs by architecture comes from the host's {@link Arch}. Nothing runs until {@link MicroVm#start()}. On failure,
 * everything made so far is released before the exception leaves.
 */
final class VmBuilder {

    private final VmSpec spec;
    private final OutputStream consoleOut;
    private final DeviceManager devices = new DeviceManager();
    private final List<Vcpu> vcpus = new ArrayList<>();
    /** Completed by the guest's power events before the VM object exists; MicroVm takes it over. */
    private final CompletableFuture<StopReason> stopped = new CompletableFuture<>();
    private final List<AutoCloseable> made = new ArrayList<>();
    /** The snapshot being restored, or null for a fresh boot. */
    private final VmSnapshot.Saved saved;
    /** The shell made ahead, or null: taken in {@link #assemble} if it fits the spec. */
    private final VmShell shell;
    /** The shell's first vCPU, until {@link #createVcpus} uses it. */
    private Vcpu prebuiltVcpu;
    /** Whether the first vCPU came from the shell configured as a stub's (see {@link VmShell}). */
    private boolean firstConfigured;
    private Arch arch;
    private Vm vm;
    private GuestMemory memory;
    /** Runs rate-limit retries; made only for a VM with a rate limit. */
    private ThrottleTimer throttleTimer;
    /** The guest's power-off and reset, from whichever device or firmware call the platform has. */
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
    /** A Linux boot's kernel and initrd on their way into guest memory. */
    private KernelLoad kernelLoad;

    private VmBuilder(VmSpec spec, OutputStream consoleOut, VmSnapshot.Saved saved, VmShell shell) {
        this.spec = spec;
        this.consoleOut = consoleOut;
        this.saved = saved;
        this.shell = shell;
    }

    /** See {@link MicroVm#create(VmSpec, OutputStream, PrintStream, VmShell)}. */
    static MicroVm build(VmSpec spec, OutputStream consoleOut, PrintStream trace, VmShell shell) {
        VmBuilder builder = new VmBuilder(spec, consoleOut, null, shell);
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
    static MicroVm restore(VmSnapshot.Saved saved, OutputStream consoleOut, PrintStream trace, VmShell shell) throws SnapshotException {
        VmBuilder builder = new VmBuilder(saved.spec(), consoleOut, saved, shell);
        try {
            MicroVm vm = builder.assemble(trace);
            VmSnapshot.restoreDevices(saved, builder.devices);
            return vm;
        } catch (SnapshotException e) {
            builder.release();
            throw e;
        } catch (RuntimeException e) {
            // The host refused something (an architecture, a CPU feature, a capability, a state KVM would not load, a disk that would not open).
            builder.release();
            throw new SnapshotException("cannot restore on this host: " + e.getMessage(), e);
        }
    }

    private MicroVm assemble(PrintStream trace) {
        // The shell is only looked at until the checks pass: a refused spec or snapshot leaves it for the next VM.
        VmShell.Parts prebuilt = shell == null ? null : shell.fitting(spec);
        Kvm kvm;
        int maxVcpus;
        if (prebuilt == null) {
            kvm = Kvm.open();
            made.add(kvm);
            maxVcpus = Math.max(kvm.checkExtension(Capability.MAX_VCPUS), kvm.checkExtension(Capability.NR_VCPUS));
            BootTrace.mark("kvm-opened");
        } else {
            kvm = prebuilt.kvm();
            maxVcpus = prebuilt.maxVcpus();
        }
        spec.checkHost(maxVcpus);
        // A restore loads the snapshot's CPUID: an architecture of its own, without the shell's vCPU's.
        arch = prebuilt == null || saved != null ? Arch.of(System.getProperty("os.arch"), kvm) : prebuilt.arch();
        boolean stub = spec.boot() instanceof VmSpec.Boot.Stub;
        if (saved != null) {
            arch.requireSnapshots("restore a snapshot");
            kvm.requireStateCapabilities();
            try {
                VmSnapshot.checkHost(saved, kvm);
            } catch (SnapshotException e) {
                throw new IllegalStateException(e.getMessage(), e);
            }
        }
        List<RegionSpec> regions = arch.memoryRegions(spec.boot(), spec.memory().bytes());
        memory = saved == null ? GuestMemory.anonymous(regions) : GuestMemory.privateFile(regions, saved.memoryFile());
        made.add(memory);
        BootTrace.mark("memory-mapped");
        if (saved == null && spec.boot() instanceof VmSpec.Boot.Linux linux) {
            kernelLoad = KernelLoad.start(arch, memory, linux);
            // Released before the memory it writes: a build that fails waits for the copy to end first.
            made.add(kernelLoad);
        }
        if (prebuilt == null) {
            vm = kvm.createVm();
            made.add(vm);
            arch.reserveKvmAreas(vm);
        } else {
            shell.take(prebuilt);
            // The build's own from here: released as the rest is, the last made first, if it fails.
            made.add(kvm);
            vm = prebuilt.vm();
            made.add(vm);
            prebuiltVcpu = prebuilt.first();
            made.add(prebuiltVcpu);
            firstConfigured = saved == null;
        }
        made.add(devices);
        for (MemoryRegion r : memory.regions()) {
            vm.setUserMemoryRegion(r.slot(), r.readOnly() ? Vm.MEM_READONLY : 0, r.guestBase(), r.host());
        }
        BootTrace.mark("vm-created");
        // An if, not a pattern switch: each pattern switch spins a class at its first use, which no AOT
        // cache holds, and this one runs on every monitor's start (docs/BENCHMARKS.md (f)).
        if (spec.boot() instanceof VmSpec.Boot.Stub s) {
            buildStub(s.program());
        } else {
            buildLinux((VmSpec.Boot.Linux) spec.boot());
        }
        return new MicroVm(spec, kvm, vm, memory, devices, vcpus, stopped, stub, arch, trace);
    }

    private void buildStub(VmSpec.StubProgram program) {
        arch.attachPlatformDevices(devices, vm, this::console, power, true);
        createVcpus(1);
        if (saved != null) {
            arch.restoreVcpu(vcpus.getFirst(), saved);
            return;
        }
        if (!firstConfigured) arch.configureVcpus(vm, vcpus, true);
        arch.loadStub(memory, program, vcpus.getFirst());
    }

    private void buildLinux(VmSpec.Boot.Linux linux) {
        arch.createInterruptController(vm);
        eventFds = !"off".equals(System.getProperty(EVENT_FDS_PROPERTY)) && arch.eventFds(vm);
        arch.attachPlatformDevices(devices, vm, this::console, power, false);
        BootTrace.mark("platform-devices-attached");
        List<VirtioMmioWindow> windows = arch.virtioWindows(spec.disks().size() + spec.nics().size() + 1);
        if (saved == null && virtioLate()) {
            buildVirtioLate(windows);
        } else {
            attachVirtio(windows, null);
        }
        BootTrace.mark("devices-placed");
        if (saved != null) {
            arch.restoreVm(vm, saved);
            createVcpus(spec.vcpus());
            vcpus.forEach(vcpu -> arch.restoreVcpu(vcpu, saved));
            return;
        }
        createVcpus(spec.vcpus());
        arch.configureVcpus(vm, vcpus, false);
        arch.finishInterruptController(vm);
        kernelLoad.join();
        BootTrace.mark("kernel-load-joined");
        arch.describePlatform(memory, spec, windows, vcpus);
        arch.enterKernel(vcpus.getFirst());
    }

    private Device.Uart console(InterruptLine irq) {
        return new Device.Uart("serial", new Serial16550(consoleOut, irq, Serial16550.DEFAULT_INPUT_CAPACITY, devices::consoleSpaceFreed));
    }

    /**
     * The virtio devices built on a thread of their own, beside the rest of the build and the
     * vCPUs' start: their windows are reserved now (an access waits for its device), and a device
     * that cannot be built stops the VM with the reason, as a {@link StopReason.HostError}.
     */
    private void buildVirtioLate(List<VirtioMmioWindow> windows) {
        List<LateDevice> places = new ArrayList<>();
        for (int i = 0; i < windows.size(); i++) {
            VirtioMmioWindow w = windows.get(i);
            places.add(devices.reserveMmio(w.base(), w.size(), "virtio-mmio" + i));
        }
        devices.buildLate("virtio-build", new VirtioBuild(windows, places));
    }

    /** The virtio devices' late build (a class, not lambdas: see {@link DeviceManager.LateBuild}). */
    private final class VirtioBuild implements DeviceManager.LateBuild {
        private final List<VirtioMmioWindow> windows;
        private final List<LateDevice> places;

        VirtioBuild(List<VirtioMmioWindow> windows, List<LateDevice> places) {
            this.windows = windows;
            this.places = places;
        }

        @Override
        public void build() {
            attachVirtio(windows, places);
        }

        @Override
        public void failed(String reason) {
            stopped.complete(new StopReason.HostError(reason));
        }
    }

    /**
     * The disks, the NICs, then the entropy device, each in the next virtio-mmio window; into the
     * {@code places} reserved for them, or attached anew where {@code places} is null.
     */
    private void attachVirtio(List<VirtioMmioWindow> windows, List<LateDevice> places) {
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
            VirtioMmioWindow w = windows.get(next);
            place(places, next++, w, new Device.Block("virtio-blk" + i, block, transport("virtio-blk" + i, block, w)));
        }
        for (int i = 0; i < spec.nics().size(); i++) {
            VmSpec.Nic nic = spec.nics().get(i);
            int index = i;
            NetPump pump = NetPump.open(nic.tap(), nic.mac().orElseThrow(
                    () -> new IllegalArgumentException("nics[" + index + "].mac: not chosen (VmSpec.withMacsFor chooses one)")),
                    throttle(nic.rxRateLimit()), throttle(nic.txRateLimit()));
            devices.addThread(pump);
            VirtioMmioWindow w = windows.get(next);
            place(places, next++, w, new Device.Net("virtio-net" + i, pump.device(), transport("virtio-net" + i, pump.device(), w)));
        }
        VirtioRng rng = new VirtioRng(EntropySource.urandom());
        VirtioMmioWindow w = windows.get(next);
        place(places, next, w, new Device.Rng("virtio-rng0", rng, transport("virtio-rng0", rng, w)));
    }

    private void place(List<LateDevice> places, int index, VirtioMmioWindow w, Device device) {
        if (places == null) {
            devices.attachMmio(w.base(), w.size(), device);
        } else {
            devices.attachReserved(places.get(index), device);
        }
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

    /**
     * The system property that builds a fresh boot's virtio devices beside its vCPUs ({@code on})
     * or before them ({@code off}) whatever the architecture's choice ({@link PlatformDescription#virtioProbedLate}):
     * to compare, or to work around a host.
     */
    static final String LATE_VIRTIO_PROPERTY = "aether.virtio.late";

    private boolean virtioLate() {
        String forced = System.getProperty(LATE_VIRTIO_PROPERTY);
        return forced == null ? arch.virtioProbedLate() : forced.equals("on");
    }

    /** The system property that turns ioeventfd and irqfd off ({@code off}), to compare or to work around a host. */
    static final String EVENT_FDS_PROPERTY = "aether.kvm.eventfds";

    /**
     * The device's transport in window {@code w}. With eventfds, its interrupt is an irqfd and its
     * QueueNotify writes wake a thread of its own; otherwise they exit to the vCPU, and the
     * interrupt is a {@code KVM_IRQ_LINE} ioctl.
     */
    private VirtioMmioTransport transport(String name, VirtioDevice device, VirtioMmioWindow w) {
        if (!eventFds) return new VirtioMmioTransport(device, memory, arch.interruptLine(vm, w.gsi()));
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

    private void createVcpus(int count) {
        for (int id = 0; id < count; id++) {
            if (id == 0 && prebuiltVcpu != null) {
                vcpus.add(prebuiltVcpu);
                prebuiltVcpu = null;
                continue;
            }
            Vcpu vcpu = vm.createVcpu(id);
            vcpus.add(vcpu);
            made.add(vcpu);
        }
    }

    /** Closes what was made, the last first; a failure to close one does not keep the rest open. */
    /**
     * A Linux kernel and its initrd copied into guest memory on a thread of their own, from when
     * the memory is mapped, while the KVM VM, its interrupt controller, devices and vCPUs are
     * made: the copy (an 8 MiB kernel and its initrd on x86, a 31 MiB Image on arm64) was the
     * largest step of a launch's build in the emulated hosts (docs/BENCHMARKS.md (a), (f)). Joined
     * before the platform's description, which needs where they went. A class, not a lambda: see
     * {@link DeviceManager.LateBuild}.
     */
    private static final class KernelLoad implements Runnable, AutoCloseable {
        private final Arch arch;
        private final GuestMemory memory;
        private final VmSpec.Boot.Linux linux;
        private Thread thread;
        /** What the copy threw; read after the thread's end. */
        private Throwable failure;

        private KernelLoad(Arch arch, GuestMemory memory, VmSpec.Boot.Linux linux) {
            this.arch = arch;
            this.memory = memory;
            this.linux = linux;
        }

        static KernelLoad start(Arch arch, GuestMemory memory, VmSpec.Boot.Linux linux) {
            KernelLoad load = new KernelLoad(arch, memory, linux);
            load.thread = Thread.ofPlatform().name("kernel-load").start(load);
            return load;
        }

        @Override
        public void run() {
            try {
                arch.loadKernel(memory, linux);
            } catch (RuntimeException | Error e) {
                failure = e;
            }
        }

        /** Waits for the copy and throws what it threw: the load's refusal (a {@link VmCreationException} naming the file). */
        void join() {
            awaitEnd();
            if (failure instanceof RuntimeException e) throw e;
            if (failure instanceof Error e) throw e;
        }

        /** Waits for the copy's end, so that the memory it writes outlives it. */
        @Override
        public void close() {
            awaitEnd();
        }

        private void awaitEnd() {
            Uninterruptibly.join(thread);
        }
    }

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
