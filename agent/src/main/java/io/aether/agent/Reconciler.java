package io.aether.agent;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.aether.agentapi.AgentClient;
import io.aether.agentapi.DesiredVms;
import io.aether.agentapi.RestartPolicy;
import io.aether.agentapi.VmInfo;
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
 */
final class Reconciler {

    /** The label naming the allocation a VM runs; its value is the VM's id. */
    static final String ALLOCATION = "aether.fabric/allocation";
    /** The label holding the SHA-256 of the spec a VM was created from, to see a changed spec. */
    static final String SPEC = "aether.fabric/spec";
    static final String FILE = "desired.json";
    private static final long MAX_FILE_BYTES = 64L * 1024 * 1024;
    private static final ObjectMapper MAPPER = new ObjectMapper();

    /** The VM operations reconciling needs; {@link #of(AgentClient)} is the real one. */
    interface Vms {
        List<VmInfo> list() throws IOException;

        void create(String id, VmSpec spec, Map<String, String> labels, RestartPolicy restart) throws IOException;

        void delete(String id) throws IOException;
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

        record Create(String id, VmSpec spec, String fingerprint) implements Step {
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
            public void create(String id, VmSpec spec, Map<String, String> labels, RestartPolicy restart) throws IOException {
                agent.create(spec, labels, restart, id, true);
            }

            @Override
            public void delete(String id) throws IOException {
                agent.delete(id, true);
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

    /** Runs the steps that bring the VMs and model servers to the kept state, then reports each allocation. */
    synchronized List<Report> reconcile() throws IOException {
        for (Step step : plan(specs(desired), vms.list())) {
            switch (step) {
                case Step.Delete d -> vms.delete(d.id());
                case Step.Create c -> vms.create(c.id(), c.spec(), Map.of(ALLOCATION, c.id(), SPEC, c.fingerprint()), desired.restartOf(c.id()));
            }
        }
        List<Report> reports = new ArrayList<>();
        for (VmInfo vm : vms.list()) {
            if (desired.vms().containsKey(vm.id()) && vm.id().equals(vm.labels().get(ALLOCATION))) {
                reports.add(new Report(vm.id(), vm.state(), Optional.ofNullable(vm.reason())));
            }
        }
        reports.addAll(models.apply(desired.models(), desired::restartOf));
        return reports;
    }

    /** The steps from {@code actual} to {@code wanted} (id to spec): a pure function, deletes first. */
    static List<Step> plan(SortedMap<String, VmSpec> wanted, List<VmInfo> actual) {
        List<Step> deletes = new ArrayList<>();
        List<Step> rest = new ArrayList<>();
        Map<String, VmInfo> byId = new TreeMap<>();
        for (VmInfo vm : actual) byId.put(vm.id(), vm);
        for (VmInfo vm : byId.values()) {
            if (!vm.id().equals(vm.labels().get(ALLOCATION))) continue;
            VmSpec spec = wanted.get(vm.id());
            if (spec == null || !fingerprint(spec).equals(vm.labels().get(SPEC))) deletes.add(new Step.Delete(vm.id()));
        }
        wanted.forEach((id, spec) -> {
            VmInfo vm = byId.get(id);
            boolean replaced = deletes.stream().anyMatch(d -> d.id().equals(id));
            if (vm == null || replaced) rest.add(new Step.Create(id, spec, fingerprint(spec)));
        });
        deletes.addAll(rest);
        return deletes;
    }

    /** The SHA-256 of the spec's canonical JSON, in hex. */
    static String fingerprint(VmSpec spec) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(VmSpecJson.write(spec).getBytes(StandardCharsets.UTF_8));
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
