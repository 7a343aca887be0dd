package io.aether.agentapi;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * What the controllers want one node to run: every VM, not a change, so that applying it twice
 * or an older one after a newer one (a node keeps the highest revision) ends in the same place.
 * A node keeps the last one on disk and goes on running it while cut off.
 *
 * @param node the node's name
 * @param revision the sequence number of the last fabric event that changed this node's set
 * @param vms VM id (the allocation's stable id, {@code job.replica}) to its spec in
 *     {@link io.aether.vmspec.VmSpecJson}'s form
 */
public record DesiredVms(String node, long revision, Map<String, JsonNode> vms) {

    /** As many VMs as an agent holds labels for: far above any node's capacity, small enough to read in one go. */
    public static final int MAX_VMS = 4096;

    public DesiredVms {
        Objects.requireNonNull(node, "node");
        if (revision < 0) throw new IllegalArgumentException("revision: " + revision + " is negative");
        vms = vms == null ? Map.of() : vms;
        if (vms.size() > MAX_VMS) throw new IllegalArgumentException("vms: " + vms.size() + " VMs (at most " + MAX_VMS + ")");
        for (Map.Entry<String, JsonNode> e : vms.entrySet()) {
            Names.requireVmId(e.getKey());
            if (e.getValue() == null || !e.getValue().isObject()) throw new IllegalArgumentException("vms." + e.getKey() + ": expected an object");
        }
        vms = java.util.Collections.unmodifiableSortedMap(new TreeMap<>(vms));
    }
}
