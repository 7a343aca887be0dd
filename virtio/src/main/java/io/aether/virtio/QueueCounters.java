package io.aether.virtio;

import java.util.EnumMap;
import java.util.Map;

/**
 * A snapshot of one virtqueue's counters; they add up as
 * {@code taken == chains + (sum of per-chain faults)}.
 *
 * @param taken available-ring entries consumed
 * @param chains valid chains handed to the device
 * @param used used-ring entries written (including bad chains completed with 0 bytes)
 * @param interrupts times the queue asked the transport to interrupt the driver
 * @param faults guest errors by kind
 */
public record QueueCounters(long taken, long chains, long used, long interrupts, Map<QueueFault, Long> faults) {

    public QueueCounters {
        EnumMap<QueueFault, Long> all = new EnumMap<>(QueueFault.class);
        for (QueueFault f : QueueFault.values()) all.put(f, faults.getOrDefault(f, 0L));
        faults = Map.copyOf(all);
    }

    /** Faults of one kind. */
    public long faults(QueueFault kind) {
        return faults.get(kind);
    }

    /** All faults. */
    public long totalFaults() {
        return faults.values().stream().mapToLong(Long::longValue).sum();
    }
}
