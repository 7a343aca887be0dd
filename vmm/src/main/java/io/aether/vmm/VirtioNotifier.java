package io.aether.vmm;

import io.aether.kvm.Vm;
import io.aether.sys.EventFd;
import io.aether.sys.Libc;
import io.aether.virtio.VirtioMmioTransport;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * A virtio device's own thread: KVM signals one eventfd per virtqueue when the guest writes that
 * queue's index to the transport's QueueNotify register (ioeventfd, no exit to the monitor), and
 * this thread hands each notification to the transport, so the device's work (a disk's reads and
 * writes) runs here while the vCPU goes straight back into the guest. It also serves the
 * device's {@link IrqFdLine} resamples. Used when the host's KVM has both ioeventfd and irqfd;
 * without them QueueNotify exits to the vCPU thread as any MMIO write.
 */
final class VirtioNotifier implements DeviceThread {

    /** How long a wait lasts before the thread looks at its flags again. */
    private static final int WAIT_MILLIS = 200;

    private final String name;
    private final VirtioMmioTransport transport;
    private final IrqFdLine irq;
    private final List<EventFd> queues;
    /** The queues' descriptors, then the resample descriptor. */
    private final int[] fds;
    /** Set under the device's lock, so that no notification is being handled once {@link #pause} returns. */
    private volatile boolean paused;
    private volatile boolean running = true;
    private volatile Thread thread;

    private VirtioNotifier(String name, VirtioMmioTransport transport, IrqFdLine irq, List<EventFd> queues) {
        this.name = name;
        this.transport = transport;
        this.irq = irq;
        this.queues = queues;
        this.fds = new int[queues.size() + 1];
        for (int i = 0; i < queues.size(); i++) fds[i] = queues.get(i).fd();
        fds[queues.size()] = irq.resampleFd();
    }

    /**
     * Registers one ioeventfd per queue of {@code transport} at its QueueNotify register
     * ({@code base} + 0x50, 4 bytes, matching the queue index).
     */
    static VirtioNotifier register(String name, Vm vm, long base, VirtioMmioTransport transport, IrqFdLine irq) {
        List<EventFd> queues = new ArrayList<>();
        try {
            for (int q = 0; q < transport.queueCount(); q++) {
                EventFd fd = EventFd.open();
                queues.add(fd);
                vm.addIoEventFd(fd.fd(), base + VirtioMmioTransport.QUEUE_NOTIFY, 4, q);
            }
        } catch (RuntimeException e) {
            queues.forEach(EventFd::close);
            throw e;
        }
        return new VirtioNotifier(name, transport, irq, List.copyOf(queues));
    }

    @Override
    public void start() {
        thread = Thread.ofPlatform().name(name + "-notify").daemon().start(this::serve);
    }

    private void serve() {
        while (running) {
            if (paused) {
                LockSupport.parkNanos(this, TimeUnit.MILLISECONDS.toNanos(WAIT_MILLIS)); // resume unparks
                continue;
            }
            long ready = Libc.pollIn(fds, WAIT_MILLIS);
            if (ready == 0) continue;
            synchronized (transport.device()) {
                // Left for resume: a paused VM's interrupts and devices hold still.
                if (paused) continue;
                if ((ready & (1L << queues.size())) != 0) irq.resampled();
                for (int q = 0; q < queues.size(); q++) {
                    if ((ready & (1L << q)) != 0 && queues.get(q).take() > 0) transport.queueNotified(q);
                }
            }
        }
    }

    @Override
    public void pause() {
        synchronized (transport.device()) {
            paused = true;
        }
    }

    @Override
    public void resume() {
        paused = false;
        LockSupport.unpark(thread);
    }

    @Override
    public void close() {
        running = false;
        Thread t = thread;
        if (t != null) {
            try {
                t.join(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        queues.forEach(EventFd::close);
        irq.close();
    }
}
