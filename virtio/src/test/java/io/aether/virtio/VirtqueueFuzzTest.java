package io.aether.virtio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.memory.GuestMemory;
import io.aether.memory.RegionSpec;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.statistics.Statistics;

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

    @Property(tries = 400)
    void queueSurvivesAnyRingContents(@ForAll("scenarios") Scenario s) {
        QueueCounters c = check(s);
        // The generators must produce valid chains as well as faults.
        Statistics.label("valid chains").collect(c.chains() > 0);
        Statistics.label("faults").collect(c.totalFaults() > 0);
        Statistics.label("valid chains").coverage(k -> k.check(true).percentage(p -> p > 30));
        Statistics.label("faults").coverage(k -> k.check(true).percentage(p -> p > 20));
    }

    @Example
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

    @Example
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

    @Provide
    Arbitrary<Scenario> scenarios() {
        return Arbitraries.frequencyOf(Tuple.of(1, random()), Tuple.of(1, wellFormed()));
    }

    /** Chains as a driver builds them: 1 to 3 descriptors, readable before writable, in the data area. */
    private static Arbitrary<Scenario> wellFormed() {
        return Arbitraries.of(4, 8, 16).flatMap(size -> Combinators.combine(
                Arbitraries.integers().between(1, 3),
                Arbitraries.integers().between(0, 3),
                Arbitraries.longs().between(0, 512),
                Arbitraries.integers().between(1, size))
                .as((perChain, readable, length, count) -> {
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
                }));
    }

    private static Arbitrary<Scenario> random() {
        return Arbitraries.of(1, 2, 4, 8, 16).flatMap(size -> Combinators.combine(
                Arbitraries.of(VirtioFeatures.VERSION_1, VirtioFeatures.TRANSPORT, VirtioFeatures.VERSION_1 | VirtioFeatures.RING_INDIRECT_DESC),
                descriptor(size).list().ofSize(size),
                descriptor(8).list().ofMaxSize(10),
                Arbitraries.frequencyOf(Tuple.of(8, Arbitraries.integers().between(0, size - 1)),
                        Tuple.of(1, Arbitraries.integers().between(0, 0xFFFF))).list().ofSize(size),
                Arbitraries.frequencyOf(Tuple.of(8, Arbitraries.integers().between(1, size)),
                        Tuple.of(1, Arbitraries.integers().between(0, 0xFFFF))),
                Arbitraries.integers().between(0, 0xFFFF),
                Arbitraries.of(0, 1))
                .as((f, table, indirect, heads, idx, usedEvent, flags) -> new Scenario(size, f, table, indirect, heads, idx, usedEvent, flags)));
    }

    private static Arbitrary<RawDesc> descriptor(int tableSize) {
        Arbitrary<Long> address = Arbitraries.frequencyOf(
                Tuple.of(6, Arbitraries.longs().between(DATA, DATA + 0x1000)),
                Tuple.of(2, Arbitraries.just(TABLE)),
                Tuple.of(1, Arbitraries.longs().between(MEMORY - 64, MEMORY + 64)),
                Tuple.of(1, Arbitraries.longs()));
        Arbitrary<Long> length = Arbitraries.frequencyOf(
                Tuple.of(6, Arbitraries.longs().between(0, 256)),
                Tuple.of(2, Arbitraries.of(16L, 32L, 160L, 17L)),
                Tuple.of(1, Arbitraries.just(0xFFFF_FFFFL)),
                Tuple.of(1, Arbitraries.longs().between(0, 0xFFFF_FFFFL)));
        Arbitrary<Integer> next = Arbitraries.frequencyOf(
                Tuple.of(8, Arbitraries.integers().between(0, tableSize - 1)),
                Tuple.of(1, Arbitraries.integers().between(0, 0xFFFF)));
        return Combinators.combine(address, length, Arbitraries.integers().between(0, 7), next).as(RawDesc::new);
    }
}
