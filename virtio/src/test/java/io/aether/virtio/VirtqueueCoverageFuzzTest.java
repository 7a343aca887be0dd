package io.aether.virtio;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.memory.GuestMemory;
import io.aether.memory.RegionSpec;
import io.aether.testkit.fuzz.FuzzInput;
import io.aether.testkit.fuzz.Fuzzer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Coverage-guided fuzz target for the split virtqueue and its descriptor chains. The input is
 * the guest's memory itself: a descriptor region (twice the largest queue, so entries just past
 * the table are the guest's too), an indirect-table region, the available ring, then one new
 * available index per round. Each round is checked against a reference model of the device's
 * side written here from the spec (virtio 1.2, 2.7): which chains are valid, with exactly which
 * buffers, which are completed with 0 bytes or dropped, what the used ring holds, and whether an
 * interrupt is due.
 */
@Timeout(120)
class VirtqueueCoverageFuzzTest {

    static final long MEMORY = 0x10000;
    static final long DESC = 0x1000;
    static final long AVAIL = 0x1400;
    static final long USED = 0x1800;
    static final long INDIRECT = 0x2000;
    static final long DATA = 0x3000;
    static final int LARGEST = 16;
    static final int DESC_ENTRIES = 2 * LARGEST;
    static final int INDIRECT_ENTRIES = 16;
    static final int ROUNDS = 4;

    @Test
    void virtqueue() {
        Fuzzer.target(getClass(), "virtqueue").maxLength(1024).run();
    }

    static void virtqueue(FuzzInput in) {
        int size = 1 << in.consumeInt(0, 4);
        int featureBits = in.consumeU8();
        long features = VirtioFeatures.VERSION_1 | ((featureBits & 1) != 0 ? VirtioFeatures.RING_INDIRECT_DESC : 0)
                | ((featureBits & 2) != 0 ? VirtioFeatures.RING_EVENT_IDX : 0);
        try (GuestMemory memory = GuestMemory.anonymous(List.of(RegionSpec.ram(0, MEMORY)))) {
            memory.write(DESC, in.consumeBytes(16 * DESC_ENTRIES));
            memory.write(INDIRECT, in.consumeBytes(16 * INDIRECT_ENTRIES));
            memory.write(AVAIL + 4, in.consumeBytes(2 * LARGEST));
            int availFlags = in.consumeU16();
            int usedEvent = in.consumeU16();
            memory.writeShort(AVAIL, (short) availFlags);
            memory.writeShort(AVAIL + 4 + 2L * size, (short) usedEvent);

            Virtqueue queue = new Virtqueue(LARGEST);
            queue.setSize(size);
            queue.setDescTable(DESC);
            queue.setAvailRing(AVAIL);
            queue.setUsedRing(USED);
            assertTrue(queue.enable(memory, features), "a valid layout is accepted");

            Model model = new Model(memory, size, (features & VirtioFeatures.RING_INDIRECT_DESC) != 0);
            for (int round = 0; round < ROUNDS && in.remaining() > 0; round++) {
                int availIdx = in.consumeU16();
                memory.writeShort(AVAIL + 2, (short) availIdx);
                List<Expected> expected = model.round(availIdx);
                if (expected == null) {
                    assertNull(queue.pop(), "an available index more than the queue size ahead stops the queue");
                    assertTrue(queue.broken());
                    assertEquals(1, queue.counters().faults(QueueFault.AVAIL_INDEX_JUMP));
                    return;
                }
                int usedBefore = model.usedIdx;
                List<int[]> used = new ArrayList<>();
                for (Expected e : expected) {
                    if (e.dropped()) continue;
                    if (e.chain() == null) {
                        used.add(new int[] {e.head(), 0});
                        continue;
                    }
                    DescriptorChain chain = queue.pop();
                    assertTrue(chain != null, "chain at head " + e.head() + " is valid");
                    assertEquals(e.head(), chain.head(), "head of the next valid chain");
                    assertEquals(e.chain().stream().filter(d -> !d.writable()).toList(), chain.readable(), "readable buffers");
                    assertEquals(e.chain().stream().filter(Descriptor::writable).toList(), chain.writable(), "writable buffers");
                    checkRead(memory, chain);
                    int written = checkWrite(memory, chain);
                    queue.addUsed(chain, written);
                    used.add(new int[] {e.head(), written});
                }
                assertNull(queue.pop(), "no chain beyond those published");
                model.usedIdx = (usedBefore + used.size()) & 0xFFFF;
                assertEquals(model.usedIdx, Short.toUnsignedInt(memory.readShort(USED + 2)), "used index");
                for (int k = 0; k < used.size(); k++) {
                    long elem = USED + 4 + 8L * ((usedBefore + k) & (size - 1));
                    if (k + size < used.size()) continue; // overwritten later in this round
                    assertEquals(used.get(k)[0], memory.readInt(elem), "used id");
                    assertEquals(used.get(k)[1], memory.readInt(elem + 4), "used length");
                }
                boolean eventIdx = (features & VirtioFeatures.RING_EVENT_IDX) != 0;
                assertEquals(model.interruptDue(!used.isEmpty(), eventIdx, availFlags, usedEvent), queue.needsInterrupt(), "interrupt");
            }
            QueueCounters c = queue.counters();
            assertEquals(model.taken, c.taken());
            assertEquals(model.valid, c.chains());
            assertEquals(model.dropped, c.faults(QueueFault.HEAD_OUT_OF_RANGE));
            assertEquals(model.taken - model.valid, c.totalFaults());
        }
    }

