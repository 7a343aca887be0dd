package io.aether.devices.net;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.devices.RecordingInterrupt;
import io.aether.devices.ratelimit.ManualClock;
import io.aether.devices.ratelimit.Throttle;
import io.aether.memory.GuestMemory;
import io.aether.memory.RegionSpec;
import io.aether.virtio.MockDriver;
import io.aether.virtio.VirtioFeatures;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class VirtioNetRateLimitTest {

    private static final long MS = 1_000_000;

    private final GuestMemory memory = GuestMemory.anonymous(List.of(RegionSpec.ram(0, 4 << 20)));
    private final MockDriver rxDriver = new MockDriver(memory, 16, 0x1000, 0x100000);
    private final MockDriver txDriver = new MockDriver(memory, 16, rxDriver.end(), 0x100000);
    private final FakeBackend backend = new FakeBackend();
    private final RecordingInterrupt interrupt = new RecordingInterrupt();
    private final ManualClock clock = new ManualClock();

    @AfterEach
    void close() {
        memory.close();
    }

    private VirtioNet start(Throttle rx, Throttle tx) {
        VirtioNet net = new VirtioNet(backend, VirtioNet.Options.of(VirtioNetTest.MAC), rx, tx);
        net.activate(memory, VirtioFeatures.TRANSPORT,
                List.of(rxDriver.queue(16, VirtioFeatures.TRANSPORT), txDriver.queue(16, VirtioFeatures.TRANSPORT)), interrupt);
        return net;
    }

    private void send(int length, int seed) {
        byte[] chain = new byte[VirtioNet.HEADER_BYTES + length];
        System.arraycopy(VirtioNetTest.frame(length, seed), 0, chain, VirtioNet.HEADER_BYTES, length);
        txDriver.add(txDriver.readable(chain));
    }

    @Test
    void transmitOverTheBandwidthWaitsForTheRetry() {
        VirtioNet net = start(Throttle.NONE, clock.throttle(10_000, 2_000, 0, 0)); // 10 kB/s, 2 kB at once
        send(1500, 1);
        send(1500, 2);
        send(100, 3);
        net.queueNotify(1);
        assertEquals(1, backend.sent().size(), "1500 of 2000 spent; the next 1500 must wait");
        assertEquals(1, txDriver.takeUsed().size());
        assertEquals(100 * MS, clock.nextIn(), "1000 bytes short at 10 bytes/ms");
        clock.advance(100 * MS);
        assertEquals(2, backend.sent().size(), "the retry sent it");
        clock.advance(clock.nextIn());
        List<byte[]> sent = backend.sent();
        assertEquals(3, sent.size());
        assertArrayEquals(VirtioNetTest.frame(100, 3), sent.get(2), "in order, whole");
        VirtioNet.Counters c = net.counters();
        assertEquals(3, c.txPackets());
        assertEquals(0, c.txDropped() + c.faults());
        assertEquals(2, c.txThrottled());
        assertEquals(0, c.rxThrottled());
    }

    @Test
    void receiveOverThePacketRateStallsUntilTheRetryThenTellsTheBackend() {
        VirtioNet net = start(clock.throttle(0, 0, 2, 2), Throttle.NONE); // 2 frames a second
        for (int i = 0; i < 4; i++) rxDriver.add(rxDriver.writable(VirtioNet.HEADER_BYTES + 100));
        for (int i = 0; i < 3; i++) backend.offer(VirtioNetTest.frame(60, i));
        assertTrue(net.processRx(), "stopped: over the budget, not for want of frames");
        assertTrue(net.rxStalled(), "the pump parks instead of spinning");
        assertEquals(2, rxDriver.takeUsed().size());
        assertEquals(1, backend.waiting(), "the third frame waits in the backend, not dropped");
        int ready = backend.rxReadyCalls();
        clock.advance(clock.nextIn());
        assertEquals(1, rxDriver.takeUsed().size(), "the retry delivered it");
        assertEquals(0, backend.waiting());
        assertTrue(net.rxStalled(), "the token it refilled is spent: held again, with the fourth chain still there");
        assertEquals(ready, backend.rxReadyCalls());
        clock.advance(clock.nextIn());
        assertFalse(net.rxStalled(), "the backend is empty and receive runs again");
        assertEquals(ready + 1, backend.rxReadyCalls(), "and the backend is told so");
        backend.offer(VirtioNetTest.frame(60, 9));
        assertTrue(net.processRx(), "delivered into the fourth chain, then out of chains");
        assertEquals(1, rxDriver.takeUsed().size(), "the operation given back when no frame came let this one through at once");
        VirtioNet.Counters c = net.counters();
        assertEquals(4, c.rxPackets());
        assertEquals(0, c.rxDropped() + c.faults());
        assertEquals(2, c.rxThrottled());
    }
}
