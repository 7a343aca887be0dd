package io.aether.fabricapi;

import java.util.List;
import java.util.Objects;

/**
 * What one node is to run: the whole set, not a change, so that a node applying it twice or
 * applying an older one after a newer one (it keeps the highest revision) ends in the same place.
 * A node keeps the last one on disk and keeps running it while cut off from the controllers.
 *
 * @param node the node's name
 * @param revision the sequence number of the last event that changed this node's set; 0 for none
 * @param allocations every replica the node is to run, ordered by id
 */
public record DesiredState(String node, long revision, List<Allocation> allocations) {

    public DesiredState {
        Objects.requireNonNull(node, "node");
        allocations = List.copyOf(allocations);
        if (revision < 0) throw new IllegalArgumentException("revision: " + revision + " is negative");
        for (Allocation a : allocations) {
            if (!a.node().equals(node)) throw new IllegalArgumentException("allocations: " + a.id() + " is for node " + a.node() + ", not " + node);
        }
    }
}
