package io.aether.vmm;

import io.aether.common.FieldException;
import io.aether.kvm.CpuidEntry;
import io.aether.kvm.Kvm;
import io.aether.kvm.Vcpu;
import io.aether.kvm.Vm;
import io.aether.memory.GuestMemory;
import io.aether.memory.MemoryRegion;
import io.aether.memory.RegionSpec;
import io.aether.vmspec.VmSpec;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
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
 *   vm.pause(); ... vm.resume();                       // the whole VM holds still, then goes on
 *   vm.pressCtrlAltDel();                              // asks the guest to shut down
 *   StopReason why = vm.awaitStop();                   // poweroff, reboot, crash, or requestStop
 *   vm.close();                                        // threads joined, disks flushed, memory unmapped
 * </pre>
 *
 * <p>Its {@link #state()} moves CREATED → RUNNING ⇄ PAUSED → STOPPED, any state → STOPPED (a
 * stop may come from the guest at any time). {@link #start}, {@link #pause} and {@link #resume}
 * refuse, naming the state, a VM not in the state they start from; they may be called from any
 * thread, one at a time.
 */
public final class MicroVm implements AutoCloseable {

    private final VmSpec spec;
    private final Kvm kvm;
    private final Vm vm;
    private final GuestMemory memory;
    private final DeviceManager devices;
    private final List<Vcpu> vcpus;
    private final Arch arch;
    /** Whether the VM has KVM's irqchip and PIT (Linux guests; the stub runs without). */
    private final boolean irqchip;
    private final List<VcpuRunner> runners = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();
    private final CompletableFuture<StopReason> stopped;
    /** Serialises start, pause, resume and close; a stop request never waits for it. */
    private final Object lifecycle = new Object();
    /** Guarded by lifecycle; STOPPED is read from {@link #stopped}, which may complete at any time. */
    private RunState state = RunState.CREATED;
    private boolean closed;

    /**
     * @param stopped completed by whatever stops the VM first (its guest's power events included)
     * @param haltStops whether HLT ends the VM (the stub guest, which has no interrupt controller)
     * @param arch the guest's architecture (how the trace reads its exits, how its vCPUs are debugged)
     * @param trace where every vCPU exit is printed, or null
     */
    MicroVm(VmSpec spec, Kvm kvm, Vm vm, GuestMemory memory, DeviceManager devices, List<Vcpu> vcpus,
            CompletableFuture<StopReason> stopped, boolean haltStops, Arch arch, PrintStream trace) {
        this.spec = spec;
        this.kvm = kvm;
        this.vm = vm;
        this.memory = memory;
        this.devices = devices;
        this.vcpus = List.copyOf(vcpus);
        this.arch = arch;
        this.irqchip = !haltStops;
        this.stopped = stopped;
        for (Vcpu vcpu : this.vcpus) runners.add(new VcpuRunner(vcpu, devices.io(), devices.mmio(), haltStops, arch, trace, this::requestStop));
        // Whoever completes the future first (a power event, a crash, a request), the vCPUs stop,
        // and none waits for a device still being built (DeviceManager.buildLate).
        stopped.thenRun(() -> {
            runners.forEach(VcpuRunner::stop);
            devices.abandonReserved();
        });
    }

    /**
     * Creates the VM: checks the spec against the host, maps memory, creates the devices and
     * vCPUs and loads the guest. Nothing runs until {@link #start()}.
     *
     * @param spec the VM, with every NIC's MAC address chosen ({@link VmSpec#withMacsFor})
     * @param consoleOut where the guest's serial console output goes
     * @param trace where every vCPU exit is printed, decoded; null prints nothing
     * @throws FieldException for a spec this host cannot run (one line naming the field)
     * @throws VmCreationException when the host refuses something while building the VM
     */
    public static MicroVm create(VmSpec spec, OutputStream consoleOut, PrintStream trace) {
        return VmBuilder.build(spec, consoleOut, trace, null);
    }

    /**
     * As {@link #create(VmSpec, OutputStream, PrintStream)}, on {@code shell} where it fits the
     * spec (the VM then owns it); a shell that does not fit, or a spec refused before the VM is
     * made, leaves it as it was.
     */
    public static MicroVm create(VmSpec spec, OutputStream consoleOut, PrintStream trace, VmShell shell) {
        return VmBuilder.build(spec, consoleOut, trace, shell);
    }

    /**
     * Starts one platform thread per vCPU, and the devices' own threads. A VM stopped before it
     * started stays stopped: this then does nothing.
     *
     * @throws IllegalStateException if it already started
     */
    public void start() {
        start(false);
    }

    /**
     * As {@link #start()}, but with {@code paused} the VM starts PAUSED: its threads wait before
     * the guest runs a single instruction (a restore that stays paused), until {@link #resume}.
     */
    public void start(boolean paused) {
        synchronized (lifecycle) {
            if (stopped.isDone()) return;
            require(RunState.CREATED, "start");
            devices.start();
            for (VcpuRunner runner : runners) {
                Thread thread = runner.start(paused);
                if (thread != null) threads.add(thread);
            }
            if (paused) devices.pause();
            state = paused ? RunState.PAUSED : RunState.RUNNING;
        }
    }

    /**
     * Single-steps every vCPU and stops at its software breakpoints: each instruction is a debug
     * exit, which the exit trace prints with its syndrome decoded (ESR_EL2 on aarch64).
     *
     * @throws IllegalStateException if the VM has started
     * @throws VmCreationException where the architecture has no decoded debug exits
     */
    public void enableGuestDebug() {
        synchronized (lifecycle) {
            require(RunState.CREATED, "debug");
            vcpus.forEach(arch::enableGuestDebug);
        }
    }

    /**
     * Pauses the whole VM and returns once it holds still: every vCPU out of the guest (an exit
     * being handled finishes first), the device threads idle, console input held back on the host
     * side. Guest memory and device state stay as they are until {@link #resume}.
     *
     * @throws IllegalStateException naming the state, if the VM is not running, or if it stopped
     *     while pausing
     * @throws InterruptedException if interrupted while waiting for the vCPUs; the VM then runs on
     */
    public void pause() throws InterruptedException {
        synchronized (lifecycle) {
            require(RunState.RUNNING, "pause");
            try {
                for (VcpuRunner runner : runners) runner.pause();
            } catch (InterruptedException e) {
                runners.forEach(VcpuRunner::resume);
                throw e;
            }
            devices.pause();
            state = RunState.PAUSED;
            StopReason reason = stopped.getNow(null);
            if (reason != null) throw new IllegalStateException("cannot pause: the VM stopped (" + reason.message() + ")");
        }
    }

    /**
     * Lets a paused VM go on where it stopped.
     *
     * @throws IllegalStateException naming the state, if the VM is not paused
     */
    public void resume() {
        synchronized (lifecycle) {
            require(RunState.PAUSED, "resume");
            devices.resume();
            runners.forEach(VcpuRunner::resume);
            state = RunState.RUNNING;
        }
    }

    /**
     * Writes a snapshot of this paused VM into {@code dir} (created if missing): its memory file,
     * then its state file, each written beside and renamed into place, and synced. The VM stays
     * paused. See {@link VmSnapshot}.
     *
     * @param progress told how much memory is written, or null
     * @throws IllegalStateException naming the state, if the VM is not paused
     * @throws UnsupportedOperationException for an architecture whose VMs cannot be saved (aarch64)
     * @throws IOException naming the file that could not be written; the VM is unchanged
     */
    public VmSnapshot.Written snapshot(Path dir, VmSnapshot.Progress progress) throws IOException, InterruptedException {
        synchronized (lifecycle) {
            arch.requireSnapshots("snapshot");
            require(RunState.PAUSED, "snapshot");
            return VmSnapshot.write(this, dir, progress);
        }
    }

    Kvm kvm() {
        return kvm;
    }

    Vm kvmVm() {
        return vm;
    }

    List<VcpuRunner> runners() {
        return runners;
    }

    List<List<CpuidEntry>> cpuids() {
        return arch.cpuids();
    }

    boolean hasIrqchip() {
        return irqchip;
    }

    /** Where the VM is in its life: CREATED, RUNNING, PAUSED or STOPPED. */
    public RunState state() {
        synchronized (lifecycle) {
            return stopped.isDone() ? RunState.STOPPED : state;
        }
    }

    private void require(RunState expected, String action) {
        RunState now = stopped.isDone() ? RunState.STOPPED : state;
        if (now != expected) throw new IllegalStateException("cannot " + action + ": the VM is " + now.describe());
    }

    /** Stops the VM for {@code reason}; the first reason given wins. Safe from any thread. */
    public void requestStop(StopReason reason) {
        stopped.complete(reason);
    }

    /**
     * Asks the guest to shut down: types Ctrl-Alt-Del on its i8042 keyboard. What follows is the
     * guest's choice (Linux restarts by default, an init may power off or ignore it); a reboot or
     * power-off then stops the VM as usual. Returns false when the keyboard took no keys (the guest
     * disabled scanning, or has not read the keys it has).
     *
     * @throws IllegalStateException naming the state, if the VM is not running (a paused guest
     *     could not react, and its devices must not change)
     */
    public boolean pressCtrlAltDel() {
        synchronized (lifecycle) {
            require(RunState.RUNNING, "ask the guest to shut down");
            for (Device device : devices.devices()) {
                if (device instanceof Device.Keyboard keyboard) return keyboard.model().pressCtrlAltDel();
            }
            throw new IllegalStateException("cannot ask the guest to shut down: the VM has no keyboard controller");
        }
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

    /** Each vCPU's exits and CPU time so far, by vCPU id. */
    public List<VcpuStats> vcpuStats() {
        return runners.stream().map(VcpuRunner::stats).toList();
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
    public void close() {
        requestStop(new StopReason.Requested("close"));
        synchronized (lifecycle) {
            if (closed) return;
            closed = true;
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
}
