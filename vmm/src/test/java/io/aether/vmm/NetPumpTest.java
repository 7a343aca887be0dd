package io.aether.vmm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.devices.net.VirtioNet;
import io.aether.memory.GuestMemory;
import io.aether.memory.RegionSpec;
import io.aether.virtio.MockDriver;
import io.aether.virtio.MockDriver.Buffer;
import io.aether.virtio.MockDriver.Used;
import io.aether.virtio.VirtioFeatures;
import io.aether.virtio.VirtioInterrupt;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The receive pump over a link in memory: the guest side is a mock driver, nothing needs a TAP. */
@Timeout(60)
class NetPumpTest {

    private static final int RX = 0;
    private static final int TX = 1;
    private static final int BUFFER = VirtioNet.HEADER_BYTES + 1514;

    private final GuestMemory memory = GuestMemory.anonymous(List.of(RegionSpec.ram(0, 4 << 20)));
    private final MockDriver rxDriver = new MockDriver(memory, 16, 0x1000, 0x100000);
    private final MockDriver txDriver = new MockDriver(memory, 16, rxDriver.end(), 0x100000);
    private final MemoryLink link = new MemoryLink();
    private final NetPump pump = new NetPump(link, io.aether.common.MacAddress.parse("52:54:00:12:34:56"));
    /** Runs once, on the thread that completes the next pass over the receive queue, inside the device's lock. */
    private final AtomicReference<Runnable> onNextRxPass = new AtomicReference<>();

    @AfterEach
    void close() {
        pump.close();
        memory.close();
    }

    /** Frames in a queue: what a TAP interface would hold, and what was written to it. */
    private static final class MemoryLink implements NetPump.Link {
        private final Deque<byte[]> waiting = new ArrayDeque<>();
        private final List<byte[]> written = new ArrayList<>();

        synchronized void offer(byte[] frame) {
            waiting.add(frame);
            notifyAll();
        }

        synchronized List<byte[]> written() {
            return List.copyOf(written);
        }

        @Override
        public String name() {
            return "mem0";
        }

        @Override
        public synchronized boolean awaitReadable(int timeoutMillis) {
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
            while (waiting.isEmpty()) {
                long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                if (left <= 0) return false;
                try {
                    wait(left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
            return true;
        }

        @Override
        public synchronized int read(ByteBuffer into) {
            byte[] frame = waiting.poll();
            if (frame == null) return 0;
            into.put(frame);
            return frame.length;
        }

        @Override
        public synchronized boolean write(ByteBuffer frame) {
            byte[] b = new byte[frame.remaining()];
            frame.get(b);
            written.add(b);
            return true;
        }

        @Override
        public void close() {
        }
    }

    private void activateAndStart() {
        VirtioInterrupt interrupt = new VirtioInterrupt() {
            @Override
            public void usedBuffers(int queueIndex) {
                Runnable hook = queueIndex == RX ? onNextRxPass.getAndSet(null) : null;
                if (hook != null) hook.run();
            }

            @Override
            public void configChanged() {
            }
        };
        pump.device().activate(memory, VirtioFeatures.TRANSPORT,
                List.of(rxDriver.queue(16, VirtioFeatures.TRANSPORT), txDriver.queue(16, VirtioFeatures.TRANSPORT)), interrupt);
        pump.start();
    }

    private static byte[] frame(int length, int seed) {
        byte[] f = new byte[length];
        for (int i = 0; i < length; i++) f[i] = (byte) (seed * 31 + i);
        return f;
    }

    /** Waits for the device to have completed {@code count} receive chains in all. */
    private void awaitUsed(int count) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (rxDriver.usedIdx() < count && System.nanoTime() < deadline) Thread.sleep(5);
        assertEquals(count, rxDriver.usedIdx(), "receive chains completed: the pump stopped taking frames");
    }

    private byte[] frameIn(Buffer buffer, int length) {
        return memory.read(buffer.address() + VirtioNet.HEADER_BYTES, length);
    }

    @Test
    void framesGoBothWaysAndAStalledPumpResumesOnTheGuestsNotify() throws Exception {
        activateAndStart();
        Buffer first = rxDriver.writable(BUFFER);
        rxDriver.add(first);
        pump.device().queueNotify(RX); // the driver's first buffers end the stall activation starts in
        link.offer(frame(60, 1));
        link.offer(frame(70, 2));
        awaitUsed(1);
        assertArrayEquals(frame(60, 1), frameIn(first, 60));
        assertTrue(pump.device().rxStalled(), "the second frame waits for a buffer");

        Buffer second = rxDriver.writable(BUFFER);
        rxDriver.add(second);
        pump.device().queueNotify(RX);
        awaitUsed(2);
        assertArrayEquals(frame(70, 2), frameIn(second, 70));
        Buffer third = rxDriver.writable(BUFFER);
        rxDriver.add(third);
        pump.device().queueNotify(RX);
        link.offer(frame(80, 3));
        awaitUsed(3);
        assertArrayEquals(frame(80, 3), frameIn(third, 80));

        byte[] out = frame(100, 4);
        byte[] withHeader = new byte[VirtioNet.HEADER_BYTES + out.length];
        System.arraycopy(out, 0, withHeader, VirtioNet.HEADER_BYTES, out.length);
        txDriver.add(txDriver.readable(withHeader));
        pump.device().queueNotify(TX);
        assertEquals(1, link.written().size());
        assertArrayEquals(out, link.written().getFirst());
        assertEquals(List.of(new Used(0, 12 + 60), new Used(1, 12 + 70), new Used(2, 12 + 80)), rxDriver.takeUsed());
    }

    /**
     * The race that stopped receive for good: the pump's pass runs out of guest buffers, and a
     * vCPU adds buffers and notifies after the pass released the device's lock but before the
     * pump acted on what the pass returned. The notify's pass drains the link and resumes the
     * device, so no later notify will come; if the pump then goes by the stall it was told about,
     * it never looks at the link again. The hook runs the vCPU's notify at the end of the pump's
     * pass, inside the lock (which is reentrant) but after the pass has changed all its state:
     * what the notify sees and does is what it would see and do right after the lock was
     * released, and the pump acts only after both.
     */
    @Test
    void aNotifyBetweenThePumpsPassAndItsNextStepIsNotLost() throws Exception {
        activateAndStart();
        Buffer only = rxDriver.writable(BUFFER);
        rxDriver.add(only);
        pump.device().queueNotify(RX);

        List<Buffer> added = new ArrayList<>();
        AtomicBoolean stalledWhenTheVcpuCame = new AtomicBoolean();
        CountDownLatch vcpuDone = new CountDownLatch(1);
        onNextRxPass.set(() -> {
            stalledWhenTheVcpuCame.set(pump.device().rxStalled());
            added.add(rxDriver.writable(BUFFER));
            added.add(rxDriver.writable(BUFFER));
            rxDriver.add(added.get(0));
            rxDriver.add(added.get(1));
            pump.device().queueNotify(RX);
            vcpuDone.countDown();
        });
        link.offer(frame(60, 1));
        assertTrue(vcpuDone.await(10, TimeUnit.SECONDS), "the pump's pass ran");
        assertTrue(stalledWhenTheVcpuCame.get(), "the pump's pass had stopped for want of buffers");
        assertEquals(1, rxDriver.usedIdx());
        assertArrayEquals(frame(60, 1), frameIn(only, 60));

        // No notify follows: the guest's buffers are there, so only the pump can deliver this frame.
        link.offer(frame(90, 2));
        awaitUsed(2);
        assertArrayEquals(frame(90, 2), frameIn(added.get(0), 90));
    }
}
