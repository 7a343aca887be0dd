package io.aether.virtio;

import static io.aether.testkit.Gen.weighted;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.memory.GuestMemory;
import io.aether.memory.RegionSpec;
import io.aether.testkit.Coverage;
import io.aether.testkit.Gen;
import io.aether.testkit.Property;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Fuzz target for the split virtqueue: random descriptor tables, indirect tables, available
 * rings and indices, replayed through {@link Virtqueue#pop()} / {@link Virtqueue#addUsed}. The
 * queue must never throw, must only hand out buffers inside guest memory, and its counters must
 * add up. Seeded with well-formed chains built by the mock driver.
 */
class VirtqueueFuzzTest {

    static final long MEMORY = 0x20000;
    static final long BASE = 0x1000;
    static final long DATA = 0x8000;
    static final long TABLE = 0x10000;

    record RawDesc(long address, long length, int flags, int next) {
    }

    record Scenario(int size, long features, List<RawDesc> table, List<RawDesc> indirect, List<Integer> heads,
                    int availIdx, int usedEvent, int availFlags) {
    }

    @Test
    void queueSurvivesAnyRingContents() {
        Coverage coverage = new Coverage();
        Property.forAll(scenarios()).tries(400).check(s -> {
            QueueCounters c = check(s);
            coverage.collect("valid chains", c.chains() > 0);
            coverage.collect("faults", c.totalFaults() > 0);
        });
        // The generators must produce valid chains as well as faults.
        coverage.require("valid chains", 30);
        coverage.require("faults", 20);
    }

    @Test
    void wellFormedChainsPass() {
        List<RawDesc> table = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            boolean chained = i % 2 == 0;
            table.add(new RawDesc(DATA + 64L * i, 64, (chained ? MockDriver.F_NEXT : MockDriver.F_WRITE), i + 1));
        }
        table.set(7, new RawDesc(TABLE, 32, MockDriver.F_INDIRECT, 0));
        List<RawDesc> indirect = List.of(new RawDesc(DATA, 16, MockDriver.F_NEXT, 1), new RawDesc(DATA + 16, 16, MockDriver.F_WRITE, 0));
        Scenario s = new Scenario(8, VirtioFeatures.TRANSPORT, table, indirect, List.of(0, 2, 4, 7, 0, 0, 0, 0), 4, 0, 0);
        QueueCounters c = check(s);
        assertEquals(4, c.chains());
        assertEquals(0, c.totalFaults());
    }

    @Test
    void hostileRingIsContained() {
        List<RawDesc> table = List.of(new RawDesc(DATA, 8, MockDriver.F_NEXT, 1), new RawDesc(DATA, 8, MockDriver.F_NEXT, 0),
                new RawDesc(-1L, 0xFFFF_FFFFL, 0, 0), new RawDesc(DATA, 8, MockDriver.F_WRITE | MockDriver.F_NEXT, 3));
        Scenario s = new Scenario(4, VirtioFeatures.TRANSPORT, table, List.of(), List.of(0, 2, 3, 9), 4, 0, 0);
        QueueCounters c = check(s);
        assertEquals(0, c.chains());
        assertEquals(4, c.totalFaults());
    }

    private static QueueCounters check(Scenario s) {
        try (GuestMemory memory = GuestMemory.anonymous(List.of(RegionSpec.ram(0, MEMORY)))) {
            MockDriver d = new MockDriver(memory, s.size(), BASE, 0x1000);
            for (int i = 0; i < s.table().size(); i++) {
                RawDesc r = s.table().get(i);
                d.writeDescriptor(i, r.address(), r.length(), r.flags(), r.next());
            }
            for (int i = 0; i < s.indirect().size(); i++) {
                RawDesc r = s.indirect().get(i);
                d.writeDescriptorAt(TABLE, i, r.address(), r.length(), r.flags(), r.next());
            }
            for (int i = 0; i < s.size(); i++) memory.writeShort(d.availRing() + 4 + 2L * i, s.heads().get(i).shortValue());
            d.setAvailFlags(s.availFlags());
            d.setUsedEvent(s.usedEvent());
            d.setAvailIdx(s.availIdx());
            Virtqueue q = d.queue(s.size(), s.features());

            int popped = 0;
            for (DescriptorChain chain; (chain = q.pop()) != null; ) {
                popped++;
                assertTrue(popped <= s.size(), "more chains than published");
                for (Descriptor desc : chain.readable()) assertTrue(memory.contains(desc.address(), desc.length()));
                for (Descriptor desc : chain.writable()) assertTrue(memory.contains(desc.address(), desc.length()));
                long n = Math.min(chain.writableLength(), 64);
                if (n > 0) chain.write(0, new byte[(int) n], 0, (int) n);
                q.addUsed(chain, n);
            }
            q.needsInterrupt();

            QueueCounters c = q.counters();
            long perChain = c.faults().entrySet().stream().filter(e -> e.getKey().perChain()).mapToLong(e -> e.getValue()).sum();
            assertEquals(c.taken(), c.chains() + perChain);
            assertEquals(popped, c.chains());
            int pending = s.availIdx() & 0xFFFF;
            if (pending <= s.size()) {
                assertEquals(pending, c.taken());
                assertEquals(c.taken() - c.faults(QueueFault.HEAD_OUT_OF_RANGE), c.used());
                assertEquals(c.used() & 0xFFFF, d.usedIdx());
            } else {
                assertEquals(1, c.faults(QueueFault.AVAIL_INDEX_JUMP));
                assertTrue(q.broken());
            }
            return c;
        }
    }

    private static Gen<Scenario> scenarios() {
        return Gen.frequency(weighted(1, random()), weighted(1, wellFormed()));
    }

    /** Chains as a driver builds them: 1 to 3 descriptors, readable before writable, in the data area. */
    private static Gen<Scenario> wellFormed() {
        return Gen.choose(4, 8, 16).flatMap(size -> {
            Gen<Integer> perChain = Gen.ints(1, 3);
            Gen<Integer> readable = Gen.ints(0, 3);
            Gen<Long> length = Gen.longs(0, 512);
            Gen<Integer> count = Gen.ints(1, size);
            return r -> wellFormed(size, perChain.next(r), readable.next(r), length.next(r), count.next(r));
        });
    }

    private static Scenario wellFormed(int size, int perChain, int readable, long length, int count) {
        List<RawDesc> table = new ArrayList<>();
        List<Integer> heads = new ArrayList<>();
        for (int i = 0; i < size; i++) {
            int inChain = i % perChain;
            boolean last = inChain == perChain - 1 || i == size - 1;
            if (inChain == 0) heads.add(i);
            int flags = (inChain >= readable ? MockDriver.F_WRITE : 0) | (last ? 0 : MockDriver.F_NEXT);
            table.add(new RawDesc(DATA + 512L * (i % 8), length, flags, last ? 0 : i + 1));
        }
        while (heads.size() < size) heads.add(0);
        int published = Math.min(count, (size + perChain - 1) / perChain);
        return new Scenario(size, VirtioFeatures.TRANSPORT, table, List.of(), heads, published, 0, 0);
    }

    private static Gen<Scenario> random() {
        return Gen.choose(1, 2, 4, 8, 16).flatMap(size -> {
            Gen<Long> features = Gen.choose(VirtioFeatures.VERSION_1, VirtioFeatures.TRANSPORT,
                    VirtioFeatures.VERSION_1 | VirtioFeatures.RING_INDIRECT_DESC);
            Gen<List<RawDesc>> table = Gen.lists(descriptor(size), size, size);
            Gen<List<RawDesc>> indirect = Gen.lists(descriptor(8), 0, 10);
            Gen<List<Integer>> heads = Gen.lists(
                    Gen.frequency(weighted(8, Gen.ints(0, size - 1)), weighted(1, Gen.ints(0, 0xFFFF))), size, size);
            Gen<Integer> availIdx = Gen.frequency(weighted(8, Gen.ints(1, size)), weighted(1, Gen.ints(0, 0xFFFF)));
            Gen<Integer> usedEvent = Gen.ints(0, 0xFFFF);
            Gen<Integer> availFlags = Gen.choose(0, 1);
            return r -> new Scenario(size, features.next(r), table.next(r), indirect.next(r), heads.next(r), availIdx.next(r),
                    usedEvent.next(r), availFlags.next(r));
        });
    }

    private static Gen<RawDesc> descriptor(int tableSize) {
        Gen<Long> address = Gen.frequency(
                weighted(6, Gen.longs(DATA, DATA + 0x1000)),
                weighted(2, Gen.constant(TABLE)),
                weighted(1, Gen.longs(MEMORY - 64, MEMORY + 64)),
                weighted(1, Gen.longs()));
        Gen<Long> length = Gen.frequency(
                weighted(6, Gen.longs(0, 256)),
                weighted(2, Gen.choose(16L, 32L, 160L, 17L)),
                weighted(1, Gen.constant(0xFFFF_FFFFL)),
                weighted(1, Gen.longs(0, 0xFFFF_FFFFL)));
        Gen<Integer> flags = Gen.ints(0, 7);
        Gen<Integer> next = Gen.frequency(weighted(8, Gen.ints(0, tableSize - 1)), weighted(1, Gen.ints(0, 0xFFFF)));
        return r -> new RawDesc(address.next(r), length.next(r), flags.next(r), next.next(r));
    }
}
