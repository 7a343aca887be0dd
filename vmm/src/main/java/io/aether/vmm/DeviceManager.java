package io.aether.vmm;

import io.aether.common.BusDevice;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Every device of one VM: where each sits on the two buses, its counters, its threads and
 * backends, and the console. {@link VmBuilder} attaches the devices while it assembles the VM;
 * from then on the set is fixed, and the VM starts, pauses, resumes and closes them through here.
 *
 * <p>Paused, the devices change nothing the guest can see: the vCPUs, which drive every device
 * model but the network's receive side, are out of the guest (the VM sees to that), the device
 * threads hold still, and console input waits on the host's side (the UART takes none).
 *
 * <p>Threading: attaching happens on the assembling thread before any vCPU runs. The buses are
 * read without locks afterwards (see {@link Bus}); each device guards its own state, so
 * {@link #devices()} and the counters may be read from any thread. Console input may come from
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
        if (devices.stream().anyMatch(d -> d.name().equals(device.name()))) {
            throw new IllegalArgumentException("a device named " + device.name() + " is already attached");
        }
        if (device instanceof Device.Uart uart) {
            if (console != null) throw new IllegalArgumentException("a VM has one console UART; " + console.name() + " is already attached");
            console = uart;
        }
        bus.register(base, length, device.name(), device.busDevice());
        devices.add(device);
        return device;
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

    /** A thread of a device's own (started with the VM, closed with it). */
    void addThread(DeviceThread thread) {
        threads.add(thread);
        backends.add(thread);
    }

    /** A backend (an open disk image, say) closed with the VM, after the devices stop. */
    void addBackend(AutoCloseable backend) {
        backends.add(backend);
    }

    Bus io() {
        return io;
    }

    Bus mmio() {
        return mmio;
    }

    /** Every device, in the order attached. */
    public List<Device> devices() {
        return List.copyOf(devices);
    }

    /** Starts the devices' own threads. */
    void start() {
        threads.forEach(DeviceThread::start);
    }

    /** Holds the device threads and console input still; returns once none is at work. */
    void pause() {
        synchronized (consoleGate) {
            if (paused) throw new IllegalStateException("the devices are already paused");
            paused = true;
        }
        threads.forEach(DeviceThread::pause);
    }

    /** Lets the device threads and console input go on. */
    void resume() {
        if (!paused) throw new IllegalStateException("the devices are not paused");
        threads.forEach(DeviceThread::resume);
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
     * device) does not keep the others open.
     */
    @Override
    public void close() {
        for (AutoCloseable backend : backends.reversed()) {
            try {
                backend.close();
            } catch (Exception e) {
                // Counted by the device where it matters (a failed flush); the rest still close.
            }
        }
    }
}