    /** Reads the whole readable part (up to 256 bytes) and compares it with the buffers read directly. */
    private static void checkRead(GuestMemory memory, DescriptorChain chain) {
        int n = (int) Math.min(chain.readableLength(), 256);
        byte[] got = new byte[n];
        chain.read(0, got, 0, n);
        ByteBuffer want = ByteBuffer.allocate(n);
        for (Descriptor d : chain.readable()) {
            int take = (int) Math.min(d.length(), want.remaining());
            byte[] part = new byte[take];
            memory.read(d.address(), part, 0, take);
            want.put(part);
        }
        assertArrayEquals(want.array(), got, "readable bytes in order");
    }

    /**
     * Writes up to 64 bytes when the writable buffers are disjoint and in the data area (so the
     * rings the model reads stay as they were), and finds each byte where the buffers say.
     */
    private static int checkWrite(GuestMemory memory, DescriptorChain chain) {
        List<Descriptor> w = chain.writable();
        for (int i = 0; i < w.size(); i++) {
            if (w.get(i).address() < DATA) return 0;
            for (int j = 0; j < i; j++) {
                Descriptor a = w.get(i);
                Descriptor b = w.get(j);
                if (a.address() < b.address() + b.length() && b.address() < a.address() + a.length()) return 0;
            }
        }
        int n = (int) Math.min(chain.writableLength(), 64);
        byte[] pattern = new byte[n];
        for (int i = 0; i < n; i++) pattern[i] = (byte) (i + 1);
        chain.write(0, pattern, 0, n);
        int at = 0;
        for (Descriptor d : w) {
            for (long k = 0; k < d.length() && at < n; k++, at++) {
                assertEquals(pattern[at], memory.readByte(d.address() + k), "written byte " + at);
            }
        }
        return n;
    }

    /** What the device must do with one published head: drop it, complete it with 0 bytes, or hand out these buffers. */
    record Expected(int head, boolean dropped, List<Descriptor> chain) {
    }

    /** The device's side of a split queue, from the spec, reading the same memory. */
    static final class Model {
        private final GuestMemory memory;
        private final int size;
        private final boolean indirect;
        int nextAvail;
        int usedIdx;
        int signalled;
        long taken;
        long valid;
        long dropped;

        Model(GuestMemory memory, int size, boolean indirect) {
            this.memory = memory;
            this.size = size;
            this.indirect = indirect;
        }

        /** The outcome of each newly published head, in order; null if the index jumped past the ring. */
        List<Expected> round(int availIdx) {
            int pending = (availIdx - nextAvail) & 0xFFFF;
            if (pending > size) return null; // 2.7.6: never more than the queue size outstanding
            List<Expected> out = new ArrayList<>();
            for (int i = 0; i < pending; i++) {
                int slot = (nextAvail + i) % size;
                int head = Short.toUnsignedInt(memory.readShort(AVAIL + 4 + 2L * slot));
                taken++;
                if (head >= size) {
                    dropped++;
                    out.add(new Expected(head, true, null));
                    continue;
                }
                List<Descriptor> chain = walk(head);
                if (chain != null) valid++;
                out.add(new Expected(head, false, chain));
            }
            nextAvail = (nextAvail + pending) & 0xFFFF;
            return out;
        }

        /** The buffers of the chain at {@code head} (empty ones left out), or null if it breaks a rule of 2.7.5. */
        private List<Descriptor> walk(int head) {
            long table = DESC;
            long entries = size;
            int index = head;
            int budget = size; // no chain longer than the queue (2.7.5.3.1), however it loops
            boolean inIndirect = false;
            boolean sawWritable = false;
            List<Descriptor> out = new ArrayList<>();
            while (true) {
                long at = table + 16L * index;
                long addr = memory.readLong(at);
                long len = Integer.toUnsignedLong(memory.readInt(at + 8));
                int flags = Short.toUnsignedInt(memory.readShort(at + 12));
                int next = Short.toUnsignedInt(memory.readShort(at + 14));
                if ((flags & 4) != 0) {
                    boolean ok = indirect && !inIndirect && (flags & 1) == 0 && len > 0 && len % 16 == 0 && inside(addr, len);
                    if (!ok) return null;
                    table = addr;
                    entries = len / 16;
                    index = 0;
                    inIndirect = true;
                    continue;
                }
                if (budget-- == 0) return null;
                boolean writable = (flags & 2) != 0;
                if (sawWritable && !writable) return null;
                if (len > 0 && !inside(addr, len)) return null;
                sawWritable |= writable;
                if (len > 0) out.add(new Descriptor(addr, len, writable));
                if ((flags & 1) == 0) return out;
                if (next >= entries) return null;
                index = next;
            }
        }

