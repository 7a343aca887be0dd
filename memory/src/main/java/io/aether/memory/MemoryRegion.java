package io.aether.memory;

import java.lang.foreign.MemorySegment;

/**
 * One mapped region of guest memory.
 *
 * @param slot its index, used as the KVM memory slot number
 * @param spec where it sits in guest-physical space
 * @param host the host mapping behind it; only the monitor's memory-slot registration and boot
 *     setup use it, devices go through {@link GuestMemory}'s checked accessors
 */
public record MemoryRegion(int slot, RegionSpec spec, MemorySegment host) {

    public long guestBase() {
        return spec.guestBase();
    }

    public long size() {
        return spec.size();
    }

    public boolean readOnly() {
        return spec.readOnly();
    }

    boolean contains(long gpa, long length) {
        return gpa >= spec.guestBase() && length >= 0 && gpa - spec.guestBase() <= spec.size() - length;
    }
}
