package io.aether.vmm;

import io.aether.kvm.Kvm;
import io.aether.kvm.Vcpu;
import io.aether.kvm.Vm;
import io.aether.memory.GuestMemory;
import io.aether.memory.MemoryRegion;
import io.aether.memory.RegionSpec;
import io.aether.vmspec.SpecException;
import io.aether.vmspec.VmSpec;
import java.io.OutputStream;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * One microVM: its KVM VM, guest memory, devices and vCPU threads, from creation to teardown.
 * {@link VmBuilder} assembles it; the {@link DeviceManager} owns its devices.
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

    private final VmSpec spec;
    private final Kvm kvm;
    private final Vm vm;
    private final GuestMemory memory;
    private final DeviceManager devices;
    private final List<Vcpu> vcpus;
    private final List<VcpuRunner> runners = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();
    private final CompletableFuture<StopReason> stopped;
    private boolean closed;

    /**
     * @param stopped completed by whatever stops the VM first (its guest's power events included)
     * @param haltStops whether HLT ends the VM (the stub guest, which has no interrupt controller)
     * @param trace where every vCPU exit is printed, or null
     */
    MicroVm(VmSpec spec, Kvm kvm, Vm vm, GuestMemory memory, DeviceManager devices, List<Vcpu> vcpus,
            CompletableFuture<StopReason> stopped, boolean haltStops, PrintStream trace) {
        this.spec = spec;
        this.kvm = kvm;
        this.vm = vm;
        this.memory = memory;
        this.devices = devices;
        this.vcpus = List.copyOf(vcpus);
        this.stopped = stopped;
        for (Vcpu vcpu : this.vcpus) runners.add(new VcpuRunner(vcpu, devices.io(), devices.mmio(), haltStops, trace, this::requestStop));
        // Whoever completes the future first (a power event, a crash, a request), the vCPUs stop.
        stopped.thenRun(() -> runners.forEach(VcpuRunner::stop));
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
        return VmBuilder.build(spec, consoleOut, trace);
    }

    /** Starts one platform thread per vCPU, and the devices' own threads. */
    public synchronized void start() {
        if (!threads.isEmpty()) throw new IllegalStateException("already started");
        for (VcpuRunner runner : runners) threads.add(Thread.ofPlatform().name("vcpu-" + runner.id()).daemon().start(runner));
        devices.start();
    }

    /** Stops the VM for {@code reason}; the first reason given wins. Safe from any thread. */
    public void requestStop(StopReason reason) {
        stopped.complete(reason);
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
        return devices.consoleInput(data);
    }

    /** Waits until the console may take input again, or {@code millis} pass. */
    public void awaitConsoleSpace(long millis) throws InterruptedException {
        devices.awaitConsoleSpace(millis);
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
    public synchronized List<long[]> takeDirtyPages() {
        if (!memory.dirtyLog().enabled()) throw new IllegalStateException("dirty logging is off: call startDirtyLog first");
        List<long[]> out = new ArrayList<>();
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

    /** Every device of this VM: counters now, and its state for snapshots. */
    public DeviceManager devices() {
        return devices;
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
        devices.close();
        if (joined) {
            vcpus.forEach(Vcpu::close);
            vm.close();
            kvm.close();
            memory.close();
        }
        // A vCPU thread that did not leave KVM_RUN still maps guest memory: the process exit frees it.
    }
}