        private static boolean inside(long addr, long len) {
            return addr >= 0 && len <= MEMORY && addr <= MEMORY - len;
        }

        /** 2.7.7.2 / 2.7.10: whether the driver wants to hear about the entries added since the last interrupt. */
        boolean interruptDue(boolean added, boolean eventIdx, int availFlags, int usedEvent) {
            if (!added) return false;
            int old = signalled;
            signalled = usedIdx;
            if (eventIdx) return ((usedIdx - usedEvent - 1) & 0xFFFF) < ((usedIdx - old) & 0xFFFF);
            return (availFlags & 1) == 0;
        }
    }

    /** Builds a target input: the layout the seeds in the corpus were made with. */
    static final class Layout {
        final ByteBuffer descriptors = ByteBuffer.allocate(16 * DESC_ENTRIES).order(ByteOrder.LITTLE_ENDIAN);
        final ByteBuffer indirect = ByteBuffer.allocate(16 * INDIRECT_ENTRIES).order(ByteOrder.LITTLE_ENDIAN);
        final ByteBuffer ring = ByteBuffer.allocate(2 * LARGEST).order(ByteOrder.LITTLE_ENDIAN);
        private final int log2Size;
        private final int featureBits;

        Layout(int log2Size, int featureBits) {
            this.log2Size = log2Size;
            this.featureBits = featureBits;
        }

        static void put(ByteBuffer table, int index, long addr, long len, int flags, int next) {
            table.putLong(16 * index, addr).putInt(16 * index + 8, (int) len).putShort(16 * index + 12, (short) flags)
                    .putShort(16 * index + 14, (short) next);
        }

        byte[] build(int availFlags, int usedEvent, int... availIdx) {
            ByteBuffer b = ByteBuffer.allocate(2 + descriptors.capacity() + indirect.capacity() + ring.capacity() + 4 + 2 * availIdx.length)
                    .order(ByteOrder.LITTLE_ENDIAN);
            b.put((byte) log2Size).put((byte) featureBits).put(descriptors.array()).put(indirect.array()).put(ring.array());
            b.putShort((short) availFlags).putShort((short) usedEvent);
            for (int idx : availIdx) b.putShort((short) idx);
            return b.array();
        }
    }

    /** Eight two-buffer chains (request, response) in a queue of 8, published over three rounds that wrap the ring. */
    static byte[] seedPairs() {
        Layout l = new Layout(3, 0);
        for (int i = 0; i < DESC_ENTRIES; i++) {
            boolean first = i % 2 == 0;
            Layout.put(l.descriptors, i, DATA + 0x100L * i, first ? 16 : 64, first ? 1 : 2, first ? (i + 1) % 8 : 0);
        }
        for (int slot = 0; slot < LARGEST; slot++) l.ring.putShort(2 * slot, (short) (2 * (slot % 4)));
        return l.build(0, 0, 3, 7, 10, 14);
    }

    /** One indirect chain of three buffers beside a direct one, with EVENT_IDX. */
    static byte[] seedIndirect() {
        Layout l = new Layout(2, 3);
        Layout.put(l.descriptors, 0, INDIRECT, 48, 4, 0);
        Layout.put(l.descriptors, 1, DATA, 32, 1, 2);
        Layout.put(l.descriptors, 2, DATA + 0x100, 32, 2, 0);
        Layout.put(l.indirect, 0, DATA + 0x200, 8, 1, 1);
        Layout.put(l.indirect, 1, DATA + 0x300, 8, 1, 2);
        Layout.put(l.indirect, 2, DATA + 0x400, 100, 2, 0);
        l.ring.putShort(0, (short) 0).putShort(2, (short) 1).putShort(4, (short) 0).putShort(6, (short) 1);
        return l.build(0, 1, 2, 4);
    }

    @Test
    void seedsPassTheModelAndReachValidChains() {
        virtqueue(new FuzzInput(seedPairs()));
        virtqueue(new FuzzInput(seedIndirect()));
        // The seeds are valid: a queue walking them pops chains and counts no fault.
        try (GuestMemory memory = GuestMemory.anonymous(List.of(RegionSpec.ram(0, MEMORY)))) {
            FuzzInput in = new FuzzInput(seedIndirect());
            in.consumeBytes(2);
            memory.write(DESC, in.consumeBytes(16 * DESC_ENTRIES));
            memory.write(INDIRECT, in.consumeBytes(16 * INDIRECT_ENTRIES));
            Model model = new Model(memory, 4, true);
            memory.write(AVAIL + 4, in.consumeBytes(2 * LARGEST));
            List<Expected> round = model.round(2);
            assertEquals(2, round.size());
            assertEquals(List.of(new Descriptor(DATA + 0x200, 8, false), new Descriptor(DATA + 0x300, 8, false),
                    new Descriptor(DATA + 0x400, 100, true)), round.get(0).chain());
            assertFalse(round.get(1).dropped());
            assertEquals(2, round.get(1).chain().size());
        }
    }
}
