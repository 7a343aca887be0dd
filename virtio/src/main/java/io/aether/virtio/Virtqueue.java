package io.aether.virtio;

import io.aether.memory.GuestMemory;
import io.aether.memory.GuestMemoryException;
import io.aether.snapshot.SnapshotException;
import io.aether.snapshot.StateReader;
import io.aether.snapshot.StateWriter;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * One split virtqueue (virtio 1.2, 2.7): the device's side of the descriptor table, the available
 * ring (driver area) and the used ring (device area).
 *
 * <p>The transport configures it (size, ring addresses) and makes it ready only after checking
 * the layout: a size that is a power of two no larger than the maximum, rings aligned 16/2/4
 * (2.7.2) and wholly inside guest memory, the used ring writable. A bad layout is refused: the
 * queue stays not ready (QueueReady reads back 0) and {@link QueueFault#BAD_LAYOUT} is counted.
 *
 * <p>Devices {@link #pop()} chains and {@link #addUsed} them. Everything read from the rings is
 * untrusted: bad chains are counted and completed with 0 bytes (or dropped when their head index
 * is bad) and never reach the device; an available index more than the queue size ahead stops the
 * queue until reset. Not thread-safe: the owning device's lock guards it.
 */
public final class Virtqueue {

    /** The largest split-queue size (2.7). */
    public static final int MAX_SIZE = 32768;

    private static final int AVAIL_F_NO_INTERRUPT = 1;

    private final int maxSize;

    // Configuration, written by the transport while the queue is not ready.
    private int size;
    private long descTable;
    private long availRing;
    private long usedRing;

    // Set when ready.
    private boolean ready;
    private GuestMemory memory;
    private boolean indirect;
    private boolean eventIdx;

    // Ring positions (free-running 16-bit counters).
    private int nextAvail;
    private int nextUsed;
    private int signalledUsed;
    private boolean usedSinceSignal;
    private boolean broken;
    private int lastPoppedHead = -1;

    private long taken;
    private long chains;
    private long used;
    private long interrupts;
    private final long[] faults = new long[QueueFault.values().length];

    Virtqueue(int maxSize) {
        this.maxSize = checkMaxSize("queue max size", 1, maxSize);
        this.size = maxSize;
    }

    /**
     * Checks a maximum queue size that a device offers.
     *
     * @param what names the size in the message, e.g. {@code "block queue size"}
     * @param min the smallest size the device works with
     * @return {@code size}
     * @throws IllegalArgumentException unless {@code size} is a power of two from {@code min} to {@value #MAX_SIZE}
     */
    public static int checkMaxSize(String what, int min, int size) {
        if (size < min || size > MAX_SIZE || Integer.bitCount(size) != 1) {
            throw new IllegalArgumentException(what + " must be a power of two from " + min + " to " + MAX_SIZE + ": " + size);
        }
        return size;
    }

    public int maxSize() {
        return maxSize;
    }

    /** The size the driver chose. */
    public int size() {
        return size;
    }

    /** Whether the driver made the queue ready with a valid layout. */
    public boolean ready() {
        return ready;
    }

    /** Whether a queue-wide guest error stopped the queue until the device is reset. */
    public boolean broken() {
        return broken;
    }

    long descTable() {
        return descTable;
    }

    long availRing() {
        return availRing;
    }

    long usedRing() {
        return usedRing;
    }

    /** The transport's setters; ignored while the queue is ready (the caller counts that). */
    boolean setSize(int value) {
        if (ready) return false;
        size = value;
        return true;
    }

    boolean setDescTable(long gpa) {
        if (ready) return false;
        descTable = gpa;
        return true;
    }

    boolean setAvailRing(long gpa) {
        if (ready) return false;
        availRing = gpa;
        return true;
    }

    boolean setUsedRing(long gpa) {
        if (ready) return false;
        usedRing = gpa;
        return true;
    }

    /**
     * The driver set QueueReady: checks the layout (2.7.2) and starts the queue, or counts
     * {@link QueueFault#BAD_LAYOUT} and leaves it not ready.
     *
     * @param features the negotiated features (for indirect descriptors and EVENT_IDX)
     * @return whether the queue is now ready
     */
    boolean enable(GuestMemory guestMemory, long features) {
        if (ready) return true;
        if (layoutProblem(guestMemory, maxSize, size, descTable, availRing, usedRing) != null) {
            faults[QueueFault.BAD_LAYOUT.ordinal()]++;
            return false;
        }
        memory = guestMemory;
        indirect = VirtioFeatures.has(features, VirtioFeatures.RING_INDIRECT_DESC);
        eventIdx = VirtioFeatures.has(features, VirtioFeatures.RING_EVENT_IDX);
        nextAvail = 0;
        nextUsed = 0;
        signalledUsed = 0;
        usedSinceSignal = false;
        broken = false;
        lastPoppedHead = -1;
        ready = true;
        return true;
    }

    /** What is wrong with a layout (2.7.2), naming the field, or {@code null} if the queue may start with it. */
    private static String layoutProblem(GuestMemory guestMemory, int maxSize, int size, long descTable, long availRing,
                                        long usedRing) {
        if (size < 1 || size > maxSize || Integer.bitCount(size) != 1) {
            return "size: " + size + " is not a power of two from 1 to " + maxSize;
        }
        if (descTable % 16 != 0 || !guestMemory.contains(descTable, 16L * size)) {
            return "descriptor table: 0x" + Long.toHexString(descTable) + " is not 16-aligned inside guest memory";
        }
        if (availRing % 2 != 0 || !guestMemory.contains(availRing, 6 + 2L * size)) {
            return "available ring: 0x" + Long.toHexString(availRing) + " is not 2-aligned inside guest memory";
        }
        if (usedRing % 4 != 0 || !GuestRanges.writable(guestMemory, usedRing, 6 + 8L * size)) {
            return "used ring: 0x" + Long.toHexString(usedRing) + " is not 4-aligned inside writable guest memory";
        }
        return null;
    }

    /**
     * A queue's state (counters are not part of it: they count this process's work).
     *
     * @param maxSize the size the device offers; a restore checks it against the device's
     * @param size the size the driver wrote (any value while not ready, as the register takes any)
     * @param ready whether the queue runs; its layout then passes the checks of QueueReady
     * @param indirect whether indirect descriptors were negotiated (meaningful when ready; QueueReady sets
     *     this and the ring positions afresh)
     * @param eventIdx whether EVENT_IDX was negotiated (meaningful when ready)
     * @param nextAvail the next available-ring index the device reads (16 bits)
     * @param nextUsed the next used-ring index the device writes (16 bits)
     * @param signalledUsed the used index at the last interrupt decision (16 bits)
     * @param usedSinceSignal whether buffers were used since that decision
     * @param broken whether a guest error stopped the queue until reset
     */
    public record State(int maxSize, int size, boolean ready, long descTable, long availRing, long usedRing,
                        boolean indirect, boolean eventIdx, int nextAvail, int nextUsed, int signalledUsed,
                        boolean usedSinceSignal, boolean broken) {

        public State {
            checkMaxSize("maxSize", 1, maxSize);
            index("nextAvail", nextAvail);
            index("nextUsed", nextUsed);
            index("signalledUsed", signalledUsed);
        }

        private static void index(String field, int value) {
            if (value < 0 || value > 0xFFFF) throw new IllegalArgumentException(field + ": " + value + " is not a 16-bit index");
        }

        /** Writes the fields in the order {@link #read} takes them. */
        public void write(StateWriter out) {
            out.i32(maxSize).i32(size).bool(ready).i64(descTable).i64(availRing).i64(usedRing).bool(indirect)
                    .bool(eventIdx).u16(nextAvail).u16(nextUsed).u16(signalledUsed).bool(usedSinceSignal).bool(broken);
        }

        public static State read(StateReader in) throws SnapshotException {
            int maxSize = in.i32("maxSize");
            int size = in.i32("size");
            boolean ready = in.bool("ready");
            long desc = in.i64("descTable");
            long avail = in.i64("availRing");
            long used = in.i64("usedRing");
            boolean indirect = in.bool("indirect");
            boolean eventIdx = in.bool("eventIdx");
            int nextAvail = in.u16("nextAvail");
            int nextUsed = in.u16("nextUsed");
            int signalled = in.u16("signalledUsed");
            boolean usedSinceSignal = in.bool("usedSinceSignal");
            boolean broken = in.bool("broken");
            return in.build(() -> new State(maxSize, size, ready, desc, avail, used, indirect, eventIdx, nextAvail, nextUsed, signalled,
                    usedSinceSignal, broken));
        }
    }

    /** This queue's state; the owning device's lock must be held. */
    State state() {
        return new State(maxSize, size, ready, descTable, availRing, usedRing, indirect, eventIdx, nextAvail, nextUsed,
                signalledUsed, usedSinceSignal, broken);
    }

    /**
     * Whether {@code state} may be restored into this queue over {@code guestMemory}: the device's
     * maximum size, and for a ready queue the layout QueueReady checks.
     *
     * @throws IllegalArgumentException naming the field, if not
     */
    void checkRestore(State state, GuestMemory guestMemory) {
        if (state.maxSize() != maxSize) {
            throw new IllegalArgumentException("maxSize: " + state.maxSize() + " differs from the device's " + maxSize);
        }
        if (state.ready()) {
            String problem = layoutProblem(guestMemory, maxSize, state.size(), state.descTable(), state.availRing(),
                    state.usedRing());
            if (problem != null) throw new IllegalArgumentException(problem);
        }
    }

    /** Puts this queue in {@code state}, which {@link #checkRestore} accepted; counters are kept. */
    void restore(State state, GuestMemory guestMemory) {
        size = state.size();
        descTable = state.descTable();
        availRing = state.availRing();
        usedRing = state.usedRing();
        ready = state.ready();
        memory = state.ready() ? guestMemory : null;
        indirect = state.indirect();
        eventIdx = state.eventIdx();
        nextAvail = state.nextAvail();
        nextUsed = state.nextUsed();
        signalledUsed = state.signalledUsed();
        usedSinceSignal = state.usedSinceSignal();
        broken = state.broken();
        lastPoppedHead = -1;
    }

    /** The driver wrote 0 to QueueReady: stop using the rings, keep the layout. */
    void disable() {
        ready = false;
        memory = null;
        lastPoppedHead = -1;
    }

    /** Back to the reset state: not ready, size = max, addresses 0. Counters are kept. */
    void reset() {
        ready = false;
        memory = null;
        size = maxSize;
        descTable = 0;
        availRing = 0;
        usedRing = 0;
        broken = false;
        lastPoppedHead = -1;
    }

    /**
     * Takes the next valid chain from the available ring, or returns {@code null} when there is none
     * (or the queue is not ready or stopped). Invalid chains met on the way are counted and
     * completed with 0 bytes used, or dropped if their head index is bad.
     */
    public DescriptorChain pop() {
        lastPoppedHead = -1;
        if (!ready || broken) return null;
        try {
            while (true) {
                int availIdx = availIndex();
                int pending = (availIdx - nextAvail) & 0xFFFF;
                if (pending == 0) {
                    if (!eventIdx) return null;
                    // 2.7.10: ask for a notification when the driver adds past this point, then look
                    // again in case it added one before it could see the new avail_event.
                    memory.writeShortRelease(availEventAddress(), (short) nextAvail);
                    memory.fence();
                    if (availIndex() == nextAvail) return null;
                    continue;
                }
                if (pending > size) {
                    // 2.7.6: the driver cannot have more than `size` buffers outstanding.
                    fail(QueueFault.AVAIL_INDEX_JUMP);
                    return null;
                }
                int head = Short.toUnsignedInt(memory.readShort(availRing + 4 + 2L * (nextAvail & (size - 1))));
                nextAvail = (nextAvail + 1) & 0xFFFF;
                taken++;
                if (head >= size) {
                    faults[QueueFault.HEAD_OUT_OF_RANGE.ordinal()]++;
                    continue;
                }
                DescriptorChain chain = walk(head);
                if (chain != null) {
                    chains++;
                    lastPoppedHead = head;
                    return chain;
                }
            }
        } catch (GuestMemoryException e) {
            fail(QueueFault.RING_ACCESS);
            return null;
        }
    }

    /**
     * Puts back the chain the last {@link #pop()} returned, so a later pop returns it again (a
     * device that found nothing to put in it, as network receive does).
     *
     * @throws IllegalStateException if the last pop returned no chain or it was already put back
     */
    public void undoPop(DescriptorChain chain) {
        if (lastPoppedHead < 0 || chain.head() != lastPoppedHead) {
            throw new IllegalStateException("undoPop must follow the pop that returned this chain");
        }
        lastPoppedHead = -1;
        nextAvail = (nextAvail - 1) & 0xFFFF;
        taken--;
        chains--;
    }

    /**
     * Returns a chain to the driver through the used ring (2.7.8), publishing the new used index
     * with release semantics.
     *
     * @param bytesWritten bytes the device wrote into the chain's writable part (clamped to it)
     */
    public void addUsed(DescriptorChain chain, long bytesWritten) {
        lastPoppedHead = -1;
        if (!ready || broken) return;
        long written = Math.clamp(bytesWritten, 0, chain.writableLength());
        putUsed(chain.head(), (int) written);
    }

    /** Counters so far. */
    public QueueCounters counters() {
        Map<QueueFault, Long> byKind = new EnumMap<>(QueueFault.class);
        for (QueueFault f : QueueFault.values()) byKind.put(f, faults[f.ordinal()]);
        return new QueueCounters(taken, chains, used, interrupts, byKind);
    }

    /**
     * Whether the driver wants an interrupt for the used buffers added since the last call
     * (2.7.7.2): {@code used_event} with EVENT_IDX, else the NO_INTERRUPT flag.
     */
    boolean needsInterrupt() {
        if (!ready || !usedSinceSignal) return false;
        usedSinceSignal = false;
        try {
            // The used index must be visible before the driver's suppression state is read.
            memory.fence();
            int old = signalledUsed;
            signalledUsed = nextUsed;
            boolean wanted;
            if (eventIdx) {
                int usedEvent = Short.toUnsignedInt(memory.readShortAcquire(availRing + 4 + 2L * size));
                // vring_need_event: did the used index step over used_event since the last signal?
                wanted = ((nextUsed - usedEvent - 1) & 0xFFFF) < ((nextUsed - old) & 0xFFFF);
            } else {
                wanted = (memory.readShortAcquire(availRing) & AVAIL_F_NO_INTERRUPT) == 0;
            }
            if (wanted) interrupts++;
            return wanted;
        } catch (GuestMemoryException e) {
            fail(QueueFault.RING_ACCESS);
            interrupts++;
            return true;
        }
    }

    private DescriptorChain walk(int head) {
        List<Descriptor> descriptors = new ArrayList<>();
        try {
            ChainWalker walker = new ChainWalker(memory, descTable, size, head, indirect);
            while (walker.hasNext()) descriptors.add(walker.next());
        } catch (ChainWalker.ChainFault f) {
            faults[f.kind.ordinal()]++;
            putUsed(head, 0);
            return null;
        } catch (GuestMemoryException e) {
            faults[QueueFault.OUTSIDE_MEMORY.ordinal()]++;
            putUsed(head, 0);
            return null;
        }
        return new DescriptorChain(memory, head, descriptors);
    }

    private void putUsed(int head, int length) {
        long elem = usedRing + 4 + 8L * (nextUsed & (size - 1));
        memory.writeInt(elem, head);
        memory.writeInt(elem + 4, length);
        nextUsed = (nextUsed + 1) & 0xFFFF;
        memory.writeShortRelease(usedRing + 2, (short) nextUsed);
        used++;
        usedSinceSignal = true;
    }

    private int availIndex() {
        return Short.toUnsignedInt(memory.readShortAcquire(availRing + 2));
    }

    private long availEventAddress() {
        return usedRing + 4 + 8L * size;
    }

    private void fail(QueueFault kind) {
        faults[kind.ordinal()]++;
        broken = true;
    }
}
