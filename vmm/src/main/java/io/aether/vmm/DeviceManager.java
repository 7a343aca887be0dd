package io.aether.vmm;

import io.aether.common.BusDevice;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Every device of one VM: where each sits on the two buses, its counters, its threads and
 * backends, and the console. {@link VmBuilder} attaches the devices while it assembles the VM;
 * from then on the set is fixed, and the VM starts, pauses, resumes and closes them through here.
 *
 * <p>Paused, the devices change nothing the guest can see: the vCPUs, which drive every device
 * model but the network's receive side, are out of the guest (the VM sees to that), the device
 * threads hold still, and console input waits on the host's side (the UART takes none).
 *
 * <p>Threading: attaching happens on the assembling thread before any vCPU runs, but for the
 * devices built late ({@link #buildLate}), whose places on the bus are reserved then and which a
 * thread of their own attaches while the vCPUs run. The buses are read without locks afterwards
 * (see {@link Bus}); each device guards its own state, so {@link #devices()} and the counters may
 * be read from any thread. Console input may come from
 * any thread. {@link #start}, {@link #pause}, {@link #resume} and {@link #close} belong to the
 * VM's lifecycle, called one at a time.
 */
public final class DeviceManager implements AutoCloseable {

    private final Bus io = new Bus("port I/O");
    private final Bus mmio = new Bus("MMIO");
    private final List<Device> devices = new ArrayList<>();
    private final List<DeviceThread> threads = new ArrayList<>();
    private final List<AutoCloseable> backends = new ArrayList<>();
    /** Taken around console input, never while waiting, so that pause can shut it out. */
    private final Object consoleGate = new Object();
    /**
     * Signals room in the UART. Never held while calling into the UART: the UART signals room
     * under its own lock, on a vCPU thread.
     */
    private final Object consoleSpace = new Object();
    private long spaceSignals;
    private Device.Uart console;
    /** Written under consoleGate: console input waits while the VM is paused. */
    private volatile boolean paused;
    /** Guards the lists above against the late build's thread, and the flags below. */
    private final Object membership = new Object();
    private boolean started;
    private boolean threadsPaused;
    private boolean closed;
    /** The places reserved for the late build's devices. */
    private final List<LateDevice> reserved = new ArrayList<>();
    /** Counted down when the late build has ended, or at once if there is none. */
    private final CountDownLatch lateBuilt = new CountDownLatch(1);
    private Thread lateBuilder;

    DeviceManager() {
    }

    /** Places {@code device} on the port I/O bus at {@code [base, base + count)}. */
    <D extends Device> D attachPorts(long base, long count, D device) {
        return attach(io, base, count, device);
    }

    /** Places {@code device} on the MMIO bus at {@code [base, base + size)}. */
    <D extends Device> D attachMmio(long base, long size, D device) {
        return attach(mmio, base, size, device);
    }

    private <D extends Device> D attach(Bus bus, long base, long length, D device) {
        synchronized (membership) {
            requireNew(device);
            bus.register(base, length, device.name(), device.busDevice());
            admit(device);
        }
        return device;
    }

    private void requireNew(Device device) {
        if (devices.stream().anyMatch(d -> d.name().equals(device.name()))) {
            throw new IllegalArgumentException("a device named " + device.name() + " is already attached");
        }
        if (device instanceof Device.Uart && console != null) {
            throw new IllegalArgumentException("a VM has one console UART; " + console.name() + " is already attached");
        }
    }

    private void admit(Device device) {
        if (device instanceof Device.Uart uart) console = uart;
        devices.add(device);
    }

    /**
     * Reserves {@code [base, base + size)} on the MMIO bus for a device {@link #buildLate}'s
     * build attaches there ({@link #attachReserved}); until then the guest's accesses wait.
     */
    LateDevice reserveMmio(long base, long size, String name) {
        LateDevice place = new LateDevice();
        synchronized (membership) {
            mmio.register(base, size, name, place);
            reserved.add(place);
        }
        return place;
    }

    /**
     * Puts {@code device} in the place reserved for it; accesses waiting there go on to it.
     *
     * @throws IllegalStateException if the VM closed meanwhile (the caller then closes what it made)
     */
    <D extends Device> D attachReserved(LateDevice place, D device) {
        synchronized (membership) {
            if (closed) throw new IllegalStateException("the VM closed while " + device.name() + " was built");
            requireNew(device);
            admit(device);
        }
        place.bind(device.busDevice());
        return device;
    }

    /**
     * Devices built beside the running vCPUs ({@link #buildLate}). An interface and classes, not
     * lambdas: on an emulated host each lambda's class, spun at its first use, costs tens of
     * milliseconds, and no AOT cache trained on the stub guest holds these.
     */
    interface LateBuild {
        /** Attaches devices to the places {@link #reserveMmio} reserved; may add threads and backends. */
        void build();

        /** The build threw: {@code reason} in one line. */
        void failed(String reason);
    }

    /**
     * Runs {@code build} on a thread of its own, started now, beside whatever the VM does next,
     * its vCPUs included: it attaches devices to the places {@link #reserveMmio} reserved, and
     * may add threads (started at once if the devices have started) and backends. A build that
     * throws is told the reason, and its places stay nobody's. A place the build leaves empty
     * is nobody's too once it ends. One late build per VM.
     */
    void buildLate(String what, LateBuild build) {
        synchronized (membership) {
            if (lateBuilder != null) throw new IllegalStateException("the devices are already being built");
            lateBuilder = Thread.ofPlatform().name(what).daemon().unstarted(new LateBuilder(build));
            lateBuilder.start();
        }
    }

    /** The late build's thread. */
    private final class LateBuilder implements Runnable {
        private final LateBuild build;

        LateBuilder(LateBuild build) {
            this.build = build;
        }

        @Override
        public void run() {
            try {
                build.build();
            } catch (RuntimeException | Error e) {
                build.failed(e.getMessage() != null ? e.getMessage() : e.toString());
                if (e instanceof Error error) throw error;
            } finally {
                abandonReserved();
                lateBuilt.countDown();
            }
        }
    }

    /**
     * The VM stops: accesses waiting for a device still being built are answered as nobody's,
     * so that no vCPU waits on a build.
     */
    void abandonReserved() {
        List<LateDevice> places;
        synchronized (membership) {
            places = List.copyOf(reserved);
        }
        for (LateDevice place : places) place.abandon();
    }

    /** Waits for the late build to end, if one runs, at most {@code millis}; an interrupt is kept for the caller. */
    private void awaitLateBuild(long millis) {
        synchronized (membership) {
            if (lateBuilder == null) return;
        }
        try {
            lateBuilt.await(millis, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Claims ports that the guest writes and reads for no effect (reads give zeroes), so they do not count as unclaimed. */
    void claimPorts(long base, long count, String name) {
        io.register(base, count, name, SINK);
    }

    private static final BusDevice SINK = new BusDevice() {
        @Override
        public void read(long offset, byte[] data) {
            Arrays.fill(data, (byte) 0);
        }

        @Override
        public void write(long offset, byte[] data) {
        }
    };

    /**
     * A thread of a device's own (started with the VM, closed with it; one added by a late build
     * after the start starts at once, and holds still if the VM is paused).
     *
     * @throws IllegalStateException if the VM closed meanwhile; the thread is closed
     */
    void addThread(DeviceThread thread) {
        synchronized (membership) {
            refuseIfClosed(thread);
            threads.add(thread);
            backends.add(thread);
            if (started) thread.start();
            if (threadsPaused) thread.pause();
        }
    }

    /**
     * A backend (an open disk image, say) closed with the VM, after the devices stop.
     *
     * @throws IllegalStateException if the VM closed meanwhile; the backend is closed
     */
    void addBackend(AutoCloseable backend) {
        synchronized (membership) {
            refuseIfClosed(backend);
            backends.add(backend);
        }
    }

    private void refuseIfClosed(AutoCloseable made) {
        if (!closed) return;
        try {
            made.close();
        } catch (Exception e) {
            // Refused anyway: nothing of it is used.
        }
        throw new IllegalStateException("the VM closed while its devices were built");
    }

    Bus io() {
        return io;
    }

    Bus mmio() {
        return mmio;
    }

    /** Every device, in the order attached; waits (a bounded time) for the devices still being built. */
    public List<Device> devices() {
        awaitLateBuild(LATE_BUILD_WAIT_MILLIS);
        synchronized (membership) {
            return List.copyOf(devices);
        }
    }

    /** How long {@link #devices()} and {@link #close()} wait for a late build (it opens files and TAPs, no more). */
    static final long LATE_BUILD_WAIT_MILLIS = 10_000;

    /** Starts the devices' own threads. */
    void start() {
        synchronized (membership) {
            started = true;
            threads.forEach(DeviceThread::start);
        }
    }

    /** Holds the device threads and console input still; returns once none is at work. */
    void pause() {
        synchronized (consoleGate) {
            if (paused) throw new IllegalStateException("the devices are already paused");
            paused = true;
        }
        synchronized (membership) {
            threadsPaused = true;
            threads.forEach(DeviceThread::pause);
        }
    }

    /** Lets the device threads and console input go on. */
    void resume() {
        if (!paused) throw new IllegalStateException("the devices are not paused");
        synchronized (membership) {
            threadsPaused = false;
            threads.forEach(DeviceThread::resume);
        }
        synchronized (consoleGate) {
            paused = false;
        }
        consoleSpaceFreed();
    }

    /**
     * Offers bytes to the console UART; returns how many it took: none while paused, and no more
     * than its bounded receive buffer holds (retry the rest after {@link #awaitConsoleSpace}).
     */
    int consoleInput(byte[] data) {
        synchronized (consoleGate) {
            // Under the gate, so that no input lands once pause() has returned.
            return console == null || paused ? 0 : console.model().enqueueInput(data);
        }
    }

    /** What the UART calls when its receive buffer has room again. */
    void consoleSpaceFreed() {
        synchronized (consoleSpace) {
            spaceSignals++;
            consoleSpace.notifyAll();
        }
    }

    /** Waits until the console may take input again (room in the UART, the VM not paused), or {@code millis} pass. */
    void awaitConsoleSpace(long millis) throws InterruptedException {
        long seen;
        synchronized (consoleSpace) {
            seen = spaceSignals;
        }
        // Asked outside consoleSpace: the UART takes its own lock, and signals room holding it.
        if (console != null && !paused && console.model().inputSpace() > 0) return;
        synchronized (consoleSpace) {
            if (spaceSignals == seen) consoleSpace.wait(millis);
        }
    }

    /**
     * Stops the device threads and closes every backend, the last attached first. Closing is
     * best effort: one backend failing to close (a disk whose flush fails, already counted by its
     * device) does not keep the others open. A late build still running is waited for a bounded
     * time; whatever it makes after that is closed by it (see {@link #addBackend}).
     */
    @Override
    public void close() {
        abandonReserved();
        awaitLateBuild(LATE_BUILD_WAIT_MILLIS);
        List<AutoCloseable> open;
        synchronized (membership) {
            closed = true;
            open = List.copyOf(backends);
        }
        for (AutoCloseable backend : open.reversed()) {
            try {
                backend.close();
            } catch (Exception e) {
                // Counted by the device where it matters (a failed flush); the rest still close.
            }
        }
    }
}
