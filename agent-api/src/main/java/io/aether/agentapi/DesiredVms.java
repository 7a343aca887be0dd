package io.aether.agentapi;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
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
 * @param volumes every job volume the node is to hold, by its name on the node, its stopped jobs'
 *     included: the node makes those missing and deletes the job volumes it holds that are not listed
 * @param attach VM allocation id to the volumes (named in {@code volumes}) it attaches, in order,
 *     as disks after its spec's own
 */
public record DesiredVms(String node, long revision, Map<String, JsonNode> vms, Map<String, String> restart, Map<String, Model> models,
                         Map<String, Volume> volumes, Map<String, List<VolumeAttachment>> attach) {

    /**
     * A job volume: a sparse image of {@code sizeBytes} (a whole number of MiB).
     *
     * @param id the fabric's id of it, {@code job.replica.name}: kept in its labels
     */
    public record Volume(long sizeBytes, String id) {
        public Volume {
            if (sizeBytes < CreateVolume.MIB || sizeBytes % CreateVolume.MIB != 0) {
                throw new IllegalArgumentException("sizeBytes: " + sizeBytes + " is not a whole number of MiB of at least 1 MiB");
            }
            if (id == null || !id.matches("[a-z0-9][a-z0-9._-]{0,127}")) throw new IllegalArgumentException("id: not a job volume id (job.replica.name)");
        }
    }

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
        volumes = volumes == null ? Map.of() : volumes;
        if (volumes.size() > MAX_VMS * CreateVm.MAX_VOLUMES) throw new IllegalArgumentException("volumes: " + volumes.size() + " (too many)");
        for (Map.Entry<String, Volume> e : volumes.entrySet()) {
            try {
                Names.requireVolumeName(e.getKey());
            } catch (IllegalArgumentException bad) {
                throw new IllegalArgumentException("volumes." + bad.getMessage());
            }
            if (e.getValue() == null) throw new IllegalArgumentException("volumes." + e.getKey() + ": expected an object");
        }
        volumes = java.util.Collections.unmodifiableSortedMap(new TreeMap<>(volumes));
        attach = attach == null ? Map.of() : attach;
        TreeMap<String, List<VolumeAttachment>> attached = new TreeMap<>();
        for (Map.Entry<String, List<VolumeAttachment>> e : attach.entrySet()) {
            String at = "attach." + Names.printable(e.getKey());
            if (!vms.containsKey(e.getKey())) throw new IllegalArgumentException(at + ": no such VM in vms");
            if (e.getValue() == null || e.getValue().size() > CreateVm.MAX_VOLUMES || e.getValue().stream().anyMatch(Objects::isNull)) {
                throw new IllegalArgumentException(at + ": expected at most " + CreateVm.MAX_VOLUMES + " volumes");
            }
            for (VolumeAttachment v : e.getValue()) {
                if (!volumes.containsKey(v.name())) throw new IllegalArgumentException(at + ": volume " + v.name() + " is not in volumes");
            }
            attached.put(e.getKey(), List.copyOf(e.getValue()));
        }
        attach = java.util.Collections.unmodifiableSortedMap(attached);
    }

    /** A state of VMs and models, without volumes. */
    public DesiredVms(String node, long revision, Map<String, JsonNode> vms, Map<String, String> restart, Map<String, Model> models) {
        this(node, revision, vms, restart, models, Map.of(), Map.of());
    }

    /** A state of VMs only. */
    public DesiredVms(String node, long revision, Map<String, JsonNode> vms, Map<String, String> restart) {
        this(node, revision, vms, restart, Map.of());
    }

    /** The volumes the VM {@code id} attaches, in order. */
    public List<VolumeAttachment> attachmentsOf(String id) {
        return attach.getOrDefault(id, List.of());
    }

    /** How the VM {@code id} is restarted when it ends. */
    public RestartPolicy restartOf(String id) {
        String policy = restart.get(id);
        return policy == null ? RestartPolicy.ON_FAILURE : RestartPolicy.parse(policy);
    }
}
