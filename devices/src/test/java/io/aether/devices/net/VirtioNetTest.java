package io.aether.devices.net;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.common.MacAddress;
import io.aether.devices.LineRecorder;
import io.aether.devices.RecordingInterrupt;
import io.aether.memory.GuestMemory;
import io.aether.memory.RegionSpec;
import io.aether.virtio.DeviceStatus;
import io.aether.virtio.MmioDriver;
import io.aether.virtio.MockDriver;
import io.aether.virtio.MockDriver.Buffer;
import io.aether.virtio.MockDriver.Used;
import io.aether.virtio.VirtioFeatures;
import io.aether.virtio.VirtioMmioTransport;
import io.aether.virtio.Virtqueue;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class VirtioNetTest {

    static final MacAddress MAC = MacAddress.parse("52:54:00:12:34:56");

    private final GuestMemory memory = GuestMemory.anonymous(List.of(RegionSpec.ram(0, 4 << 20)));
    private final MockDriver rxDriver = new MockDriver(memory, 16, 0x1000, 0x100000);
    private final MockDriver txDriver = new MockDriver(memory, 16, rxDriver.end(), 0x100000);
    private final FakeBackend backend = new FakeBackend();
    private final VirtioNet net = new VirtioNet(backend, VirtioNet.Options.of(MAC));
    private final RecordingInterrupt interrupt = new RecordingInterrupt();

    @AfterEach
    void close() {
        memory.close();
    }

    private void start() {
        Virtqueue rx = rxDriver.queue(16, VirtioFeatures.TRANSPORT);
        Virtqueue tx = txDriver.queue(16, VirtioFeatures.TRANSPORT);
        net.activate(memory, VirtioFeatures.TRANSPORT, List.of(rx, tx), interrupt);
    }

    static byte[] frame(int length, int seed) {
        byte[] f = new byte[length];
        for (int i = 0; i < length; i++) f[i] = (byte) (seed + i);
        return f;
    }

    private static byte[] withHeader(byte[] frame) {
        byte[] b = new byte[VirtioNet.HEADER_BYTES + frame.length];
        System.arraycopy(frame, 0, b, VirtioNet.HEADER_BYTES, frame.length);
        return b;
    }

    @Test
    void transmitsFramesWithoutTheHeader() {
        start();
        byte[] f1 = frame(60, 1);
        byte[] f2 = frame(1514, 2);
        int h1 = txDriver.add(txDriver.readable(withHeader(f1)));
        // Header alone, then the frame in three pieces.
        int h2 = txDriver.add(txDriver.readable(new byte[12]), txDriver.readable(Arrays.copyOfRange(f2, 0, 14)),
                txDriver.readable(Arrays.copyOfRange(f2, 14, 1000)), txDriver.readable(Arrays.copyOfRange(f2, 1000, 1514)));
        net.queueNotify(1);
        assertEquals(List.of(new Used(h1, 0), new Used(h2, 0)), txDriver.takeUsed());
        List<byte[]> sent = backend.sent();
        assertEquals(2, sent.size());
        assertArrayEquals(f1, sent.get(0));
        assertArrayEquals(f2, sent.get(1));
        VirtioNet.Counters c = net.counters();
        assertEquals(2, c.txPackets());
        assertEquals(60 + 1514, c.txBytes());
        assertEquals(1, interrupt.usedCalls(1));
    }

    @Test
    void badTransmitChainsAreDroppedAndCompleted() {
        start();
        txDriver.add(txDriver.readable(withHeader(frame(60, 0))), txDriver.writable(4)); // wrong direction
        txDriver.add(txDriver.readable(new byte[11]));                                  // short header
        txDriver.add(txDriver.readable(new byte[12]));                                  // empty frame
        txDriver.add(txDriver.readable(new byte[12 + VirtioNet.MAX_FRAME + 1]));        // too long
        net.queueNotify(1);
        List<Used> used = txDriver.takeUsed();
        assertEquals(4, used.size());
        assertTrue(used.stream().allMatch(u -> u.length() == 0));
        assertEquals(0, backend.sent().size());
        VirtioNet.Counters c = net.counters();
        assertEquals(4, c.faults());
        assertEquals(4, c.txDropped());
        // Still usable.
        txDriver.add(txDriver.readable(withHeader(frame(VirtioNet.MAX_FRAME, 0))));
        net.queueNotify(1);
        assertEquals(1, net.counters().txPackets());
    }

    @Test
    void backendSendFailuresAreCounted() {
        start();
        backend.failSend = true;
        txDriver.add(txDriver.readable(withHeader(frame(60, 0))));
        net.queueNotify(1);
        assertEquals(1, txDriver.takeUsed().size());
        assertEquals(1, net.counters().txErrors());
        assertEquals(1, net.counters().txDropped());
        assertEquals(0, net.counters().faults());
    }

    @Test
    void receivesFramesIntoGuestBuffers() {
        start();
        Buffer a = rxDriver.writable(100);
        Buffer b = rxDriver.writable(1526 - 100);
        int head = rxDriver.add(a, b);
        byte[] f = frame(1000, 9);
        backend.offer(f);
        assertTrue(net.processRx(), "stopped for lack of guest buffers after delivering");
        assertEquals(List.of(new Used(head, 12 + 1000)), rxDriver.takeUsed());
        byte[] header = memory.read(a.address(), 12);
        assertArrayEquals(new byte[] {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0}, header, "num_buffers = 1, no offloads");
        byte[] got = new byte[1000];
        memory.read(a.address() + 12, got, 0, 88);
        memory.read(b.address(), got, 88, 912);
        assertArrayEquals(f, got);
        assertEquals(1, net.counters().rxPackets());
        assertEquals(1000, net.counters().rxBytes());
        assertEquals(1, interrupt.usedCalls(0));
    }

    @Test
    void framesWaitInTheBackendUntilTheGuestAddsBuffers() {
        start();
        backend.offer(frame(60, 1));
        backend.offer(frame(70, 2));
        assertTrue(net.processRx());
        assertEquals(2, backend.waiting(), "nothing taken, nothing dropped");
        assertEquals(0, backend.receiveCalls());

        rxDriver.add(rxDriver.writable(1526));
        net.queueNotify(0);
        assertEquals(1, backend.waiting());
        assertEquals(0, backend.rxReadyCalls(), "still no buffers: stay stopped");

        rxDriver.add(rxDriver.writable(1526));
        rxDriver.add(rxDriver.writable(1526));
        net.queueNotify(0);
        assertEquals(0, backend.waiting());
        assertEquals(1, backend.rxReadyCalls(), "drained with a buffer to spare: resume the backend");
        assertEquals(List.of(72, 82), rxDriver.takeUsed().stream().map(Used::length).toList());
        assertEquals(0, net.counters().rxDropped());
        assertFalse(net.processRx(), "the backend is empty and a buffer is left");
    }

    @Test
    void aFrameTooBigForTheBufferIsDroppedAndTheBufferReused() {
        start();
        int head = rxDriver.add(rxDriver.writable(12 + 100));
        backend.offer(frame(200, 0));
        backend.offer(frame(50, 0));
        net.processRx();
        assertEquals(List.of(new Used(head, 62)), rxDriver.takeUsed());
        assertEquals(1, net.counters().rxDropped());
        assertEquals(1, net.counters().rxPackets());
    }

    @Test
    void aFloodOfFramesTooBigForTheGuestIsTakenABatchAtATime() {
        start();
        int head = rxDriver.add(rxDriver.writable(12 + 100));
        int flood = 3 * VirtioNet.RX_BATCH + 1;
        for (int i = 0; i < flood; i++) backend.offer(frame(101, i));
        assertFalse(net.processRx(), "a full batch: not stalled, call again");
        assertEquals(VirtioNet.RX_BATCH, backend.receiveCalls(), "dropped frames count against the batch");
        assertEquals(VirtioNet.RX_BATCH, net.counters().rxDropped());
        assertEquals(flood - VirtioNet.RX_BATCH, backend.waiting());
        assertEquals(List.of(), rxDriver.takeUsed(), "the guest's buffer is kept for a frame that fits");
        assertFalse(net.rxStalled());

        for (int call = 2; call <= 3; call++) {
            assertFalse(net.processRx());
            assertEquals(call * VirtioNet.RX_BATCH, backend.receiveCalls());
        }
        assertFalse(net.processRx());
        assertEquals(flood + 1, backend.receiveCalls(), "the last frame, then an empty backend");
        assertEquals(flood, net.counters().rxDropped());
        backend.offer(frame(100, 0));
        net.processRx();
        assertEquals(List.of(new Used(head, 12 + 100)), rxDriver.takeUsed());
        assertEquals(1, net.counters().rxPackets());
    }

    @Test
    void badChainsCountAgainstTheBatchToo() {
        // A queue larger than a batch, filled with chains the device must refuse.
        MockDriver bigRx = new MockDriver(memory, 1024, txDriver.end(), 0x100000);
        Virtqueue rx = bigRx.queue(1024, VirtioFeatures.TRANSPORT);
        net.activate(memory, VirtioFeatures.TRANSPORT, List.of(rx, txDriver.queue(16, VirtioFeatures.TRANSPORT)), interrupt);
        Buffer shortBuffer = bigRx.writable(11);
        for (int i = 0; i < 2 * VirtioNet.RX_BATCH + 5; i++) bigRx.add(shortBuffer);
        backend.offer(frame(60, 0));
        assertFalse(net.processRx());
        assertEquals(VirtioNet.RX_BATCH, bigRx.takeUsed().size());
        assertEquals(VirtioNet.RX_BATCH, net.counters().faults());
        assertFalse(net.processRx());
        assertTrue(net.processRx(), "the last 5, then no buffer left");
        assertEquals(VirtioNet.RX_BATCH + 5, bigRx.takeUsed().size());
        assertEquals(1, backend.waiting());
    }

    @Test
    void theStallIsTheDevicesStateAndANotifyClearsIt() {
        start();
        rxDriver.add(rxDriver.writable(1526));
        backend.offer(frame(60, 1));
        // The backend's watcher: a pass that runs out of guest buffers.
        assertTrue(net.processRx());
        // A vCPU, before the watcher acts on that answer: new buffers and a notify (nothing waiting).
        rxDriver.add(rxDriver.writable(1526));
        rxDriver.add(rxDriver.writable(1526));
        net.queueNotify(0);
        assertEquals(1, backend.rxReadyCalls());
        // The watcher now asks the device, not the answer it had: frames are wanted again.
        assertFalse(net.rxStalled());
        backend.offer(frame(70, 2));
        assertFalse(net.processRx(), "delivered, a buffer to spare");
        assertEquals(List.of(72, 82), rxDriver.takeUsed().stream().map(Used::length).toList());
    }

    @Test
    void badReceiveChainsAreFaults() {
        start();
        int h1 = rxDriver.add(rxDriver.readable(new byte[12]), rxDriver.writable(1526));
        int h2 = rxDriver.add(rxDriver.writable(11));
        backend.offer(frame(60, 0));
        assertTrue(net.processRx());
        assertEquals(List.of(new Used(h1, 0), new Used(h2, 0)), rxDriver.takeUsed());
        assertEquals(2, net.counters().faults());
        assertEquals(1, backend.waiting(), "the frame waits for a good buffer");
    }

    @Test
    void hostileRingsNeverReachTheDevice() {
        start();
        long buf = txDriver.alloc(64);
        txDriver.writeDescriptor(0, buf, 64, MockDriver.F_NEXT, 0); // loop
        txDriver.publish(0);
        txDriver.publish(16);                                       // head out of range
        txDriver.writeDescriptor(1, buf, 0xFFFF_FFFFL, 0, 0);       // huge length
        txDriver.publish(1);
        txDriver.writeDescriptor(2, buf, 64, MockDriver.F_NEXT, 200); // next out of range
        txDriver.publish(2);
        net.queueNotify(1);
        assertEquals(3, txDriver.takeUsed().size(), "bad chains completed, the bad head dropped");
        assertEquals(4, txDriver.availIdx());
        assertEquals(new VirtioNet.Counters(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), net.counters());
        // An available index far ahead stops the queue; the device itself stays sane.
        rxDriver.setAvailIdx(1000);
        backend.offer(frame(60, 0));
        assertTrue(net.processRx());
        assertEquals(1, backend.waiting());
        txDriver.add(txDriver.readable(withHeader(frame(60, 0))));
        net.queueNotify(1);
        assertEquals(1, net.counters().txPackets());
    }

    @Test
    void notRunningTakesNothing() {
        backend.offer(frame(60, 0));
        assertTrue(net.processRx());
        assertEquals(0, backend.receiveCalls());
        net.queueNotify(0);
        net.queueNotify(1);
        start();
        net.reset();
        assertTrue(net.processRx());
        assertEquals(1, backend.waiting());
    }

    @Test
    void configAndFeatures() {
        byte[] config = new byte[12];
        net.readConfig(0, config);
        assertArrayEquals(new byte[] {0x52, 0x54, 0, 0x12, 0x34, 0x56, 1, 0, 1, 0, 0, 0}, config);
        assertEquals(VirtioNet.F_MAC | VirtioNet.F_STATUS, net.deviceFeatures());
        VirtioNet jumbo = new VirtioNet(backend, new VirtioNet.Options(MAC, 9000, 256));
        assertEquals(VirtioNet.F_MAC | VirtioNet.F_STATUS | VirtioNet.F_MTU, jumbo.deviceFeatures());
        byte[] mtu = new byte[2];
        jumbo.readConfig(10, mtu);
        assertArrayEquals(new byte[] {(byte) 0x28, 0x23}, mtu);
        assertThrows(IllegalArgumentException.class, () -> new VirtioNet.Options(MAC, 67, 256));
        assertThrows(IllegalArgumentException.class, () -> new VirtioNet.Options(MAC, 0, 3));
    }

    @Test
    void macAddresses() {
        assertEquals("52:54:00:12:34:56", MAC.toString());
        assertEquals(MAC, MacAddress.parse("52-54-00-12-34-56"));
        assertArrayEquals(new byte[] {0x52, 0x54, 0, 0x12, 0x34, 0x56}, MAC.octets());
        assertThrows(IllegalArgumentException.class, () -> MacAddress.parse("01:00:5e:00:00:01")); // multicast
        assertThrows(IllegalArgumentException.class, () -> MacAddress.parse("52:54:00:12:34"));
        assertThrows(IllegalArgumentException.class, () -> MacAddress.parse("52:54:00:12:34:zz"));
        assertThrows(IllegalArgumentException.class, () -> new MacAddress(1L << 48));
    }

    @Test
    void worksThroughTheMmioTransport() {
        LineRecorder irq = new LineRecorder();
        VirtioMmioTransport transport = new VirtioMmioTransport(net, memory, irq);
        MmioDriver mmio = new MmioDriver(transport);
        assertEquals(1, mmio.read(MmioDriver.DEVICE_ID));
        long offered = mmio.deviceFeatures();
        assertEquals(VirtioFeatures.TRANSPORT | VirtioNet.F_MAC | VirtioNet.F_STATUS, offered);
        int status = mmio.start(offered, rxDriver, txDriver);
        assertEquals(DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER | DeviceStatus.FEATURES_OK | DeviceStatus.DRIVER_OK, status);
        assertArrayEquals(MAC.octets(), Arrays.copyOf(concat(mmio.readConfig(0, 4), mmio.readConfig(4, 2)), 6));

        rxDriver.add(rxDriver.writable(1526));
        mmio.notifyQueue(0);
        assertEquals(1, backend.rxReadyCalls(), "buffers arrived while stopped, backend empty: resume");
        backend.offer(frame(60, 3));
        assertTrue(net.processRx());
        assertTrue(irq.high());
        assertEquals(1, mmio.acknowledgeInterrupt());
        assertEquals(72, rxDriver.takeUsed().getFirst().length());

        txDriver.add(txDriver.readable(withHeader(frame(42, 5))));
        mmio.notifyQueue(1);
        assertTrue(irq.high());
        assertEquals(1, mmio.acknowledgeInterrupt());
        assertFalse(irq.high());
        assertArrayEquals(frame(42, 5), backend.sent().getFirst());
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    @Test
    void aBackendThreadAndTheDriverShareTheDevice() throws Exception {
        LineRecorder irq = new LineRecorder();
        VirtioMmioTransport transport = new VirtioMmioTransport(net, memory, irq);
        MmioDriver mmio = new MmioDriver(transport);
        mmio.start(VirtioFeatures.TRANSPORT | VirtioNet.F_MAC, rxDriver, txDriver);
        int frames = 300;
        for (int i = 0; i < frames; i++) backend.offer(frame(64 + i % 100, i));

        AtomicBoolean done = new AtomicBoolean();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread pump = Thread.ofPlatform().start(() -> {
            try {
                while (!done.get()) {
                    net.processRx();
                    Thread.yield();
                }
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        List<Integer> lengths = new ArrayList<>();
        int outstanding = 0;
        for (int round = 0; lengths.size() < frames && round < 5_000_000 && failure.get() == null; round++) {
            while (outstanding < 8) {
                rxDriver.add(rxDriver.writable(1526));
                outstanding++;
            }
            mmio.notifyQueue(0);
            for (Used u : rxDriver.takeUsed()) {
                lengths.add(u.length());
                outstanding--;
            }
            if (round % 16 == 0 && round < 800) {
                txDriver.add(txDriver.readable(withHeader(frame(60, round))));
                mmio.notifyQueue(1);
                txDriver.takeUsed();
            }
            mmio.acknowledgeInterrupt();
        }
        done.set(true);
        pump.join();
        assertNull(failure.get());
        List<Integer> expected = new ArrayList<>();
        for (int i = 0; i < frames; i++) expected.add(12 + 64 + i % 100);
        assertEquals(expected, lengths, "every frame once, in order");
        assertEquals(frames, net.counters().rxPackets());
        assertEquals(0, net.counters().rxDropped() + net.counters().faults());
        assertEquals(0, transport.counters().deviceErrors());
    }
}
