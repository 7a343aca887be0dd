package io.aether.agent;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.aether.agentapi.AgentClient;
import io.aether.agentapi.AllocationReports;
import io.aether.agentapi.CreateVolume;
import io.aether.agentapi.DesiredVms;
import io.aether.agentapi.RestartPolicy;
import io.aether.agentapi.VmInfo;
import io.aether.agentapi.VolumeAttachment;
import io.aether.agentapi.VolumeInfo;
import io.aether.agentapi.VolumeList;
import io.aether.common.FieldException;
import io.aether.vmspec.VmSpec;
import io.aether.vmspec.VmSpecJson;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.logging.Logger;

/**
 * Brings this node's VMs to the controllers' desired state: creates and starts what is missing,
 * deletes what is no longer wanted, replaces a VM whose spec changed and leaves matching ones
 * alone; hands the model allocations to {@link Models} (the {@link ModelRunner}). Applying the same state twice changes nothing the second time; a state with a lower
 * revision than the one kept is ignored, so a reordered message changes nothing either. The last
 * accepted state is kept in {@code desired.json} and applied again after a restart.
 *
 * <p>Only VMs carrying {@link #ALLOCATION} are the fabric's; VMs made by hand are never touched.
 * A VM that stopped or failed is reported, not started again or recreated: whether it restarts is
 * its restart policy's business, the agent's (starting every stopped VM would start a guest that
 * halts, like the {@code hello} stub, again on every pass).
 *
 * <p>Job volumes: the state names every job volume the node is to hold; the ones missing are made
 * (labelled {@link #JOB_VOLUME}), one already there of the same size and label is kept, one of
 * another size or without the label is left alone and the VMs attaching it are reported failed
 * with the reason, not created. A VM's volumes are part of what it was created from, so a changed
 * set makes it again. A job volume the state no longer names is deleted once no VM attaches it.
 */
final class Reconciler {

    /** The label naming the allocation a VM runs; its value is the VM's id. */
    static final String ALLOCATION = "aether.fabric/allocation";
    /** The label holding the SHA-256 of the spec a VM was created from, to see a changed spec. */
    static final String SPEC = "aether.fabric/spec";
    /** The label marking a volume as a fabric job volume; its value is the fabric's id, {@code job.replica.name}. */
    static final String JOB_VOLUME = "aether.fabric/volume";
    static final String FILE = "desired.json";
    private static final Logger LOG = Logger.getLogger(Reconciler.class.getName());
    private static final long MAX_FILE_BYTES = 64L * 1024 * 1024;
    private static final ObjectMapper MAPPER = new ObjectMapper();

    /** The VM operations reconciling needs; {@link #of(AgentClient)} is the real one. */
    interface Vms {
        List<VmInfo> list() throws IOException;

        void create(String id, VmSpec spec, Map<String, String> labels, RestartPolicy restart, List<VolumeAttachment> volumes) throws IOException;

        void delete(String id) throws IOException;

        VolumeList volumes() throws IOException;

        void createVolume(String name, long sizeBytes, Map<String, String> labels) throws IOException;

        void deleteVolume(String name) throws IOException;
    }

    /** What one allocation is on this node, reported back to the controllers; a running model's serving URL and commit. */
    record Report(String allocation, String state, Optional<String> reason, Optional<String> url, Optional<String> commit) {
        Report(String allocation, String state, Optional<String> reason) {
            this(allocation, state, reason, Optional.empty(), Optional.empty());
        }
    }

    /** One step of a reconcile pass, in the order they run: deletes first, so freed capacity admits the creates. */
    sealed interface Step {
        String id();

        record Delete(String id) implements Step {
        }

        record Create(String id, VmSpec spec, List<VolumeAttachment> volumes, String fingerprint) implements Step {
        }
    }

    /** The model servers reconciling needs; {@link ModelRunner} is the real one. */
    interface Models {
        /** Brings the servers to {@code wanted} (allocation id to model) and reports each wanted one. */
        List<Report> apply(Map<String, DesiredVms.Model> wanted, Function<String, RestartPolicy> restart) throws IOException;
    }

    private final Vms vms;
    private final Models models;
    private final Path file;
    private DesiredVms desired;

    private Reconciler(Vms vms, Models models, Path file, DesiredVms desired) {
        this.vms = vms;
        this.models = models;
        this.file = file;
        this.desired = desired;
    }

