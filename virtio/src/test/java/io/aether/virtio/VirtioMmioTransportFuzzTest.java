package io.aether.virtio;

import static io.aether.testkit.Gen.weighted;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.memory.GuestMemory;
import io.aether.memory.RegionSpec;
import io.aether.testkit.Gen;
import io.aether.testkit.Property;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Fuzz target for the virtio-mmio register file: random sequences of accesses (any offset, size
 * and value), optionally after a well-behaved driver start, with random ring contents. Nothing
 * may escape, the interrupt line must follow InterruptStatus, and the status must stay a set of
 * defined bits.
 */
class VirtioMmioTransportFuzzTest {

    record Access(boolean write, long offset, int size, long value) {
    }

    private static final Long[] REGISTERS = {0x000L, 0x004L, 0x008L, 0x00cL, 0x010L, 0x014L, 0x020L, 0x024L, 0x030L, 0x034L, 0x038L,
        0x044L, 0x050L, 0x060L, 0x064L, 0x070L, 0x080L, 0x084L, 0x090L, 0x094L, 0x0a0L, 0x0a4L, 0x0acL, 0x0b0L, 0x0fcL, 0x100L, 0x104L};

    @Test
    void registerFileSurvivesAnyAccesses() {
        Property.forAll(accesses(), Gen.booleans(), ringBytes()).tries(300).check(VirtioMmioTransportFuzzTest::survives);
    }

    private static void survives(List<Access> accesses, boolean startFirst, byte[] ringNoise) {
        try (GuestMemory memory = GuestMemory.anonymous(List.of(RegionSpec.ram(0, 0x40000)))) {
            List<Boolean> line = new ArrayList<>();
            LoopbackDevice device = new LoopbackDevice();
            VirtioMmioTransport transport = new VirtioMmioTransport(device, memory, line::add);
            MmioDriver driver = new MmioDriver(transport);
            if (startFirst) {
                MockDriver q0 = new MockDriver(memory, 16, 0x1000, 0x4000);
                MockDriver q1 = new MockDriver(memory, 16, q0.end(), 0x4000);
                driver.start(VirtioFeatures.TRANSPORT, q0, q1);
                q0.add(q0.readable(new byte[] {1, 2, 3}), q0.writable(3));
                // Random bytes over the rings and descriptor table of queue 1.
                memory.write(q1.descTable(), ringNoise);
            }
            for (Access a : accesses) {
                byte[] data = new byte[a.size()];
                for (int i = 0; i < data.length; i++) data[i] = (byte) (a.value() >>> (8 * (i % 8)));
                if (a.write()) transport.write(a.offset(), data);
                else transport.read(a.offset(), data);
                int interruptStatus = transport.interruptStatus();
                boolean high = !line.isEmpty() && line.getLast();
                assertEquals(interruptStatus != 0, high, "line follows InterruptStatus");
                assertEquals(0, transport.status() & ~0xCF, "only defined status bits");
            }
            VirtioMmioTransport.Counters c = transport.counters();
            assertEquals(0, c.deviceErrors());
            for (QueueCounters qc : transport.queueCounters()) {
                long perChain = qc.faults().entrySet().stream().filter(e -> e.getKey().perChain()).mapToLong(e -> e.getValue()).sum();
                assertEquals(qc.taken(), qc.chains() + perChain);
            }
            assertTrue(c.ignoredAccesses() >= 0 && c.notifications() >= 0);
        }
    }

    private static Gen<byte[]> ringBytes() {
        return Gen.bytes(16 * 16 + 40, 16 * 16 + 40);
    }

    private static Gen<List<Access>> accesses() {
        Gen<Long> offset = Gen.frequency(
                weighted(8, Gen.choose(REGISTERS)),
                weighted(1, Gen.longs(0, 0x200)),
                weighted(1, Gen.longs()));
        Gen<Integer> size = Gen.frequency(weighted(8, Gen.constant(4)), weighted(1, Gen.choose(1, 2, 3, 8)));
        Gen<Long> value = Gen.frequency(
                weighted(4, Gen.longs(0, 20)),
                weighted(2, Gen.choose(0x1000L, 0x2000L, 0x3000L, 15L, 16L, 0xFFL, 0x8FL)),
                weighted(1, Gen.longs()));
        Gen<Boolean> write = Gen.booleans();
        return Gen.lists(r -> new Access(write.next(r), offset.next(r), size.next(r), value.next(r)), 0, 120);
    }
}
