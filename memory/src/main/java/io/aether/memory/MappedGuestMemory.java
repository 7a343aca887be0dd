package io.aether.memory;

import io.aether.sys.Errno;
import io.aether.sys.Libc;
import io.aether.sys.NativeCallException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** Guest memory backed by host mappings, one per region: anonymous, or a file's pages copied on write. */
final class MappedGuestMemory implements GuestMemory {

    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle SHORT_ATOMIC = ValueLayout.JAVA_SHORT.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();

    private final List<MemoryRegion> regions;
    private final DirtyLog dirtyLog;
    private volatile boolean closed;

    private MappedGuestMemory(List<MemoryRegion> regions) {
        this.regions = List.copyOf(regions);
        this.dirtyLog = new DirtyLog(this.regions);
    }

    static MappedGuestMemory anonymous(List<RegionSpec> specs) {
        List<RegionSpec> sorted = sorted(specs);
        List<MemoryRegion> regions = new ArrayList<>();
        try {
            for (RegionSpec spec : sorted) {
                MemorySegment host = Libc.mmap("mmap guest memory (" + spec.size() + " bytes)", spec.size(),
                        Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS | Libc.MAP_NORESERVE, -1, 0);
                regions.add(new MemoryRegion(regions.size(), spec, host));
                neverMerged(host);
            }
        } catch (RuntimeException e) {
            regions.forEach(r -> Libc.munmap(r.host()));
            throw e;
        }
        return new MappedGuestMemory(regions);
    }

    /**
     * Keeps the guest's pages out of the kernel's same-page merging (KSM), even where the monitor
     * made all of its own memory mergeable ({@code PR_SET_MEMORY_MERGE}; the advice wins over it):
     * a page shared with another tenant's guest would tell either, by the time a write to it takes
     * (a copy), what the other holds, and every guest write to a merged page costs a copy fault.
     * A kernel without KSM answers EINVAL: nothing there is ever merged.
     */
    private static void neverMerged(MemorySegment host) {
        try {
            Libc.madvise("madvise guest memory MADV_UNMERGEABLE", host, Libc.MADV_UNMERGEABLE);
        } catch (NativeCallException e) {
            if (e.errno() != Errno.EINVAL) throw e;
        }
    }

    /** The regions in guest-physical order, refused if there are none or two overlap. */
    private static List<RegionSpec> sorted(List<RegionSpec> specs) {
        if (specs.isEmpty()) throw new IllegalArgumentException("guest memory needs at least one region");
        List<RegionSpec> sorted = new ArrayList<>(specs);
        sorted.sort(Comparator.comparingLong(RegionSpec::guestBase));
        for (int i = 1; i < sorted.size(); i++) {
            if (sorted.get(i - 1).overlaps(sorted.get(i))) {
                throw new IllegalArgumentException("guest memory regions overlap: " + sorted.get(i - 1) + " and " + sorted.get(i));
            }
        }
        return sorted;
    }

    /**
     * Maps {@code file} privately (copy-on-write): the regions one after another in guest-physical
     * order, as {@link GuestMemory#privateFile} describes. The descriptor is closed once mapped;
     * the mappings keep the file's pages alive even if it is replaced or removed.
     */
    static MappedGuestMemory privateFile(List<RegionSpec> specs, Path file) {
        List<RegionSpec> sorted = sorted(specs);
        long total = sorted.stream().mapToLong(RegionSpec::size).sum();
        long size;
        try {
            size = Files.size(file);
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": cannot read: " + e.getMessage(), e);
        }
        if (size != total) {
            throw new IllegalArgumentException(file + ": " + size + " bytes, but the guest's memory is " + total + " bytes");
        }
        int fd = Libc.open(file.toString(), Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
        List<MemoryRegion> regions = new ArrayList<>();
        try {
            long offset = 0;
            for (RegionSpec spec : sorted) {
                // Writable and private: the guest's writes land in pages of this process, never in the file.
                MemorySegment host = Libc.mmap("mmap " + file + " (" + spec.size() + " bytes at " + offset + ")", spec.size(),
                        Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_PRIVATE | Libc.MAP_NORESERVE, fd, offset);
                regions.add(new MemoryRegion(regions.size(), spec, host));
                neverMerged(host);
                offset += spec.size();
            }
        } catch (RuntimeException e) {
            regions.forEach(r -> Libc.munmap(r.host()));
            throw e;
        } finally {
            Libc.close(fd);
        }
        return new MappedGuestMemory(regions);
    }

