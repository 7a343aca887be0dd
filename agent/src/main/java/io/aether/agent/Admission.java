package io.aether.agent;

import io.aether.agentapi.NodeInfo;
import io.aether.vmspec.VmSpec;
import java.util.HashMap;
import java.util.Map;

/**
 * vCPUs and memory admitted against the node's capacity times the overcommit ratio. A VM holds
 * its share from start until its monitor ends; the check and the reservation are one step, so
 * two starts cannot both take the last room.
 */
final class Admission {

    private final NodeInfo.Capacity capacity;
    private final Map<String, VmSpec> held = new HashMap<>();

    Admission(NodeInfo.Capacity capacity) {
        this.capacity = capacity;
    }

    NodeInfo.Capacity capacity() {
        return capacity;
    }

    long vcpuLimit() {
        return (long) Math.floor(capacity.cpus() * capacity.overcommit());
    }

    long memoryLimit() {
        return (long) Math.floor(capacity.memoryBytes() * capacity.overcommit());
    }

    /**
     * Reserves {@code spec}'s share for VM {@code id} (again: no change).
     *
     * @throws IllegalStateException naming what does not fit
     */
    synchronized void reserve(String id, VmSpec spec) {
        if (held.containsKey(id)) return;
        NodeInfo.Admitted now = admitted();
        long vcpus = now.vcpus() + (long) spec.vcpus();
        long memory = now.memoryBytes() + spec.memory().bytes();
        String ratio = capacity.overcommit() == 1.0 ? "" : " with overcommit " + capacity.overcommit();
        if (vcpus > vcpuLimit()) {
            throw new IllegalStateException("does not fit: vcpus: " + spec.vcpus() + " asked, " + (vcpuLimit() - now.vcpus())
                    + " of " + vcpuLimit() + " free on this node" + ratio);
        }
        if (memory > memoryLimit()) {
            throw new IllegalStateException("does not fit: memory: " + spec.memory() + " asked, " + mib(memoryLimit() - now.memoryBytes())
                    + " of " + mib(memoryLimit()) + " free on this node" + ratio);
        }
        held.put(id, spec);
    }

    /** Holds {@code spec}'s share whether or not it fits: a monitor the agent re-adopts runs already. */
    synchronized void hold(String id, VmSpec spec) {
        held.put(id, spec);
    }

    synchronized void release(String id) {
        held.remove(id);
    }

    synchronized NodeInfo.Admitted admitted() {
        int vcpus = 0;
        long memory = 0;
        for (VmSpec s : held.values()) {
            vcpus += s.vcpus();
            memory += s.memory().bytes();
        }
        return new NodeInfo.Admitted(held.size(), vcpus, memory);
    }

    private static String mib(long bytes) {
        return (bytes >> 20) + "M";
    }
}
