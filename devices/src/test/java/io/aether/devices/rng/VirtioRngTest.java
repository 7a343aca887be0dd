package io.aether.devices.rng;

import static io.aether.testkit.Gen.weighted;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.devices.LineRecorder;
import io.aether.devices.RecordingInterrupt;
import io.aether.memory.GuestMemory;
import io.aether.memory.RegionSpec;
import io.aether.testkit.Gen;
import io.aether.testkit.Property;
import io.aether.virtio.DeviceStatus;
import io.aether.virtio.MmioDriver;
import io.aether.virtio.MockDriver;
import io.aether.virtio.MockDriver.Buffer;
import io.aether.virtio.MockDriver.Used;
import io.aether.virtio.VirtioFeatures;
import io.aether.virtio.VirtioMmioTransport;
import io.aether.virtio.Virtqueue;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class VirtioRngTest {

    /** Counts up from 1: easy to recognise in guest memory. */
    static final class CountingSource implements EntropySource {
        int next = 1;

        @Override
        public void fill(byte[] buffer) {
            for (int i = 0; i < buffer.length; i++) buffer[i] = (byte) next++;
        }
    }

    private final GuestMemory memory = GuestMemory.anonymous(List.of(RegionSpec.ram(0, 1 << 20)));
    private final MockDriver driver = new MockDriver(memory, 16, 0x1000, 0x60000);
    private final VirtioRng rng = new VirtioRng(new CountingSource());
    private final RecordingInterrupt interrupt = new RecordingInterrupt();

    @AfterEach
    void close() {
        memory.close();
    }

    private void start() {
        Virtqueue q = driver.queue(16, VirtioFeatures.TRANSPORT);
        rng.activate(memory, VirtioFeatures.TRANSPORT, List.of(q), interrupt);
    }

    @Test
    void fillsWritableBuffersFromTheSource() {
        start();
        Buffer a = driver.writable(3);
        Buffer b = driver.writable(2);
        int head = driver.add(a, b);
        rng.queueNotify(0);
        assertEquals(List.of(new Used(head, 5)), driver.takeUsed());
        assertArrayEquals(new byte[] {1, 2, 3}, memory.read(a.address(), 3));
        assertArrayEquals(new byte[] {4, 5}, memory.read(b.address(), 2));
        assertEquals(new VirtioRng.Counters(1, 5, 0), rng.counters());
        assertEquals(1, interrupt.usedCalls(0));
    }

    @Test
    void requestsAreCappedAt64KiB() {
        start();
        Buffer big = driver.writable(100_000);
        driver.add(big);
        rng.queueNotify(0);
        assertEquals(VirtioRng.MAX_BYTES_PER_REQUEST, driver.takeUsed().getFirst().length());
        assertEquals(0, memory.readByte(big.address() + VirtioRng.MAX_BYTES_PER_REQUEST), "nothing past the cap");
    }

    @Test
    void readableBuffersAreAFault() {
        start();
        int head = driver.add(driver.readable(new byte[4]), driver.writable(4));
        int head2 = driver.add(driver.readable(new byte[4]));
        rng.queueNotify(0);
        assertEquals(List.of(new Used(head, 0), new Used(head2, 0)), driver.takeUsed());
        assertEquals(2, rng.counters().faults());
        // Still usable.
        driver.add(driver.writable(1));
        rng.queueNotify(0);
        assertEquals(1, rng.counters().requests());
    }

    @Test
    void hostileRingsNeverReachTheDevice() {
        start();
        long buf = driver.alloc(64);
        driver.writeDescriptor(0, buf, 64, MockDriver.F_WRITE | MockDriver.F_NEXT, 0); // loop
        driver.publish(0);
        driver.publish(99);                                                             // head out of range
        driver.writeDescriptor(1, -64, 64, MockDriver.F_WRITE, 0);                      // outside memory
        driver.publish(1);
        rng.queueNotify(0);
        assertEquals(List.of(new Used(0, 0), new Used(1, 0)), driver.takeUsed());
        assertEquals(new VirtioRng.Counters(0, 0, 0), rng.counters());
        driver.add(driver.writable(8));
        rng.queueNotify(0);
        assertEquals(new VirtioRng.Counters(1, 8, 0), rng.counters());
    }

    @Test
    void queueSizeIsValidated() {
        assertThrows(IllegalArgumentException.class, () -> new VirtioRng(new CountingSource(), 0));
        assertThrows(IllegalArgumentException.class, () -> new VirtioRng(new CountingSource(), 100));
    }

    @Test
    void theKernelsSourceGivesVaryingBytes() {
        EntropySource s = EntropySource.urandom();
        byte[] a = new byte[32];
        byte[] b = new byte[32];
        s.fill(a);
        s.fill(b);
        assertFalse(java.util.Arrays.equals(a, b));
    }

    @Test
    void servesRequestsThroughTheMmioTransport() {
        LineRecorder irq = new LineRecorder();
        VirtioMmioTransport transport = new VirtioMmioTransport(rng, memory, irq);
        MmioDriver mmio = new MmioDriver(transport);
        assertEquals(4, mmio.read(MmioDriver.DEVICE_ID));
        int status = mmio.start(VirtioFeatures.VERSION_1, driver);
        assertEquals(DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER | DeviceStatus.FEATURES_OK | DeviceStatus.DRIVER_OK, status);
        Buffer b = driver.writable(16);
        driver.add(b);
        mmio.notifyQueue(0);
        assertTrue(irq.high());
        assertEquals(1, mmio.acknowledgeInterrupt());
        assertFalse(irq.high());
        assertEquals(16, driver.takeUsed().getFirst().length());
        assertEquals(1, memory.readByte(b.address()));
        assertArrayEquals(new byte[1], mmio.readConfig(0, 1));
        assertEquals(1, transport.counters().ignoredAccesses(), "no config space");
    }

    record Chain(List<Integer> lengths, List<Boolean> writable, boolean outside) {
    }

    @Test
    void rngSurvivesAnyChains() {
        Property.forAll(chains()).tries(200).check(VirtioRngTest::survives);
    }

    private static void survives(List<Chain> chains) {
        try (GuestMemory mem = GuestMemory.anonymous(List.of(RegionSpec.ram(0, 4 << 20)))) {
            MockDriver d = new MockDriver(mem, 16, 0x1000, 3 << 20);
            Virtqueue q = d.queue(16, VirtioFeatures.TRANSPORT);
            VirtioRng device = new VirtioRng(new CountingSource());
            device.activate(mem, VirtioFeatures.TRANSPORT, List.of(q), new RecordingInterrupt());
            for (Chain c : chains) {
                Buffer[] buffers = new Buffer[c.lengths().size()];
                for (int i = 0; i < buffers.length; i++) {
                    int len = c.lengths().get(i);
                    buffers[i] = c.writable().get(i) ? d.writable(len) : d.readable(new byte[len]);
                }
                if (c.outside()) buffers[0] = new Buffer(-4096, 4096, true);
                d.add(buffers);
                device.queueNotify(0);
                List<Used> used = d.takeUsed();
                assertEquals(1, used.size());
                assertTrue(used.getFirst().length() <= VirtioRng.MAX_BYTES_PER_REQUEST);
            }
            VirtioRng.Counters c = device.counters();
            assertEquals(q.counters().chains(), c.requests() + c.faults());
            assertTrue(c.bytes() <= c.requests() * VirtioRng.MAX_BYTES_PER_REQUEST);
        }
    }

    @Test
    void linuxHwRngReads() {
        survives(List.of(new Chain(List.of(64), List.of(true), false), new Chain(List.of(16, 16), List.of(true, true), false)));
    }

    private static Gen<List<Chain>> chains() {
        Gen<Integer> length = Gen.frequency(weighted(5, Gen.choose(0, 1, 16, 64, 4096)), weighted(1, Gen.ints(0, 70_000)));
        Gen<Boolean> writable = Gen.frequency(weighted(5, Gen.constant(true)), weighted(1, Gen.constant(false)));
        Gen<Boolean> outside = Gen.frequency(weighted(9, Gen.constant(false)), weighted(1, Gen.constant(true)));
        Gen<Chain> chain = Gen.ints(1, 4).flatMap(n -> {
            Gen<List<Integer>> lengths = Gen.lists(length, n, n);
            Gen<List<Boolean>> directions = Gen.lists(writable, n, n);
            return r -> new Chain(lengths.next(r), directions.next(r), outside.next(r));
        });
        return Gen.lists(chain, 1, 6);
    }
}
