package io.aether.virtio;

import io.aether.memory.GuestMemory;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * Follows one descriptor chain of a split virtqueue (virtio 1.2, 2.7.5) from its head, through
 * at most one indirect table, yielding each buffer after checking it. The walk has a
 * time-to-live of the queue size: a loop or an over-long chain ends it with
 * {@link QueueFault#CHAIN_TOO_LONG}. Any structural error throws {@link ChainFault}.
 */
final class ChainWalker implements Iterator<Descriptor> {

    static final int F_NEXT = 1;
    static final int F_WRITE = 2;
    static final int F_INDIRECT = 4;
    static final int DESCRIPTOR_SIZE = 16;

    /** A chain broke a rule of the spec; carries no stack trace because guests cause it cheaply. */
    static final class ChainFault extends RuntimeException {
        final QueueFault kind;

        ChainFault(QueueFault kind) {
            super(kind.name(), null, false, false);
            this.kind = kind;
        }
    }

    private final GuestMemory memory;
    private final boolean indirectAllowed;
    private long table;
    private long tableSize;
    private int index;
    private int ttl;
    private boolean inIndirect;
    private boolean seenWritable;
    private boolean done;

    /**
     * @param descTable the queue's descriptor table, already checked to hold {@code queueSize} entries
     * @param head a head index, already checked to be below {@code queueSize}
     */
    ChainWalker(GuestMemory memory, long descTable, int queueSize, int head, boolean indirectAllowed) {
        this.memory = memory;
        this.indirectAllowed = indirectAllowed;
        this.table = descTable;
        this.tableSize = queueSize;
        this.index = head;
        this.ttl = queueSize;
    }

    @Override
    public boolean hasNext() {
        return !done;
    }

    @Override
    public Descriptor next() {
        if (done) throw new NoSuchElementException();
        while (true) {
            if (ttl == 0) throw new ChainFault(QueueFault.CHAIN_TOO_LONG);
            long at = table + (long) DESCRIPTOR_SIZE * index;
            long addr = memory.readLong(at);
            long len = Integer.toUnsignedLong(memory.readInt(at + 8));
            int flags = Short.toUnsignedInt(memory.readShort(at + 12));
            int next = Short.toUnsignedInt(memory.readShort(at + 14));
            if ((flags & F_INDIRECT) != 0) {
                // 2.7.5.3.1: only with the feature, never with NEXT, never inside an indirect table.
                if (!indirectAllowed || inIndirect || (flags & F_NEXT) != 0 || len == 0 || len % DESCRIPTOR_SIZE != 0) {
                    throw new ChainFault(QueueFault.BAD_INDIRECT);
                }
                if (!memory.contains(addr, len)) throw new ChainFault(QueueFault.OUTSIDE_MEMORY);
                // The write flag of the pointer itself is ignored (2.7.5.3.2); the pointer does not use up
                // the time-to-live, the table's entries do.
                table = addr;
                tableSize = len / DESCRIPTOR_SIZE;
                index = 0;
                inIndirect = true;
                continue;
            }
            ttl--;
            boolean writable = (flags & F_WRITE) != 0;
            if (!writable && seenWritable) throw new ChainFault(QueueFault.READABLE_AFTER_WRITABLE);
            if (len > 0) {
                boolean inside = writable ? GuestRanges.writable(memory, addr, len) : memory.contains(addr, len);
                if (!inside) throw new ChainFault(QueueFault.OUTSIDE_MEMORY);
            }
            seenWritable |= writable;
            if ((flags & F_NEXT) != 0) {
                if (next >= tableSize) throw new ChainFault(QueueFault.NEXT_OUT_OF_RANGE);
                index = next;
            } else {
                done = true;
            }
            return new Descriptor(addr, len, writable);
        }
    }
}
