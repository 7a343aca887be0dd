package io.aether.vmm;

import io.aether.common.BusDevice;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * An address space of devices (the port I/O space or the MMIO space): each device owns a range,
 * and an access is routed to the device whose range holds all of it, with the offset into that
 * range. Built before the vCPUs start, read-only afterwards, so lookups need no lock.
 */
final class Bus {

    record Range(long base, long length, String name, BusDevice device) {
        Range {
            if (length <= 0 || base < 0 || base + length < base) throw new IllegalArgumentException("bad range for " + name);
        }

        long end() {
            return base + length;
        }
    }

    private final String space;
    private final TreeMap<Long, Range> ranges = new TreeMap<>();
    private final LongAdder unclaimed = new LongAdder();

    Bus(String space) {
        this.space = space;
    }

    void register(long base, long length, String name, BusDevice device) {
        Range range = new Range(base, length, name, device);
        Map.Entry<Long, Range> below = ranges.floorEntry(range.end() - 1);
        if (below != null && below.getValue().end() > base) {
            throw new IllegalArgumentException(space + " range of " + name + " at 0x" + Long.toHexString(base)
                    + " overlaps " + below.getValue().name());
        }
        ranges.put(base, range);
    }

    /** The range holding all of {@code [address, address + size)}, or null. */
    Range find(long address, int size) {
        Map.Entry<Long, Range> e = ranges.floorEntry(address);
        if (e == null) return null;
        Range r = e.getValue();
        return address + size <= r.end() ? r : null;
    }

    /** Routes a read; an access nobody claims reads as all ones, like an empty bus. */
    boolean read(long address, byte[] data) {
        Range r = find(address, data.length);
        if (r == null) {
            java.util.Arrays.fill(data, (byte) 0xFF);
            unclaimed.increment();
            return false;
        }
        r.device().read(address - r.base(), data);
        return true;
    }

    /** Routes a write; a write nobody claims is dropped. */
    boolean write(long address, byte[] data) {
        Range r = find(address, data.length);
        if (r == null) {
            unclaimed.increment();
            return false;
        }
        r.device().write(address - r.base(), data);
        return true;
    }

    /** Accesses that hit no device (counted, never fatal: guests probe for hardware). */
    long unclaimedAccesses() {
        return unclaimed.sum();
    }
}
