package io.aether.virtio;

import io.aether.memory.GuestMemory;
import io.aether.memory.MemoryRegion;

/** Checks on guest-physical ranges that {@link GuestMemory} itself does not answer. */
final class GuestRanges {

    private GuestRanges() {
    }

    /** Whether {@code [gpa, gpa + length)} is guest RAM and none of it is read-only. */
    static boolean writable(GuestMemory memory, long gpa, long length) {
        if (!memory.contains(gpa, length)) return false;
        long end = gpa + length;
        for (MemoryRegion r : memory.regions()) {
            boolean overlaps = r.guestBase() < end && gpa < r.guestBase() + r.size();
            if (overlaps && r.readOnly()) return false;
        }
        return true;
    }

    /** The region holding {@code gpa}; the caller has checked that one does. */
    static MemoryRegion regionOf(GuestMemory memory, long gpa) {
        for (MemoryRegion r : memory.regions()) {
            if (gpa >= r.guestBase() && gpa - r.guestBase() < r.size()) return r;
        }
        throw new IllegalStateException("no region holds 0x" + Long.toHexString(gpa));
    }
}
