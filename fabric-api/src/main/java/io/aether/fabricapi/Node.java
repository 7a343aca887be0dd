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
 */
public record Node(String name, SortedMap<String, String> labels, Resources capacity, Status status) {

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
        if (!JobSpec.NAME.matcher(name).matches()) throw new IllegalArgumentException("name: '" + JobSpec.printable(name) + "' is not a node name");
        labels.forEach((key, value) -> {
            if (!JobSpec.NAME.matcher(key).matches() || value.isEmpty() || value.length() > 63) {
                throw new IllegalArgumentException("labels: '" + JobSpec.printable(key) + "=" + JobSpec.printable(value) + "' is not a label");
            }
        });
    }

    public Node withStatus(Status value) {
        return new Node(name, labels, capacity, value);
    }
}
