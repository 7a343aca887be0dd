package io.aether.memory;

import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * The guest's physical memory as devices and loaders see it: bounds-checked reads and writes at
 * guest-physical addresses. Every address may come from a hostile guest; an access that leaves
 * guest RAM throws {@link GuestMemoryException} and touches nothing.
 *
 * <p>Multi-byte values are little-endian, as on x86 and as virtio requires. Accesses that span two
 * adjacent regions are allowed for byte copies ({@link #read}, {@link #write}); {@link #slice}
 * gives a zero-copy view of a range inside one region.
 */
public interface GuestMemory extends AutoCloseable {

    /** Maps anonymous memory for each region (lazily backed: untouched pages cost no host RAM). */
    static GuestMemory anonymous(List<RegionSpec> regions) {
        return MappedGuestMemory.anonymous(regions);
    }

    /**
     * Maps {@code file} as the guest's memory, lazily and copy-on-write ({@code MAP_PRIVATE}):
     * nothing is read until the guest touches a page, and what the guest writes stays in this
     * process; the file is never written. The file holds the regions one after another in
     * guest-physical order (a snapshot's memory file), so its size must be their total.
     *
     * @throws IllegalArgumentException naming the file, if it cannot be read or has another size
     */
    static GuestMemory privateFile(List<RegionSpec> regions, java.nio.file.Path file) {
        return MappedGuestMemory.privateFile(regions, file);
    }

    /** The regions in ascending guest-physical order. */
    List<MemoryRegion> regions();

    /** Whether {@code [gpa, gpa + length)} lies wholly in guest memory; never for a negative length. */
    boolean contains(long gpa, long length);

    /** A view of {@code [gpa, gpa + length)}, which must lie in one region, for reading. */
    MemorySegment slice(long gpa, long length);

    /**
     * A view of {@code [gpa, gpa + length)} for writing: refuses read-only regions and marks the
     * range dirty when dirty logging is on.
     */
    MemorySegment sliceForWrite(long gpa, long length);

    void read(long gpa, byte[] dst, int offset, int length);

    void write(long gpa, byte[] src, int offset, int length);

    /** Copies {@code length} bytes out; checks the range before allocating anything. */
    default byte[] read(long gpa, int length) {
        if (length < 0 || !contains(gpa, length)) throw new GuestMemoryException("outside guest memory", gpa, length);
        byte[] b = new byte[length];
        read(gpa, b, 0, length);
        return b;
    }

    default void write(long gpa, byte[] src) {
        write(gpa, src, 0, src.length);
    }

    byte readByte(long gpa);

    short readShort(long gpa);

    int readInt(long gpa);

    long readLong(long gpa);

    void writeByte(long gpa, byte value);

    void writeShort(long gpa, short value);

    void writeInt(long gpa, int value);

    void writeLong(long gpa, long value);

    /** A 16-bit read with acquire ordering (virtqueue ring indices); {@code gpa} must be 2-aligned. */
    short readShortAcquire(long gpa);

    /** A 16-bit write with release ordering (virtqueue ring indices); {@code gpa} must be 2-aligned. */
    void writeShortRelease(long gpa, short value);

    /** A full fence between the monitor's guest-memory accesses (virtio's memory barrier). */
    default void fence() {
        java.lang.invoke.VarHandle.fullFence();
    }

    /** Sets every byte of {@code [gpa, gpa + length)} to {@code value}, or refuses all of it. */
    void fill(long gpa, long length, byte value);

    /** Total bytes of guest memory. */
    default long size() {
        return regions().stream().mapToLong(MemoryRegion::size).sum();
    }

    /** Dirty-page logging of writes made through this interface (the monitor's own writes). */
    DirtyLog dirtyLog();

    /** Unmaps the memory. The VM must be gone first. */
    @Override
    void close();
}
