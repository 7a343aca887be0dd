package io.aether.memory;

import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * Guest memory as the tests expect it to behave, written apart from {@link MappedGuestMemory}:
 * each region a byte array, and every bounds question answered by walking inclusive byte
 * addresses (first and last byte of each region), never by comparing lengths as the product
 * does. An access either happens whole or is refused and changes nothing.
 */
final class MemoryModel {

    /** What an access gave: its bytes or value in hex, or {@link #REFUSED}. */
    static final String REFUSED = "refused";

    private record Region(long first, long last, byte[] bytes, boolean readOnly) {
        boolean holds(long address) {
            return first <= address && address <= last;
        }
    }

    private final List<Region> regions = new ArrayList<>();

    MemoryModel(List<RegionSpec> specs) {
        for (RegionSpec spec : specs) {
            byte[] bytes = new byte[Math.toIntExact(spec.size())];
            regions.add(new Region(spec.guestBase(), spec.guestBase() + (spec.size() - 1), bytes, spec.readOnly()));
        }
    }

    private Region regionOf(long address) {
        for (Region r : regions) {
            if (r.holds(address)) return r;
        }
        return null;
    }

    /**
     * Whether {@code [gpa, gpa + length)} is all guest memory. An empty range is where a region
     * starts, inside one, or just past one's last byte.
     */
    boolean covers(long gpa, long length) {
        if (length < 0) return false;
        if (length == 0) return emptyRangeAt(gpa) != null;
        long next = gpa;
        long left = length;
        while (true) {
            Region r = regionOf(next);
            if (r == null) return false;
            long inThisRegion = r.last - next + 1;
            if (left <= inThisRegion) return true;
            left -= inThisRegion;
            if (r.last == Long.MAX_VALUE) return false;
            next = r.last + 1;
        }
    }

    /** The one region holding all of {@code [gpa, gpa + length)}, or null. */
    private Region within(long gpa, long length) {
        if (length < 0) return null;
        if (length == 0) return emptyRangeAt(gpa);
        Region r = regionOf(gpa);
        if (r == null) return null;
        long room = r.last - gpa + 1;
        return length <= room ? r : null;
    }

    private Region emptyRangeAt(long gpa) {
        for (Region r : regions) {
            if (r.first <= gpa && (gpa <= r.last || gpa - 1 == r.last)) return r;
        }
        return null;
    }

    boolean writable(long gpa, long length) {
        if (!covers(gpa, length)) return false;
        for (Region r : regions) {
            if (r.readOnly && overlaps(r, gpa, length)) return false;
        }
        return true;
    }

    private static boolean overlaps(Region r, long gpa, long length) {
        if (length == 0) return false;
        long lastByte = gpa + (length - 1); // covered, so no overflow
        return gpa <= r.last && r.first <= lastByte;
    }

    byte get(long address) {
        Region r = regionOf(address);
        return r.bytes[Math.toIntExact(address - r.first)];
    }

    void put(long address, byte value) {
        Region r = regionOf(address);
        r.bytes[Math.toIntExact(address - r.first)] = value;
    }

    /** The region's bytes as the model has them (for comparison with the host mapping). */
    byte[] contents(int region) {
        return regions.get(region).bytes;
    }

    /** {@code length} bytes from {@code gpa} in hex, or {@link #REFUSED}. */
    String read(long gpa, long length) {
        if (!covers(gpa, length)) return REFUSED;
        return hex(gpa, length);
    }

    /** As {@link #read}, but the range must lie in one region (a slice). */
    String slice(long gpa, long length) {
        return within(gpa, length) == null ? REFUSED : hex(gpa, length);
    }

    /** A slice for writing, filled with {@code value} through it. */
    String sliceForWrite(long gpa, long length, byte value) {
        Region r = within(gpa, length);
        if (r == null || r.readOnly) return REFUSED;
        for (long i = 0; i < length; i++) put(gpa + i, value);
        return hex(gpa, length);
    }

    /** A little-endian value of {@code size} bytes, as unsigned hex. */
    String readValue(long gpa, int size) {
        if (!covers(gpa, size)) return REFUSED;
        return value(gpa, size);
    }

    String writeValue(long gpa, int size, long value) {
        if (!writable(gpa, size)) return REFUSED;
        for (int i = 0; i < size; i++) put(gpa + i, (byte) (value >>> (8 * i)));
        return "written";
    }

    String write(long gpa, byte[] src) {
        if (!writable(gpa, src.length)) return REFUSED;
        for (int i = 0; i < src.length; i++) put(gpa + i, src[i]);
        return "written";
    }

    String fill(long gpa, long length, byte value) {
        if (!writable(gpa, length)) return REFUSED;
        for (long i = 0; i < length; i++) put(gpa + i, value);
        return "written";
    }

    /** A ring index: 2-aligned and in one region. */
    String readShortAcquire(long gpa) {
        if (gpa % 2 != 0 || within(gpa, 2) == null) return REFUSED;
        return value(gpa, 2);
    }

    String writeShortRelease(long gpa, short value) {
        Region r = gpa % 2 != 0 ? null : within(gpa, 2);
        if (r == null || r.readOnly) return REFUSED;
        return writeValue(gpa, 2, value);
    }

    private String value(long gpa, int size) {
        long v = 0;
        for (int i = size - 1; i >= 0; i--) v = v << 8 | Byte.toUnsignedLong(get(gpa + i));
        return Long.toHexString(v);
    }

    private String hex(long gpa, long length) {
        byte[] b = new byte[Math.toIntExact(length)];
        for (int i = 0; i < b.length; i++) b[i] = get(gpa + i);
        return HexFormat.of().formatHex(b);
    }
}
