package io.aether.virtio;

import io.aether.memory.GuestMemory;
import io.aether.memory.MemoryRegion;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A validated descriptor chain popped from a {@link Virtqueue}: its device-readable buffers, then
 * its device-writable ones (2.7.4.2), every one inside guest memory (zero-length descriptors are
 * left out). Devices see each part as one
 * run of bytes, whatever the driver's split into descriptors (2.6.4, message framing).
 *
 * <p>Offsets and lengths passed here are the device's own (it checks them against
 * {@link #readableLength()} / {@link #writableLength()} first); a range outside a part is a
 * device bug and throws {@link IndexOutOfBoundsException}.
 */
public final class DescriptorChain {

    /** Segments handed out are at most this long, so each fits a {@link java.nio.ByteBuffer}. */
    static final long MAX_SEGMENT = 1L << 30;

    private final GuestMemory memory;
    private final int head;
    private final List<Descriptor> readable;
    private final List<Descriptor> writable;
    private final long readableLength;
    private final long writableLength;

    DescriptorChain(GuestMemory memory, int head, List<Descriptor> descriptors) {
        this.memory = memory;
        this.head = head;
        List<Descriptor> r = new ArrayList<>();
        List<Descriptor> w = new ArrayList<>();
        long rl = 0;
        long wl = 0;
        for (Descriptor d : descriptors) {
            // Empty buffers carry nothing and their addresses were not checked: leave them out.
            if (d.length() == 0) continue;
            // At most 32768 descriptors of under 2^32 bytes each: the sums cannot overflow.
            if (d.writable()) {
                w.add(d);
                wl += d.length();
            } else {
                r.add(d);
                rl += d.length();
            }
        }
        this.readable = List.copyOf(r);
        this.writable = List.copyOf(w);
        this.readableLength = rl;
        this.writableLength = wl;
    }

    /** The head descriptor's index: the id that goes into the used ring. */
    public int head() {
        return head;
    }

    public List<Descriptor> readable() {
        return readable;
    }

    public List<Descriptor> writable() {
        return writable;
    }

    /** Total bytes of the device-readable buffers. */
    public long readableLength() {
        return readableLength;
    }

    /** Total bytes of the device-writable buffers. */
    public long writableLength() {
        return writableLength;
    }

    /** Copies {@code length} bytes of the readable part, from {@code offset}, into {@code dst}. */
    public void read(long offset, byte[] dst, int dstOffset, int length) {
        Objects.checkFromIndexSize(dstOffset, length, dst.length);
        visit(readable, readableLength, offset, length,
                (gpa, n, done) -> memory.read(gpa, dst, dstOffset + (int) done, (int) n));
    }

    /** Copies {@code length} bytes of {@code src} into the writable part at {@code offset}. */
    public void write(long offset, byte[] src, int srcOffset, int length) {
        Objects.checkFromIndexSize(srcOffset, length, src.length);
        visit(writable, writableLength, offset, length,
                (gpa, n, done) -> memory.write(gpa, src, srcOffset + (int) done, (int) n));
    }

    /**
     * Zero-copy views of {@code [offset, offset + length)} of the readable part, in order; each lies
     * in one memory region and is at most 1 GiB.
     */
    public List<MemorySegment> readableSegments(long offset, long length) {
        List<MemorySegment> out = new ArrayList<>();
        visit(readable, readableLength, offset, length, (gpa, n, done) -> split(gpa, n, out, false));
        return out;
    }

    /** Writable views of {@code [offset, offset + length)} of the writable part; see {@link #readableSegments}. */
    public List<MemorySegment> writableSegments(long offset, long length) {
        List<MemorySegment> out = new ArrayList<>();
        visit(writable, writableLength, offset, length, (gpa, n, done) -> split(gpa, n, out, true));
        return out;
    }

    private void split(long gpa, long length, List<MemorySegment> out, boolean forWrite) {
        while (length > 0) {
            MemoryRegion r = GuestRanges.regionOf(memory, gpa);
            long n = Math.min(Math.min(length, r.guestBase() + r.size() - gpa), MAX_SEGMENT);
            out.add(forWrite ? memory.sliceForWrite(gpa, n) : memory.slice(gpa, n));
            gpa += n;
            length -= n;
        }
    }

    @FunctionalInterface
    private interface Piece {
        /** {@code n} bytes at {@code gpa}, which are bytes {@code done..done+n} of the requested range. */
        void accept(long gpa, long n, long done);
    }

    private static void visit(List<Descriptor> part, long partLength, long offset, long length, Piece piece) {
        Objects.checkFromIndexSize(offset, length, partLength);
        long skip = offset;
        long done = 0;
        for (Descriptor d : part) {
            if (done == length) break;
            if (skip >= d.length()) {
                skip -= d.length();
                continue;
            }
            long n = Math.min(d.length() - skip, length - done);
            piece.accept(d.address() + skip, n, done);
            done += n;
            skip = 0;
        }
    }

    @Override
    public String toString() {
        return "DescriptorChain[head=" + head + ", readable=" + readableLength + ", writable=" + writableLength + "]";
    }
}
