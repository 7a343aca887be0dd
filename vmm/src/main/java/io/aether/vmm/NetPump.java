package io.aether.vmm;

import io.aether.common.MacAddress;
import io.aether.devices.net.NetBackend;
import io.aether.devices.ratelimit.Throttle;
import io.aether.devices.net.VirtioNet;
import io.aether.sys.Tap;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * A virtio-net device over a TAP interface, and the thread that moves frames from the TAP into
 * the guest while the guest has receive buffers.
 */
final class NetPump implements DeviceThread, NetBackend {

    /** How long the pump waits for frames, or for the guest, before it looks at its flags again. */
    private static final int WAIT_MILLIS = 200;

    /** The host end of the link: a TAP interface, or frames in memory in tests. */
    interface Link extends AutoCloseable {
        String name();

        /** Waits up to {@code timeoutMillis} for a frame to read. */
        boolean awaitReadable(int timeoutMillis);

        /** Reads one frame into {@code into}; its length, 0 when none is waiting. */
        int read(ByteBuffer into);

        /** Writes one frame; false when the link cannot take it now. */
        boolean write(ByteBuffer frame);

        @Override
        void close();
    }

    private record TapLink(Tap tap) implements Link {
        @Override
        public String name() {
            return tap.name();
        }

        @Override
        public boolean awaitReadable(int timeoutMillis) {
            return tap.awaitReadable(timeoutMillis);
        }

        @Override
        public int read(ByteBuffer into) {
            return tap.read(into);
        }

        @Override
        public boolean write(ByteBuffer frame) {
            return tap.write(frame);
        }

        @Override
        public void close() {
            tap.close();
        }
    }

    private final Link link;
    private final VirtioNet device;
    /** Set under the device's lock, so that no receive is under way once {@link #pause} returns. */
    private volatile boolean paused;
    private volatile boolean running = true;
    private volatile Thread thread;

    NetPump(Link link, MacAddress mac) {
        this(link, mac, Throttle.NONE, Throttle.NONE);
    }

    NetPump(Link link, MacAddress mac, Throttle rx, Throttle tx) {
        this.link = link;
        this.device = new VirtioNet(this, new VirtioNet.Options(mac, 1500, 256), rx, tx);
    }

    static NetPump open(String name, MacAddress mac, Throttle rx, Throttle tx) {
        return new NetPump(new TapLink(Tap.open(name)), mac, rx, tx);
    }

    VirtioNet device() {
        return device;
    }

    @Override
    public void start() {
        thread = Thread.ofPlatform().name("net-" + link.name()).daemon().start(this::pump);
    }

    private void pump() {
        while (running) {
            // Whether the guest has buffers is the device's to say, under its lock: a copy kept
            // here would miss a vCPU's notify that came between processRx returning and the copy.
            if (paused || device.rxStalled()) {
                LockSupport.parkNanos(this, TimeUnit.MILLISECONDS.toNanos(WAIT_MILLIS)); // rxReady and resume unpark
            } else if (link.awaitReadable(WAIT_MILLIS)) {
                synchronized (device) {
                    if (!paused) device.processRx();
                }
            }
        }
    }

    /** Waits out a receive under way (it holds the device's lock); none starts until {@link #resume}. */
    @Override
    public void pause() {
        synchronized (device) {
            paused = true;
        }
    }

    @Override
    public void resume() {
        paused = false;
        LockSupport.unpark(thread);
    }

    @Override
    public void send(ByteBuffer frame) throws IOException {
        if (!link.write(frame)) throw new IOException("TAP " + link.name() + " is full");
    }

    @Override
    public int receive(ByteBuffer into) {
        return link.read(into);
    }

    @Override
    public void rxReady() {
        // An unpark before the pump parks is kept for it, so this wake-up is not lost either.
        LockSupport.unpark(thread);
    }

    @Override
    public void close() {
        running = false;
        Thread t = thread;
        if (t != null) {
            LockSupport.unpark(t);
            try {
                t.join(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        link.close();
    }
}
