package io.aether.virtio;

import io.aether.memory.GuestMemory;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The guest driver's side of one split virtqueue, for tests: lays out the descriptor table and
 * rings in guest memory, submits chains (direct or indirect), reads the used ring back, and can
 * write anything at all for hostile-guest tests. Shared with the device tests through this
 * module's test jar.
 */
public final class MockDriver {

    public static final int F_NEXT = ChainWalker.F_NEXT;
    public static final int F_WRITE = ChainWalker.F_WRITE;
    public static final int F_INDIRECT = ChainWalker.F_INDIRECT;

    /** One buffer of a chain the test submits. */
    public record Buffer(long address, long length, boolean writable) {
        public static Buffer readable(long address, long length) {
            return new Buffer(address, length, false);
        }

        public static Buffer writable(long address, long length) {
            return new Buffer(address, length, true);
        }
    }

    /** One used-ring entry. */
    public record Used(int id, int length) {
    }

    private final GuestMemory memory;
    private final int size;
    private final long desc;
    private final long avail;
    private final long used;
    private final long dataStart;
    private final long dataEnd;
    private long nextData;
    private int availIdx;
    private int usedSeen;
    private final Deque<Integer> free = new ArrayDeque<>();
    private final Map<Integer, List<Integer>> inFlight = new HashMap<>();

    /**
     * Lays out a queue of {@code size} entries from {@code base} (16-aligned): descriptor table,
     * available ring, used ring, then {@code dataBytes} of buffer space from the next page.
     */
    public MockDriver(GuestMemory memory, int size, long base, long dataBytes) {
        this.memory = memory;
        this.size = size;
        this.desc = base;
        this.avail = base + 16L * size;
        this.used = align(avail + 6 + 2L * size, 4);
        this.dataStart = align(used + 6 + 8L * size, 4096);
        this.dataEnd = dataStart + dataBytes;
        this.nextData = dataStart;
        for (int i = 0; i < size; i++) free.add(i);
        memory.fill(base, dataStart - base, (byte) 0);
    }

    private static long align(long v, long a) {
        return (v + a - 1) & -a;
    }

    public int size() {
        return size;
    }

    public long descTable() {
        return desc;
    }

    public long availRing() {
        return avail;
    }

    public long usedRing() {
        return used;
    }

    /** The first byte after this queue's data area: where another queue may be laid out. */
    public long end() {
        return dataEnd;
    }

    public GuestMemory memory() {
        return memory;
    }

    /** A queue configured with this layout and made ready, as a transport would after QueueReady. */
    public Virtqueue queue(int maxSize, long features) {
        Virtqueue q = new Virtqueue(maxSize);
        configure(q);
        if (!q.enable(memory, features)) throw new IllegalStateException("queue layout refused");
        return q;
    }

    /** Writes this layout into a queue that is not ready. */
    public void configure(Virtqueue q) {
        q.setSize(size);
        q.setDescTable(desc);
        q.setAvailRing(avail);
        q.setUsedRing(used);
    }

    /** Descriptors not in flight. */
    public int freeDescriptors() {
        return free.size();
    }

    /** Bytes of the data area not yet reserved. */
    public long dataLeft() {
        return dataEnd - nextData;
    }

    /** Reserves {@code length} bytes (8-aligned) of the data area. */
    public long alloc(long length) {
        long at = nextData;
        long next = align(at + length, 8);
        if (next > dataEnd) throw new IllegalStateException("mock driver data area exhausted");
        nextData = next;
        return at;
    }

    /** A buffer holding {@code bytes}, readable by the device. */
    public Buffer readable(byte[] bytes) {
        long at = alloc(bytes.length);
        memory.write(at, bytes);
        return Buffer.readable(at, bytes.length);
    }

    /** A zeroed buffer of {@code length} bytes, writable by the device. */
    public Buffer writable(long length) {
        long at = alloc(length);
        memory.fill(at, length, (byte) 0);
        return Buffer.writable(at, length);
    }

