package io.aether.vmm;

import io.aether.common.MacAddress;
import io.aether.devices.net.NetBackend;
import io.aether.devices.net.VirtioNet;
import io.aether.sys.Tap;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * A virtio-net device over a TAP interface, and the thread that moves frames from the TAP into
 * the guest while the guest has receive buffers.
 */
final class NetPump implements DeviceThread, NetBackend {

    private final Tap tap;
    private final VirtioNet device;
    private final Object wake = new Object();
    private volatile boolean stalled;
    /** Set under the device's lock, so that no receive is under way once {@link #pause} returns. */
    private volatile boolean paused;
    private volatile boolean running = true;
    private Thread thread;

    private NetPump(Tap tap, MacAddress mac) {
        this.tap = tap;
        this.device = new VirtioNet(this, new VirtioNet.Options(mac, 1500, 256));
    }

    static NetPump open(String name, MacAddress mac) {
        return new NetPump(Tap.open(name), mac);
    }

    VirtioNet device() {
        return device;
    }

    @Override
    public void start() {
        thread = Thread.ofPlatform().name("net-" + tap.name()).daemon().start(this::pump);
    }

    private void pump() {
        while (running) {
            if (stalled || paused) {
                synchronized (wake) {
                    while ((stalled || paused) && running) {
                        try {
                            wake.wait(200);
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                }
                continue;
            }
            if (tap.awaitReadable(200)) {
                synchronized (device) {
                    if (!paused) stalled = device.processRx();
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
        synchronized (wake) {
            paused = false;
            wake.notifyAll();
        }
    }

    @Override
    public void send(ByteBuffer frame) throws IOException {
        if (!tap.write(frame)) throw new IOException("TAP " + tap.name() + " is full");
    }

    @Override
    public int receive(ByteBuffer into) {
        return tap.read(into);
    }

    @Override
    public void rxReady() {
        synchronized (wake) {
            stalled = false;
            wake.notifyAll();
        }
    }

    @Override
    public void close() {
        running = false;
        rxReady();
        if (thread != null) {
            try {
                thread.join(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        tap.close();
    }
}
