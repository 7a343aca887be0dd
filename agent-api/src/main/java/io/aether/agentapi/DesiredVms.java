package io.aether.agentapi;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * What the controllers want one node to run: every VM and model, not a change, so that applying it twice
 * or an older one after a newer one (a node keeps the highest revision) ends in the same place.
 * A node keeps the last one on disk and goes on running it while cut off.
 *
 * @param node the node's name
 * @param revision the sequence number of the last fabric event that changed this node's set
 * @param vms VM id (the allocation's stable id, {@code job.replica}) to its spec in
 *     {@link io.aether.vmspec.VmSpecJson}'s form
 * @param restart VM or model allocation id to its job's restart policy ({@link RestartPolicy#id()});
 *     one not named here is restarted on failure
 * @param models model allocation id ({@code job.replica}) to the repository and ref it serves
 */
public record DesiredVms(String node, long revision, Map<String, JsonNode> vms, Map<String, String> restart, Map<String, Model> models) {

    /**
     * A model to serve: the signed repository at {@code repository} ({@code https://HOST:PORT} of
     * {@code aether model serve-repo}) synced at {@code ref} (a branch, tag or full ref name).
     */
    public record Model(String repository, String ref) {
        /** As long as a job spec may make them, with room to spare. */
        static final int MAX_CHARS = 2048;

        public Model {
            if (repository == null || repository.isEmpty() || repository.length() > MAX_CHARS) throw new IllegalArgumentException("repository: expected a URL");
            if (ref == null || ref.isEmpty() || ref.length() > MAX_CHARS) throw new IllegalArgumentException("ref: expected a branch, tag or ref name");
        }
    }

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
        models = models == null ? Map.of() : models;
        if (vms.size() + models.size() > MAX_VMS) throw new IllegalArgumentException("models: " + models.size() + " models beside " + vms.size() + " VMs (at most " + MAX_VMS + " in all)");
        for (Map.Entry<String, Model> e : models.entrySet()) {
            Names.requireVmId(e.getKey());
            if (e.getValue() == null) throw new IllegalArgumentException("models." + e.getKey() + ": expected an object");
            if (vms.containsKey(e.getKey())) throw new IllegalArgumentException("models." + e.getKey() + ": also a VM in vms");
        }
        models = java.util.Collections.unmodifiableSortedMap(new TreeMap<>(models));
        restart = restart == null ? Map.of() : restart;
        for (Map.Entry<String, String> e : restart.entrySet()) {
            if (!vms.containsKey(e.getKey()) && !models.containsKey(e.getKey())) {
                throw new IllegalArgumentException("restart." + Names.printable(e.getKey()) + ": no such VM in vms or model in models");
            }
            RestartPolicy.parse(e.getValue());
        }
        restart = java.util.Collections.unmodifiableSortedMap(new TreeMap<>(restart));
    }

    /** A state of VMs only. */
    public DesiredVms(String node, long revision, Map<String, JsonNode> vms, Map<String, String> restart) {
        this(node, revision, vms, restart, Map.of());
    }

    /** How the VM {@code id} is restarted when it ends. */
    public RestartPolicy restartOf(String id) {
        String policy = restart.get(id);
        return policy == null ? RestartPolicy.ON_FAILURE : RestartPolicy.parse(policy);
    }
}