    /** A reconciler keeping its state in {@code dataDir}: the state kept there, or none for {@code node}. */
    static Reconciler open(Vms vms, Models models, Path dataDir, String node) throws IOException {
        Path file = dataDir.resolve(FILE);
        DesiredVms kept = new DesiredVms(node, 0, Map.of(), Map.of());
        if (Files.exists(file)) {
            if (Files.size(file) > MAX_FILE_BYTES) throw new IOException(file + ": over " + MAX_FILE_BYTES + " bytes");
            try {
                kept = MAPPER.readValue(file.toFile(), DesiredVms.class);
            } catch (IOException | IllegalArgumentException e) {
                throw new IOException(file + ": not a desired state: " + e.getMessage(), e);
            }
        }
        return new Reconciler(vms, models, file, kept);
    }

    static Vms of(AgentClient agent) {
        return new Vms() {
            @Override
            public List<VmInfo> list() throws IOException {
                return agent.list().vms();
            }

            @Override
            public void create(String id, VmSpec spec, Map<String, String> labels, RestartPolicy restart, List<VolumeAttachment> volumes) throws IOException {
                agent.create(spec, labels, restart, id, true, volumes);
            }

            @Override
            public void delete(String id) throws IOException {
                agent.delete(id, true);
            }

            @Override
            public VolumeList volumes() throws IOException {
                return agent.volumes();
            }

            @Override
            public void createVolume(String name, long sizeBytes, Map<String, String> labels) throws IOException {
                agent.createVolume(name, sizeBytes / CreateVolume.MIB + "M", labels);
            }

            @Override
            public void deleteVolume(String name) throws IOException {
                agent.deleteVolume(name);
            }
        };
    }

    DesiredVms desired() {
        return desired;
    }

    /**
     * Takes {@code next} if its revision is at least the one kept (written to disk first), then
     * reconciles. Refuses a state for another node, or one whose spec does not read, and keeps
     * the old one.
     */
    synchronized List<Report> offer(DesiredVms next) throws IOException {
        if (!next.node().equals(desired.node())) {
            throw new IllegalArgumentException("node: desired state for " + next.node() + ", this node is " + desired.node());
        }
        if (next.revision() >= desired.revision() && !next.equals(desired)) {
            specs(next);
            DataDir.writeAtomically(file, MAPPER.writeValueAsBytes(next));
            desired = next;
        }
        return reconcile();
    }

    /** Runs the steps that bring the VMs, volumes and model servers to the kept state, then reports each allocation. */
    synchronized List<Report> reconcile() throws IOException {
        List<Step> steps = plan(specs(desired), desired.attach(), vms.list());
        for (Step step : steps) {
            if (step instanceof Step.Delete d) vms.delete(d.id());
        }
        Map<String, String> unusable = steps.stream().anyMatch(s -> s instanceof Step.Create c && !c.volumes().isEmpty()) ? makeVolumes() : Map.of();
        List<Report> reports = new ArrayList<>();
        for (Step step : steps) {
            if (!(step instanceof Step.Create c)) continue;
            Optional<String> problem = c.volumes().stream().filter(v -> unusable.containsKey(v.name())).findFirst()
                    .map(v -> "volume " + v.name() + ": " + unusable.get(v.name()));
            if (problem.isPresent()) {
                reports.add(new Report(c.id(), "failed", problem));
                continue;
            }
            try {
                vms.create(c.id(), c.spec(), Map.of(ALLOCATION, c.id(), SPEC, c.fingerprint()), desired.restartOf(c.id()), c.volumes());
            } catch (IOException e) {
                // One VM the agent refuses (a kernel this host cannot boot, no room) must not keep the others and every report from the controllers.
                reports.add(new Report(c.id(), "failed", Optional.of(String.valueOf(e.getMessage()))));
            }
        }
        for (VmInfo vm : vms.list()) {
            if (desired.vms().containsKey(vm.id()) && vm.id().equals(vm.labels().get(ALLOCATION))) {
                reports.add(new Report(vm.id(), vm.state(), Optional.ofNullable(vm.reason())));
            }
        }
        deleteUnwantedVolumes();
        reports.addAll(models.apply(desired.models(), desired::restartOf));
        return reports;
    }