    /** Submits a chain of direct descriptors; returns its head index. */
    public int add(Buffer... buffers) {
        if (buffers.length == 0 || buffers.length > free.size()) throw new IllegalStateException("no room for chain");
        List<Integer> indices = new ArrayList<>();
        for (int i = 0; i < buffers.length; i++) indices.add(free.poll());
        for (int i = 0; i < buffers.length; i++) {
            Buffer b = buffers[i];
            boolean last = i == buffers.length - 1;
            int flags = (b.writable() ? F_WRITE : 0) | (last ? 0 : F_NEXT);
            writeDescriptor(indices.get(i), b.address(), b.length(), flags, last ? 0 : indices.get(i + 1));
        }
        int head = indices.getFirst();
        inFlight.put(head, indices);
        publish(head);
        return head;
    }

    /** Submits a chain as one indirect descriptor whose table is placed in the data area. */
    public int addIndirect(Buffer... buffers) {
        long table = alloc(16L * buffers.length);
        for (int i = 0; i < buffers.length; i++) {
            Buffer b = buffers[i];
            boolean last = i == buffers.length - 1;
            int flags = (b.writable() ? F_WRITE : 0) | (last ? 0 : F_NEXT);
            writeDescriptorAt(table, i, b.address(), b.length(), flags, last ? 0 : i + 1);
        }
        int head = free.poll();
        writeDescriptor(head, table, 16L * buffers.length, F_INDIRECT, 0);
        inFlight.put(head, List.of(head));
        publish(head);
        return head;
    }

    /** Writes raw descriptor {@code index} of the queue's table. */
    public void writeDescriptor(int index, long address, long length, int flags, int next) {
        writeDescriptorAt(desc, index, address, length, flags, next);
    }

    /** Writes raw entry {@code index} of any descriptor table (an indirect one, say). */
    public void writeDescriptorAt(long table, int index, long address, long length, int flags, int next) {
        long at = table + 16L * index;
        memory.writeLong(at, address);
        memory.writeInt(at + 8, (int) length);
        memory.writeShort(at + 12, (short) flags);
        memory.writeShort(at + 14, (short) next);
    }

    /** Puts {@code head} in the next available-ring slot and publishes the new index. */
    public void publish(int head) {
        memory.writeShort(avail + 4 + 2L * (availIdx % size), (short) head);
        availIdx = (availIdx + 1) & 0xFFFF;
        memory.writeShortRelease(avail + 2, (short) availIdx);
    }

    /** Writes the available index as is (hostile tests). */
    public void setAvailIdx(int value) {
        availIdx = value & 0xFFFF;
        memory.writeShortRelease(avail + 2, (short) value);
    }

    public int availIdx() {
        return availIdx;
    }

    public void setAvailFlags(int flags) {
        memory.writeShort(avail, (short) flags);
    }

    /** The driver's {@code used_event} (EVENT_IDX). */
    public void setUsedEvent(int value) {
        memory.writeShort(avail + 4 + 2L * size, (short) value);
    }

    /** The device's {@code avail_event} (EVENT_IDX). */
    public int availEvent() {
        return Short.toUnsignedInt(memory.readShort(used + 4 + 8L * size));
    }

    public int usedIdx() {
        return Short.toUnsignedInt(memory.readShortAcquire(used + 2));
    }

    /** Used entries published since the last call; their descriptors become free again. */
    public List<Used> takeUsed() {
        int idx = usedIdx();
        List<Used> out = new ArrayList<>();
        while (usedSeen != idx) {
            long elem = used + 4 + 8L * (usedSeen % size);
            Used u = new Used(memory.readInt(elem), memory.readInt(elem + 4));
            out.add(u);
            List<Integer> indices = inFlight.remove(u.id());
            if (indices != null) free.addAll(indices);
            usedSeen = (usedSeen + 1) & 0xFFFF;
        }
        return out;
    }
}
