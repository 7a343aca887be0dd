package io.aether.virtio;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.memory.GuestMemory;
import io.aether.memory.RegionSpec;
import io.aether.virtio.MockDriver.Buffer;
import io.aether.virtio.MockDriver.Used;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class VirtqueueTest {

    private static final long ALL = VirtioFeatures.TRANSPORT;
    private final GuestMemory memory = GuestMemory.anonymous(List.of(RegionSpec.ram(0, 1 << 20)));
    private final MockDriver driver = new MockDriver(memory, 16, 0x1000, 0x10000);

    @AfterEach
    void close() {
        memory.close();
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    @Test
    void popsAChainAndReturnsItThroughTheUsedRing() {
        Virtqueue q = driver.queue(16, ALL);
        Buffer in = driver.readable(bytes("hello"));
        Buffer out = driver.writable(32);
        int head = driver.add(in, out);

        DescriptorChain chain = q.pop();
        assertNotNull(chain);
        assertEquals(head, chain.head());
        assertEquals(5, chain.readableLength());
        assertEquals(32, chain.writableLength());
        byte[] got = new byte[5];
        chain.read(0, got, 0, 5);
        assertArrayEquals(bytes("hello"), got);
        chain.write(3, bytes("abc"), 0, 3);
        q.addUsed(chain, 6);

        assertNull(q.pop());
        assertEquals(List.of(new Used(head, 6)), driver.takeUsed());
        assertArrayEquals(bytes("\0\0\0abc"), memory.read(out.address(), 6));
        QueueCounters c = q.counters();
        assertEquals(1, c.taken());
        assertEquals(1, c.chains());
        assertEquals(1, c.used());
        assertEquals(0, c.totalFaults());
    }

    @Test
    void partsReadTheSameWhateverTheDescriptorSplit() {
        Virtqueue q = driver.queue(16, ALL);
        driver.add(driver.readable(bytes("ab")), driver.readable(bytes("")), driver.readable(bytes("cdef")),
                driver.writable(1), driver.writable(3));
        DescriptorChain chain = q.pop();
        byte[] got = new byte[4];
        chain.read(1, got, 0, 4);
        assertArrayEquals(bytes("bcde"), got);
        chain.write(0, bytes("WXYZ"), 0, 4);
        assertEquals("W", new String(memory.read(chain.writable().get(0).address(), 1), StandardCharsets.US_ASCII));
        assertEquals("XYZ", new String(memory.read(chain.writable().get(1).address(), 3), StandardCharsets.US_ASCII));
        List<MemorySegment> segments = chain.readableSegments(1, 5);
        assertEquals(List.of(1L, 4L), segments.stream().map(MemorySegment::byteSize).toList());
        assertThrows(IndexOutOfBoundsException.class, () -> chain.read(4, new byte[4], 0, 4));
        assertThrows(IndexOutOfBoundsException.class, () -> chain.writableSegments(2, 3));
    }

    @Test
    void segmentsAreSplitAtRegionBoundaries() {
        try (GuestMemory two = GuestMemory.anonymous(List.of(RegionSpec.ram(0, 0x10000), RegionSpec.ram(0x10000, 0x10000)))) {
            MockDriver d = new MockDriver(two, 4, 0x1000, 0x1000);
            Virtqueue q = d.queue(4, ALL);
            two.write(0xFFF0, new byte[32]);
            d.add(Buffer.writable(0xFFF0, 32));
            DescriptorChain chain = q.pop();
            List<MemorySegment> segments = chain.writableSegments(0, 32);
            assertEquals(2, segments.size());
            segments.get(1).set(ValueLayout.JAVA_BYTE, 0, (byte) 7);
            assertEquals(7, two.readByte(0x10000));
        }
    }

    @Test
    void followsAnIndirectTableWhenNegotiated() {
        Virtqueue q = driver.queue(16, ALL);
        int head = driver.addIndirect(driver.readable(bytes("req")), driver.writable(8));
        DescriptorChain chain = q.pop();
        assertEquals(head, chain.head());
        assertEquals(3, chain.readableLength());
        assertEquals(8, chain.writableLength());
    }

    @Test
    void refusesIndirectDescriptorsWithoutTheFeature() {
        Virtqueue q = driver.queue(16, VirtioFeatures.VERSION_1);
        int head = driver.addIndirect(driver.readable(bytes("req")));
        assertNull(q.pop());
        assertEquals(List.of(new Used(head, 0)), driver.takeUsed());
        assertEquals(1, q.counters().faults(QueueFault.BAD_INDIRECT));
    }

    @Test
    void refusesNestedAndMalformedIndirectTables() {
        Virtqueue q = driver.queue(16, ALL);
        long table = driver.alloc(32);
        long inner = driver.alloc(16);
        driver.writeDescriptorAt(inner, 0, driver.alloc(4), 4, 0, 0);
        driver.writeDescriptorAt(table, 0, inner, 16, MockDriver.F_INDIRECT, 0);
        driver.writeDescriptor(0, table, 16, MockDriver.F_INDIRECT, 0);        // nested
        driver.writeDescriptor(1, inner, 16, MockDriver.F_INDIRECT | MockDriver.F_NEXT, 2); // indirect with NEXT
        driver.writeDescriptor(2, inner, 15, MockDriver.F_INDIRECT, 0);        // length not a multiple of 16
        driver.writeDescriptor(3, inner, 0, MockDriver.F_INDIRECT, 0);         // empty table
        driver.writeDescriptor(4, 0xFFFF_FFF0L, 32, MockDriver.F_INDIRECT, 0); // table outside memory
        for (int head = 0; head < 5; head++) driver.publish(head);
        assertNull(q.pop());
        assertEquals(4, q.counters().faults(QueueFault.BAD_INDIRECT));
        assertEquals(1, q.counters().faults(QueueFault.OUTSIDE_MEMORY));
        assertEquals(List.of(0, 1, 2, 3, 4), driver.takeUsed().stream().map(Used::id).toList());
        assertTrue(driver.takeUsed().isEmpty());
    }

    @Test
    void aDescriptorLoopEndsAsTooLongAndTheQueueStaysUsable() {
        Virtqueue q = driver.queue(16, ALL);
        long buf = driver.alloc(8);
        driver.writeDescriptor(0, buf, 8, MockDriver.F_NEXT, 1);
        driver.writeDescriptor(1, buf, 8, MockDriver.F_NEXT, 0);
        driver.publish(0);
        driver.writeDescriptor(2, buf, 8, MockDriver.F_NEXT, 2); // points at itself
        driver.publish(2);
        assertNull(q.pop());
        assertEquals(2, q.counters().faults(QueueFault.CHAIN_TOO_LONG));
        assertEquals(List.of(new Used(0, 0), new Used(2, 0)), driver.takeUsed());

        driver.writeDescriptor(3, buf, 8, 0, 0);
        driver.publish(3);
        assertEquals(3, q.pop().head());
    }

    @Test
    void aChainAsLongAsTheQueueIsAllowedButNotLonger() {
        Virtqueue q = driver.queue(16, ALL);
        long buf = driver.alloc(1);
        for (int i = 0; i < 15; i++) driver.writeDescriptor(i, buf, 1, MockDriver.F_NEXT, i + 1);
        driver.writeDescriptor(15, buf, 1, 0, 0);
        driver.publish(0);
        assertEquals(16, q.pop().readable().size());

        long table = driver.alloc(16 * 17);
        for (int i = 0; i < 16; i++) driver.writeDescriptorAt(table, i, buf, 1, MockDriver.F_NEXT, i + 1);
        driver.writeDescriptorAt(table, 16, buf, 1, 0, 0);
        driver.writeDescriptor(1, table, 16 * 17, MockDriver.F_INDIRECT, 0);
        driver.publish(1);
        assertNull(q.pop());
        assertEquals(1, q.counters().faults(QueueFault.CHAIN_TOO_LONG));
    }

    @Test
    void nextIndexBeyondTheTableIsRefused() {
        Virtqueue q = driver.queue(16, ALL);
        long buf = driver.alloc(8);
        driver.writeDescriptor(0, buf, 8, MockDriver.F_NEXT, 16);
        driver.publish(0);
        long table = driver.alloc(32);
        driver.writeDescriptorAt(table, 0, buf, 8, MockDriver.F_NEXT, 2); // table has 2 entries
        driver.writeDescriptor(1, table, 32, MockDriver.F_INDIRECT, 0);
        driver.publish(1);
        assertNull(q.pop());
        assertEquals(2, q.counters().faults(QueueFault.NEXT_OUT_OF_RANGE));
        assertEquals(2, driver.takeUsed().size());
    }

    @Test
    void aHeadIndexBeyondTheQueueIsDroppedWithoutAUsedEntry() {
        Virtqueue q = driver.queue(16, ALL);
        driver.publish(16);
        driver.publish(0xFFFF);
        int good = driver.add(driver.writable(4));
        DescriptorChain chain = q.pop();
        assertEquals(good, chain.head());
        assertEquals(2, q.counters().faults(QueueFault.HEAD_OUT_OF_RANGE));
        assertTrue(driver.takeUsed().isEmpty());
        assertEquals(3, q.counters().taken());
    }

    @Test
    void anAvailableIndexJumpStopsTheQueueUntilReset() {
        Virtqueue q = driver.queue(16, ALL);
        driver.add(driver.writable(4));
        driver.setAvailIdx(17);
        assertNull(q.pop());
        assertTrue(q.broken());
        assertEquals(1, q.counters().faults(QueueFault.AVAIL_INDEX_JUMP));
        assertNull(q.pop(), "a stopped queue yields nothing");
        assertEquals(1, q.counters().faults(QueueFault.AVAIL_INDEX_JUMP), "counted once");
        assertEquals(0, q.counters().taken());

        q.reset();
        MockDriver fresh = new MockDriver(memory, 16, 0x1000, 0x10000);
        fresh.configure(q);
        assertTrue(q.enable(memory, ALL));
        int head = fresh.add(fresh.writable(4));
        assertEquals(head, q.pop().head());
    }

    @Test
    void aFullRingIsNotAJump() {
        Virtqueue q = driver.queue(16, ALL);
        for (int i = 0; i < 16; i++) driver.add(driver.writable(1));
        int n = 0;
        while (q.pop() != null) n++;
        assertEquals(16, n);
        assertFalse(q.broken());
    }

    @Test
    void aReadableBufferAfterAWritableOneIsRefused() {
        Virtqueue q = driver.queue(16, ALL);
        int head = driver.add(driver.writable(4), driver.readable(bytes("x")));
        assertNull(q.pop());
        assertEquals(1, q.counters().faults(QueueFault.READABLE_AFTER_WRITABLE));
        assertEquals(List.of(new Used(head, 0)), driver.takeUsed());
    }

    @Test
    void buffersOutsideMemoryAndHugeLengthsAreRefused() {
        Virtqueue q = driver.queue(16, ALL);
        driver.add(Buffer.readable(1 << 20, 1));
        driver.add(Buffer.readable(0x2000, 0xFFFF_FFFFL));
        driver.add(Buffer.writable(-16, 16));
        driver.add(Buffer.readable(0xFFFF_FFFF_FFFF_FFF0L, 0x20));
        assertNull(q.pop());
        assertEquals(4, q.counters().faults(QueueFault.OUTSIDE_MEMORY));
        assertEquals(4, driver.takeUsed().size());
        QueueCounters c = q.counters();
        assertEquals(c.taken(), c.chains() + c.totalFaults());
    }

    @Test
    void writableBuffersInReadOnlyMemoryAreRefused() {
        try (GuestMemory rom = GuestMemory.anonymous(List.of(RegionSpec.ram(0, 0x20000), new RegionSpec(0x20000, 0x1000, true)))) {
            MockDriver d = new MockDriver(rom, 4, 0x1000, 0x1000);
            Virtqueue q = d.queue(4, ALL);
            d.add(Buffer.readable(0x20000, 16));
            d.add(Buffer.writable(0x20000, 16));
            assertEquals(16, q.pop().readableLength());
            assertNull(q.pop());
            assertEquals(1, q.counters().faults(QueueFault.OUTSIDE_MEMORY));

            // A used ring in read-only memory is a bad layout.
            Virtqueue bad = new Virtqueue(4);
            d.configure(bad);
            bad.setUsedRing(0x20000);
            assertFalse(bad.enable(rom, ALL));
        }
    }

    @Test
    void badLayoutsAreRefused() {
        record Case(String what, int size, long desc, long avail, long used) {
        }
        List<Case> cases = List.of(
                new Case("size 0", 0, 0x1000, 0x2000, 0x3000),
                new Case("size not a power of two", 12, 0x1000, 0x2000, 0x3000),
                new Case("size above max", 32, 0x1000, 0x2000, 0x3000),
                new Case("negative size", -16, 0x1000, 0x2000, 0x3000),
                new Case("descriptor table misaligned", 16, 0x1008, 0x2000, 0x3000),
                new Case("available ring misaligned", 16, 0x1000, 0x2001, 0x3000),
                new Case("used ring misaligned", 16, 0x1000, 0x2000, 0x3002),
                new Case("descriptor table outside memory", 16, (1 << 20) - 16 * 8, 0x2000, 0x3000),
                new Case("available ring outside memory", 16, 0x1000, (1 << 20) - 8, 0x3000),
                new Case("used ring outside memory", 16, 0x1000, 0x2000, (1L << 40)),
                new Case("wrapping address", 16, 0x1000, 0x2000, -8));
        for (Case c : cases) {
            Virtqueue q = new Virtqueue(16);
            q.setSize(c.size());
            q.setDescTable(c.desc());
            q.setAvailRing(c.avail());
            q.setUsedRing(c.used());
            assertFalse(q.enable(memory, ALL), c.what());
            assertFalse(q.ready(), c.what());
            assertNull(q.pop(), c.what());
            assertEquals(1, q.counters().faults(QueueFault.BAD_LAYOUT), c.what());
        }
    }

    @Test
    void configurationIsFrozenWhileReady() {
        Virtqueue q = driver.queue(16, ALL);
        assertFalse(q.setSize(8));
        assertFalse(q.setDescTable(0));
        assertEquals(16, q.size());
        q.disable();
        assertTrue(q.setSize(8));
    }

    @Test
    void noInterruptFlagSuppressesInterruptsWithoutEventIdx() {
        Virtqueue q = driver.queue(16, VirtioFeatures.VERSION_1);
        assertFalse(q.needsInterrupt(), "nothing used yet");
        driver.add(driver.writable(1));
        q.addUsed(q.pop(), 0);
        assertTrue(q.needsInterrupt());
        assertFalse(q.needsInterrupt(), "nothing new since");
        driver.setAvailFlags(1);
        driver.add(driver.writable(1));
        q.addUsed(q.pop(), 0);
        assertFalse(q.needsInterrupt());
        assertEquals(1, q.counters().interrupts());
    }

    @Test
    void eventIdxInterruptsOnlyWhenUsedEventIsCrossed() {
        Virtqueue q = driver.queue(16, ALL);
        driver.setUsedEvent(2); // interrupt me when used idx passes 2, i.e. becomes 3
        for (int i = 0; i < 4; i++) driver.add(driver.writable(1));
        q.addUsed(q.pop(), 0);
        assertFalse(q.needsInterrupt()); // used idx 1
        q.addUsed(q.pop(), 0);
        assertFalse(q.needsInterrupt()); // 2
        q.addUsed(q.pop(), 0);
        assertTrue(q.needsInterrupt());  // 3: crossed
        q.addUsed(q.pop(), 0);
        assertFalse(q.needsInterrupt()); // 4: used_event not moved
    }

    @Test
    void eventIdxPublishesAvailEventWhenTheQueueRunsDry() {
        Virtqueue q = driver.queue(16, ALL);
        driver.add(driver.writable(1));
        driver.add(driver.writable(1));
        assertNotNull(q.pop());
        assertNotNull(q.pop());
        assertNull(q.pop());
        assertEquals(2, driver.availEvent());
    }

    @Test
    void undoPopHandsOutTheSameChainAgain() {
        Virtqueue q = driver.queue(16, ALL);
        int head = driver.add(driver.writable(8));
        DescriptorChain chain = q.pop();
        q.undoPop(chain);
        assertThrows(IllegalStateException.class, () -> q.undoPop(chain));
        DescriptorChain again = q.pop();
        assertEquals(head, again.head());
        assertEquals(1, q.counters().chains());
        assertEquals(1, q.counters().taken());
        q.addUsed(again, 8);
        assertThrows(IllegalStateException.class, () -> q.undoPop(again));
    }

    @Test
    void usedLengthIsClampedToTheWritablePart() {
        Virtqueue q = driver.queue(16, ALL);
        int head = driver.add(driver.readable(bytes("abc")), driver.writable(4));
        q.addUsed(q.pop(), 1 << 30);
        assertEquals(List.of(new Used(head, 4)), driver.takeUsed());
    }

    @Test
    void indicesWrapAround16Bits() {
        MockDriver small = new MockDriver(memory, 4, 0x40000, 0x1000);
        Virtqueue q = small.queue(4, ALL);
        long buf = small.alloc(4);
        for (int i = 0; i < 70_000; i++) {
            int head = small.add(Buffer.writable(buf, 4));
            DescriptorChain chain = q.pop();
            assertEquals(head, chain.head());
            q.addUsed(chain, 2);
            List<Used> used = small.takeUsed();
            assertEquals(List.of(new Used(head, 2)), used);
        }
        assertEquals(70_000 & 0xFFFF, small.usedIdx());
        assertEquals(0, q.counters().totalFaults());
    }

    @Test
    void maximumSizesArePowersOfTwoInRange() {
        assertEquals(256, Virtqueue.checkMaxSize("block queue size", 4, 256));
        assertEquals("block queue size must be a power of two from 4 to 32768: 2",
                assertThrows(IllegalArgumentException.class, () -> Virtqueue.checkMaxSize("block queue size", 4, 2)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> Virtqueue.checkMaxSize("queue max size", 1, 12));
        assertThrows(IllegalArgumentException.class, () -> Virtqueue.checkMaxSize("queue max size", 1, 65536));
    }
}
