package io.aether.memory;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Pages of guest memory written by the monitor (device DMA, loaders) while logging is on.
 *
 * <p>KVM tracks the guest's own writes per memory slot; snapshots and migration merge that
 * bitmap with this one, which covers the writes KVM cannot see. Bit {@code i} of a region's
 * bitmap stands for the page at {@code guestBase + i * 4096}, as in {@code KVM_GET_DIRTY_LOG}.
 */
public final class DirtyLog {

    private final AtomicLongArray[] bitmaps;
    private final long[] bases;
    private volatile boolean enabled;

    DirtyLog(java.util.List<MemoryRegion> regions) {
        bitmaps = new AtomicLongArray[regions.size()];
        bases = new long[regions.size()];
        for (int i = 0; i < bitmaps.length; i++) {
            long pages = regions.get(i).size() / RegionSpec.PAGE_SIZE;
            bitmaps[i] = new AtomicLongArray((int) ((pages + 63) / 64));
            bases[i] = regions.get(i).guestBase();
        }
    }

    /** Starts logging; bitmaps start clean. */
    public void enable() {
        for (AtomicLongArray b : bitmaps) {
            for (int i = 0; i < b.length(); i++) b.set(i, 0);
        }
        enabled = true;
    }

    public void disable() {
        enabled = false;
    }

    public boolean enabled() {
        return enabled;
    }

    void mark(int region, long gpa, long length) {
        if (!enabled || length <= 0) return;
        AtomicLongArray bitmap = bitmaps[region];
        long first = (gpa - bases[region]) / RegionSpec.PAGE_SIZE;
        long last = (gpa - bases[region] + length - 1) / RegionSpec.PAGE_SIZE;
        for (long page = first; page <= last; page++) {
            int word = (int) (page >>> 6);
            long bit = 1L << (page & 63);
            if ((bitmap.get(word) & bit) == 0) bitmap.getAndUpdate(word, w -> w | bit);
        }
    }

    /** Returns the region's bitmap and clears it, as {@code KVM_GET_DIRTY_LOG} does. */
    public long[] take(int region) {
        AtomicLongArray bitmap = bitmaps[region];
        long[] out = new long[bitmap.length()];
        for (int i = 0; i < out.length; i++) out[i] = bitmap.getAndSet(i, 0);
        return out;
    }
}
