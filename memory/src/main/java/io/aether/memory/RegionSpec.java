package io.aether.memory;

/**
 * Where one region of guest memory sits in the guest-physical address space.
 *
 * @param guestBase page-aligned guest-physical start
 * @param size page-aligned length, at least one page
 * @param readOnly the guest cannot write it (KVM reports a write as an MMIO exit)
 */
public record RegionSpec(long guestBase, long size, boolean readOnly) {

    public static final long PAGE_SIZE = 4096;

    public RegionSpec {
        if (guestBase < 0 || guestBase % PAGE_SIZE != 0) {
            throw new IllegalArgumentException("region base 0x" + Long.toHexString(guestBase) + " is not page-aligned");
        }
        if (size < PAGE_SIZE || size % PAGE_SIZE != 0) {
            throw new IllegalArgumentException("region size " + size + " is not a positive multiple of the page size");
        }
        if (guestBase + size < guestBase) {
            throw new IllegalArgumentException("region at 0x" + Long.toHexString(guestBase) + " overflows the address space");
        }
    }

    public static RegionSpec ram(long guestBase, long size) {
        return new RegionSpec(guestBase, size, false);
    }

    public long end() {
        return guestBase + size;
    }

    boolean overlaps(RegionSpec other) {
        return guestBase < other.end() && other.guestBase < end();
    }
}