    @Override
    public List<MemoryRegion> regions() {
        return regions;
    }

    @Override
    public DirtyLog dirtyLog() {
        return dirtyLog;
    }

    /** The index of the region holding all of {@code [gpa, gpa+length)}, or -1. */
    private int find(long gpa, long length) {
        for (int i = 0; i < regions.size(); i++) {
            if (regions.get(i).contains(gpa, length)) return i;
        }
        return -1;
    }

    private int require(long gpa, long length) {
        if (closed) throw new IllegalStateException("guest memory is closed");
        int i = find(gpa, length);
        if (i < 0) throw new GuestMemoryException("outside guest memory", gpa, length);
        return i;
    }

    private int requireWritable(long gpa, long length) {
        int i = require(gpa, length);
        if (regions.get(i).readOnly()) throw new GuestMemoryException("write to read-only memory", gpa, length);
        dirtyLog.mark(i, gpa, length);
        return i;
    }

    private long offset(int region, long gpa) {
        return gpa - regions.get(region).guestBase();
    }

    @Override
    public boolean contains(long gpa, long length) {
        if (length < 0) return false;
        if (length == 0) return find(gpa, 0) >= 0;
        long done = 0;
        while (done < length) {
            int i = find(gpa + done, 1);
            if (i < 0) return false;
            MemoryRegion r = regions.get(i);
            done += Math.min(length - done, r.guestBase() + r.size() - (gpa + done));
        }
        return true;
    }

    @Override
    public MemorySegment slice(long gpa, long length) {
        int i = require(gpa, length);
        return regions.get(i).host().asSlice(offset(i, gpa), length);
    }

    @Override
    public MemorySegment sliceForWrite(long gpa, long length) {
        int i = requireWritable(gpa, length);
        return regions.get(i).host().asSlice(offset(i, gpa), length);
    }

    @Override
    public void read(long gpa, byte[] dst, int offset, int length) {
        java.util.Objects.checkFromIndexSize(offset, length, dst.length);
        if (!contains(gpa, length)) throw new GuestMemoryException("outside guest memory", gpa, length);
        int done = 0;
        while (done < length) {
            int i = require(gpa + done, 1);
            MemoryRegion r = regions.get(i);
            int n = (int) Math.min(length - done, r.guestBase() + r.size() - (gpa + done));
            MemorySegment.copy(r.host(), ValueLayout.JAVA_BYTE, offset(i, gpa + done), dst, offset + done, n);
            done += n;
        }
    }

    /** Checks every piece of a range that may span regions before any is written, so a refused write changes nothing. */
    private void requireAllWritable(long gpa, long length) {
        if (!contains(gpa, length)) throw new GuestMemoryException("outside guest memory", gpa, length);
        for (long done = 0; done < length; ) {
            MemoryRegion r = regions.get(require(gpa + done, 1));
            if (r.readOnly()) throw new GuestMemoryException("write to read-only memory", gpa, length);
            done += Math.min(length - done, r.guestBase() + r.size() - (gpa + done));
        }
    }

    @Override
    public void write(long gpa, byte[] src, int offset, int length) {
        java.util.Objects.checkFromIndexSize(offset, length, src.length);
        requireAllWritable(gpa, length);
        int done = 0;
        while (done < length) {
            int i = requireWritable(gpa + done, 1);
            MemoryRegion r = regions.get(i);
            int n = (int) Math.min(length - done, r.guestBase() + r.size() - (gpa + done));
            dirtyLog.mark(i, gpa + done, n);
            MemorySegment.copy(src, offset + done, r.host(), ValueLayout.JAVA_BYTE, offset(i, gpa + done), n);
            done += n;
        }
    }