    /**
     * Makes the job volumes the state names that the node lacks; answers, by volume, why one cannot
     * be used (another of its name is there with another size or not as this job volume, or the
     * agent refused to make it: no room). Nothing is changed about a volume that is there.
     */
    private Map<String, String> makeVolumes() throws IOException {
        Map<String, VolumeInfo> held = new TreeMap<>();
        for (VolumeInfo v : vms.volumes().volumes()) held.put(v.name(), v);
        Map<String, String> unusable = new TreeMap<>();
        for (Map.Entry<String, DesiredVms.Volume> e : desired.volumes().entrySet()) {
            String name = e.getKey();
            DesiredVms.Volume wanted = e.getValue();
            VolumeInfo there = held.get(name);
            if (there == null) {
                try {
                    vms.createVolume(name, wanted.sizeBytes(), Map.of(JOB_VOLUME, wanted.id()));
                } catch (IOException e2) {
                    unusable.put(name, "cannot be made: " + e2.getMessage());
                }
            } else if (!wanted.id().equals(there.labels().get(JOB_VOLUME))) {
                unusable.put(name, "a volume of this name is on the node and is not job volume " + wanted.id());
            } else if (there.sizeBytes() != wanted.sizeBytes()) {
                unusable.put(name, "is " + there.sizeBytes() + " bytes on the node, the job asks for " + wanted.sizeBytes() + " (delete it to make it again)");
            }
        }
        return unusable;
    }

    /**
     * Deletes the job volumes the state no longer names (a stopped job's, purged). Not while the
     * state is the empty one of a node that never pulled (revision 0): that is no order to delete.
     */
    private void deleteUnwantedVolumes() throws IOException {
        if (desired.revision() == 0) return;
        for (VolumeInfo v : vms.volumes().volumes()) {
            if (!v.labels().containsKey(JOB_VOLUME) || desired.volumes().containsKey(v.name())) continue;
            try {
                vms.deleteVolume(v.name());
            } catch (IOException e) {
                LOG.warning("job volume " + v.name() + " is no longer wanted but stays for now: " + e.getMessage());
            }
        }
    }

    /** The node's volume store as the fabric counts it: its quota, what is free, what job volumes hold. */
    AllocationReports.VolumeSpace volumeSpace() throws IOException {
        VolumeList list = vms.volumes();
        long jobBytes = list.volumes().stream().filter(v -> v.labels().containsKey(JOB_VOLUME)).mapToLong(VolumeInfo::sizeBytes).sum();
        long free = Math.max(0, list.capacityBytes() - list.provisionedBytes());
        return new AllocationReports.VolumeSpace(list.capacityBytes(), free, jobBytes);
    }

    /** The steps from {@code actual} to {@code wanted} (id to spec) with no volumes attached: a pure function, deletes first. */
    static List<Step> plan(SortedMap<String, VmSpec> wanted, List<VmInfo> actual) {
        return plan(wanted, Map.of(), actual);
    }

    /** The steps from {@code actual} to {@code wanted} (id to spec, and to the volumes it attaches): a pure function, deletes first. */
    static List<Step> plan(SortedMap<String, VmSpec> wanted, Map<String, List<VolumeAttachment>> attach, List<VmInfo> actual) {
        List<Step> deletes = new ArrayList<>();
        List<Step> rest = new ArrayList<>();
        Map<String, VmInfo> byId = new TreeMap<>();
        for (VmInfo vm : actual) byId.put(vm.id(), vm);
        for (VmInfo vm : byId.values()) {
            if (!vm.id().equals(vm.labels().get(ALLOCATION))) continue;
            VmSpec spec = wanted.get(vm.id());
            if (spec == null || !fingerprint(spec, attach.getOrDefault(vm.id(), List.of())).equals(vm.labels().get(SPEC))) deletes.add(new Step.Delete(vm.id()));
        }
        wanted.forEach((id, spec) -> {
            VmInfo vm = byId.get(id);
            boolean replaced = deletes.stream().anyMatch(d -> d.id().equals(id));
            List<VolumeAttachment> volumes = attach.getOrDefault(id, List.of());
            if (vm == null || replaced) rest.add(new Step.Create(id, spec, volumes, fingerprint(spec, volumes)));
        });
        deletes.addAll(rest);
        return deletes;
    }

    /**
     * The SHA-256 of the spec's canonical JSON, then of each attached volume ({@code NAME rw|ro}
     * a line), in hex. Without volumes it is the spec's alone, as it was before VMs had them.
     */
    static String fingerprint(VmSpec spec, List<VolumeAttachment> volumes) {
        StringBuilder text = new StringBuilder(VmSpecJson.write(spec));
        for (VolumeAttachment v : volumes) text.append('\n').append(v.name()).append(v.readOnly() ? " ro" : " rw");
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(text.toString().getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError("every JDK has SHA-256", e);
        }
    }

    private static SortedMap<String, VmSpec> specs(DesiredVms state) {
        SortedMap<String, VmSpec> specs = new TreeMap<>();
        state.vms().forEach((id, json) -> {
            try {
                specs.put(id, VmSpecJson.read(json.toString()));
            } catch (FieldException e) {
                throw new IllegalArgumentException("vms." + id + "." + e.field() + ": " + e.problem(), e);
            }
        });
        return specs;
    }
}
