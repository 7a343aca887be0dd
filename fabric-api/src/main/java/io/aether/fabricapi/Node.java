package io.aether.fabricapi;

import java.util.Collections;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * A node as the controller knows it once it has joined.
 *
 * @param name unique in the fabric: {@link JobSpec#NAME}
 * @param labels what job constraints match against
 * @param capacity what the node offers to workloads
 * @param status whether work may run on it
 * @param volumes the room of its volume store, as it last reported it ({@link VolumeSpace#NONE} until it does)
 */
public record Node(String name, SortedMap<String, String> labels, Resources capacity, Status status, VolumeSpace volumes) {

    /**
     * A node's volume store: its configured quota and what is left of it, as the node counts them
     * (by size, not by the blocks written).
     *
     * @param capacityBytes the node's volume quota
     * @param freeBytes what no volume holds yet
     * @param jobBytes what the fabric's job volumes on the node hold (the rest of the used part is the node's own volumes)
     */
    public record VolumeSpace(long capacityBytes, long freeBytes, long jobBytes) {
        public static final VolumeSpace NONE = new VolumeSpace(0, 0, 0);

        public VolumeSpace {
            if (capacityBytes < 0) throw new IllegalArgumentException("volumes.capacityBytes: " + capacityBytes + " is negative");
            if (freeBytes < 0 || freeBytes > capacityBytes) {
                throw new IllegalArgumentException("volumes.freeBytes: " + freeBytes + " is not between 0 and the capacity, " + capacityBytes);
            }
            if (jobBytes < 0) throw new IllegalArgumentException("volumes.jobBytes: " + jobBytes + " is negative");
        }

        /**
         * What job volumes may hold on the node in all: the quota less the node's own volumes
         * (capped at the quota: a node whose quota was lowered under its volumes offers none).
         */
        public long forJobs() {
            return jobBytes >= capacityBytes - freeBytes ? capacityBytes : freeBytes + jobBytes;
        }
    }

    public enum Status {
        /** Takes new work. */
        READY,
        /** Takes no new work; the scheduler moves its replicas to other nodes (pending where none fits). */
        DRAINING,
        /** No longer admitted: its pulls and reports are refused, its replicas go elsewhere, its name and key stay taken. */
        REVOKED
    }

    public Node {
        Objects.requireNonNull(name, "name");
        labels = Collections.unmodifiableSortedMap(new TreeMap<>(labels));
        Objects.requireNonNull(capacity, "capacity");
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(volumes, "volumes");
        if (!JobSpec.NAME.matcher(name).matches()) throw new IllegalArgumentException("name: '" + JobSpec.printable(name) + "' is not a node name");
        labels.forEach((key, value) -> {
            if (!JobSpec.NAME.matcher(key).matches() || value.isEmpty() || value.length() > 63) {
                throw new IllegalArgumentException("labels: '" + JobSpec.printable(key) + "=" + JobSpec.printable(value) + "' is not a label");
            }
        });
    }

    /** A node that has not reported a volume store. */
    public Node(String name, SortedMap<String, String> labels, Resources capacity, Status status) {
        this(name, labels, capacity, status, VolumeSpace.NONE);
    }

    public Node withStatus(Status value) {
        return new Node(name, labels, capacity, value, volumes);
    }

    public Node withVolumes(VolumeSpace value) {
        return new Node(name, labels, capacity, status, value);
    }
}