    @Override
    public byte readByte(long gpa) {
        int i = require(gpa, 1);
        return regions.get(i).host().get(ValueLayout.JAVA_BYTE, offset(i, gpa));
    }

    @Override
    public short readShort(long gpa) {
        int i = find(gpa, 2);
        if (i < 0) return java.nio.ByteBuffer.wrap(read(gpa, 2)).order(ByteOrder.LITTLE_ENDIAN).getShort();
        return regions.get(require(gpa, 2)).host().get(SHORT, offset(i, gpa));
    }

    @Override
    public int readInt(long gpa) {
        int i = find(gpa, 4);
        if (i < 0) return java.nio.ByteBuffer.wrap(read(gpa, 4)).order(ByteOrder.LITTLE_ENDIAN).getInt();
        return regions.get(require(gpa, 4)).host().get(INT, offset(i, gpa));
    }

    @Override
    public long readLong(long gpa) {
        int i = find(gpa, 8);
        if (i < 0) return java.nio.ByteBuffer.wrap(read(gpa, 8)).order(ByteOrder.LITTLE_ENDIAN).getLong();
        return regions.get(require(gpa, 8)).host().get(LONG, offset(i, gpa));
    }

    @Override
    public void writeByte(long gpa, byte value) {
        int i = requireWritable(gpa, 1);
        regions.get(i).host().set(ValueLayout.JAVA_BYTE, offset(i, gpa), value);
    }

    @Override
    public void writeShort(long gpa, short value) {
        int i = find(gpa, 2);
        if (i < 0) {
            write(gpa, java.nio.ByteBuffer.allocate(2).order(ByteOrder.LITTLE_ENDIAN).putShort(value).array());
            return;
        }
        requireWritable(gpa, 2);
        regions.get(i).host().set(SHORT, offset(i, gpa), value);
    }

    @Override
    public void writeInt(long gpa, int value) {
        int i = find(gpa, 4);
        if (i < 0) {
            write(gpa, java.nio.ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(value).array());
            return;
        }
        requireWritable(gpa, 4);
        regions.get(i).host().set(INT, offset(i, gpa), value);
    }

    @Override
    public void writeLong(long gpa, long value) {
        int i = find(gpa, 8);
        if (i < 0) {
            write(gpa, java.nio.ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(value).array());
            return;
        }
        requireWritable(gpa, 8);
        regions.get(i).host().set(LONG, offset(i, gpa), value);
    }

    @Override
    public short readShortAcquire(long gpa) {
        if ((gpa & 1) != 0) throw new GuestMemoryException("misaligned 16-bit access", gpa, 2);
        int i = require(gpa, 2);
        return (short) SHORT_ATOMIC.getAcquire(regions.get(i).host(), offset(i, gpa));
    }

    @Override
    public void writeShortRelease(long gpa, short value) {
        if ((gpa & 1) != 0) throw new GuestMemoryException("misaligned 16-bit access", gpa, 2);
        int i = requireWritable(gpa, 2);
        SHORT_ATOMIC.setRelease(regions.get(i).host(), offset(i, gpa), value);
    }

    @Override
    public void fill(long gpa, long length, byte value) {
        requireAllWritable(gpa, length);
        long done = 0;
        while (done < length) {
            int i = requireWritable(gpa + done, 1);
            MemoryRegion r = regions.get(i);
            long n = Math.min(length - done, r.guestBase() + r.size() - (gpa + done));
            dirtyLog.mark(i, gpa + done, n);
            r.host().asSlice(offset(i, gpa + done), n).fill(value);
            done += n;
        }
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        regions.forEach(r -> Libc.munmap(r.host()));
    }
}
