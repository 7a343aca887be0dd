package io.aether.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.aether.agentapi.DesiredVms;
import io.aether.agentapi.RestartPolicy;
import io.aether.agentapi.AllocationReports;
import io.aether.agentapi.VmInfo;
import io.aether.agentapi.VolumeAttachment;
import io.aether.agentapi.VolumeInfo;
import io.aether.agentapi.VolumeList;
import io.aether.vmspec.VmSpec;
import io.aether.vmspec.VmSpecJson;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(10)
class ReconcilerTest {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    @TempDir
    Path dir;

    /** The node's VMs in memory, every call written down. */
    static final class FakeVms implements Reconciler.Vms {
        final Map<String, VmInfo> vms = new TreeMap<>();
        final Map<String, VolumeInfo> volumes = new TreeMap<>();
        final List<String> calls = new ArrayList<>();
        long volumeCapacity = 1L << 30;
        /** VMs the agent refuses to make, as a PVM host refuses a kernel VM. */
        final java.util.Set<String> refused = new java.util.HashSet<>();

        @Override
        public List<VmInfo> list() {
            return List.copyOf(vms.values());
        }

        @Override
        public void create(String id, VmSpec spec, Map<String, String> labels, RestartPolicy restart, List<VolumeAttachment> attach) throws IOException {
            calls.add("create " + id + attach.stream().map(v -> " +" + v.name()).collect(java.util.stream.Collectors.joining()));
            for (VolumeAttachment v : attach) if (!volumes.containsKey(v.name())) throw new IOException("400 no volume named " + v.name());
            if (vms.containsKey(id)) throw new IOException("409 conflict: " + id + " exists");
            if (refused.contains(id)) throw new IOException("409 conflict: cannot start " + id + ": the monitor failed");
            vms.put(id, new VmInfo(id, "running", null, 1L, labels, restart.id(), 0, null, MAPPER.readTree(VmSpecJson.write(spec)), null, null));
        }

        @Override
        public void delete(String id) {
            calls.add("delete " + id);
            vms.remove(id);
        }

        @Override
        public VolumeList volumes() {
            return new VolumeList(List.copyOf(volumes.values()), volumeCapacity, volumes.values().stream().mapToLong(VolumeInfo::sizeBytes).sum());
        }

        @Override
        public void createVolume(String name, long sizeBytes, Map<String, String> labels) throws IOException {
            calls.add("create volume " + name);
            if (volumes().provisionedBytes() + sizeBytes > volumeCapacity) throw new IOException("409 volume " + name + ": no room");
            volumes.put(name, new VolumeInfo(name, sizeBytes, labels, "2026-12-06T12:00:00Z", List.of()));
        }

        @Override
        public void deleteVolume(String name) {
            calls.add("delete volume " + name);
            volumes.remove(name);
        }

        void put(String id, String state, Map<String, String> labels) {
            vms.put(id, new VmInfo(id, state, state.equals("failed") ? "monitor exited with status 1" : null, null, labels, "never", 0, null,
                    MAPPER.createObjectNode(), null, null));
        }
    }

    /** A node with no model allocations: nothing to serve, nothing to report. */
    private static final Reconciler.Models NO_MODELS = (wanted, restart) -> {
        assertTrue(wanted.isEmpty(), "no model was asked for: " + wanted);
        return List.of();
    };

    private static JsonNode json(VmSpec spec) throws IOException {
        return MAPPER.readTree(VmSpecJson.write(spec));
    }

    private static DesiredVms desired(long revision, String... ids) throws IOException {
        Map<String, JsonNode> vms = new TreeMap<>();
        for (String id : ids) vms.put(id, json(VmSpec.stub(VmSpec.StubProgram.HELLO)));
        return new DesiredVms("n1", revision, vms, Map.of());
    }

    @Test
    void createsWhatIsMissingAndASecondIdenticalOfferChangesNothing() throws Exception {
        FakeVms vms = new FakeVms();
        Reconciler r = Reconciler.open(vms, NO_MODELS, dir, "n1");
        List<Reconciler.Report> reports = r.offer(desired(3, "web.0", "web.1"));
        assertEquals(List.of("create web.0", "create web.1"), vms.calls);
        assertEquals(List.of("web.0", "web.1"), reports.stream().map(Reconciler.Report::allocation).toList());
        assertTrue(reports.stream().allMatch(rep -> rep.state().equals("running")));
        vms.calls.clear();
        r.offer(desired(3, "web.0", "web.1"));
        assertEquals(List.of(), vms.calls);
    }

    @Test
    void eachVmIsCreatedWithItsJobsRestartPolicy() throws Exception {
        FakeVms vms = new FakeVms();
        Reconciler r = Reconciler.open(vms, NO_MODELS, dir, "n1");
        DesiredVms two = desired(1, "batch.0", "web.0");
        r.offer(new DesiredVms("n1", 1, two.vms(), Map.of("batch.0", "never")));
        assertEquals("never", vms.vms.get("batch.0").restartPolicy());
        assertEquals("on-failure", vms.vms.get("web.0").restartPolicy(), "the default when the job names none");
        assertThrows(IllegalArgumentException.class, () -> new DesiredVms("n1", 2, two.vms(), Map.of("web.0", "sometimes")));
        assertThrows(IllegalArgumentException.class, () -> new DesiredVms("n1", 2, two.vms(), Map.of("gone.0", "never")));
    }

    @Test
    void anOlderRevisionArrivingLateChangesNothing() throws Exception {
        FakeVms vms = new FakeVms();
        Reconciler r = Reconciler.open(vms, NO_MODELS, dir, "n1");
        r.offer(desired(5, "web.0"));
        vms.calls.clear();
        r.offer(desired(4, "web.0", "web.1"));
        assertEquals(List.of(), vms.calls);
        assertEquals(5, r.desired().revision());
        assertEquals(5, MAPPER.readTree(dir.resolve(Reconciler.FILE).toFile()).path("revision").asLong());
    }

    @Test
    void deletesWhatIsNoLongerWantedAndLeavesHandMadeVmsAlone() throws Exception {
        FakeVms vms = new FakeVms();
        vms.put("mine", "running", Map.of("team", "edge"));
        Reconciler r = Reconciler.open(vms, NO_MODELS, dir, "n1");
        r.offer(desired(1, "web.0", "web.1"));
        vms.calls.clear();
        r.offer(desired(2));
        assertEquals(List.of("delete web.0", "delete web.1"), vms.calls);
        assertEquals(List.of("mine"), List.copyOf(vms.vms.keySet()));
    }

    @Test
    void aChangedSpecIsReplacedAndAStoppedOrFailedVmIsReportedNotStartedAgain() throws Exception {
        FakeVms vms = new FakeVms();
        Reconciler r = Reconciler.open(vms, NO_MODELS, dir, "n1");
        r.offer(desired(1, "a.0", "a.1", "a.2"));
        vms.put("a.1", "stopped", vms.vms.get("a.1").labels());
        vms.put("a.2", "failed", vms.vms.get("a.2").labels());
        vms.calls.clear();
        Map<String, JsonNode> next = new TreeMap<>(desired(2, "a.1", "a.2").vms());
        next.put("a.0", json(VmSpec.stub(VmSpec.StubProgram.COUNT)));
        List<Reconciler.Report> reports = r.offer(new DesiredVms("n1", 2, next, Map.of()));
        assertEquals(List.of("delete a.0", "create a.0"), vms.calls, "a.1's guest halted: its restart policy decides, not the reconciler");
        assertEquals("stopped", reports.stream().filter(rep -> rep.allocation().equals("a.1")).findFirst().orElseThrow().state());
        Reconciler.Report failed = reports.stream().filter(rep -> rep.allocation().equals("a.2")).findFirst().orElseThrow();
        assertEquals("failed", failed.state());
        assertEquals("monitor exited with status 1", failed.reason().orElseThrow());
    }

    @Test
    void aRestartedNodeAppliesTheStateItKeptWithoutDuplicating() throws Exception {
        FakeVms vms = new FakeVms();
        Reconciler.open(vms, NO_MODELS, dir, "n1").offer(desired(7, "web.0", "web.1"));
        vms.vms.remove("web.1");
        vms.calls.clear();
        Reconciler again = Reconciler.open(vms, NO_MODELS, dir, "n1");
        assertEquals(7, again.desired().revision());
        again.reconcile();
        assertEquals(List.of("create web.1"), vms.calls);
    }

    @Test
    void aBadSpecOrAnotherNodesStateIsRefusedAndTheKeptStateStays() throws Exception {
        FakeVms vms = new FakeVms();
        Reconciler r = Reconciler.open(vms, NO_MODELS, dir, "n1");
        r.offer(desired(1, "web.0"));
        byte[] kept = Files.readAllBytes(dir.resolve(Reconciler.FILE));
        vms.calls.clear();
        Map<String, JsonNode> bad = Map.of("web.0", MAPPER.readTree("{\"memory\": \"lots\"}"));
        String problem = assertThrows(IllegalArgumentException.class, () -> r.offer(new DesiredVms("n1", 2, bad, Map.of()))).getMessage();
        assertTrue(problem.startsWith("vms.web.0."), problem);
        assertThrows(IllegalArgumentException.class, () -> r.offer(new DesiredVms("n2", 3, desired(3, "x.0").vms(), Map.of())));
        assertEquals(1, r.desired().revision());
        assertTrue(java.util.Arrays.equals(kept, Files.readAllBytes(dir.resolve(Reconciler.FILE))));
        assertFalse(vms.calls.contains("delete web.0"));
    }

    @Test
    void modelAllocationsGoToTheModelsWithTheirRestartPolicyAndAreReportedAfterTheVms() throws Exception {
        FakeVms vms = new FakeVms();
        List<String> asked = new ArrayList<>();
        Reconciler.Models models = (wanted, restart) -> {
            wanted.forEach((id, m) -> asked.add(id + " " + m.repository() + " " + m.ref() + " " + restart.apply(id).id()));
            return wanted.keySet().stream().map(id -> new Reconciler.Report(id, "syncing", java.util.Optional.empty())).toList();
        };
        Reconciler r = Reconciler.open(vms, models, dir, "n1");
        DesiredVms state = new DesiredVms("n1", 4, desired(4, "web.0").vms(), Map.of("relu.0", "always"),
                Map.of("relu.0", new DesiredVms.Model("https://127.0.0.1:7443", "main"), "relu.1", new DesiredVms.Model("https://127.0.0.1:7443", "v2")));
        List<Reconciler.Report> reports = r.offer(state);
        assertEquals(List.of("create web.0"), vms.calls, "no VM is made for a model");
        assertEquals(List.of("relu.0 https://127.0.0.1:7443 main always", "relu.1 https://127.0.0.1:7443 v2 on-failure"), asked);
        assertEquals(List.of("web.0 running", "relu.0 syncing", "relu.1 syncing"), reports.stream().map(rep -> rep.allocation() + " " + rep.state()).toList());
        assertEquals(state, Reconciler.open(vms, models, dir, "n1").desired(), "the models are kept on disk with the VMs");
        assertThrows(IllegalArgumentException.class, () -> new DesiredVms("n1", 5, Map.of(), Map.of(),
                Map.of("web.0", new DesiredVms.Model("https://127.0.0.1:7443", ""))), "a model needs a ref");
    }

    private static DesiredVms withVolumes(long revision, Map<String, DesiredVms.Volume> volumes, Map<String, List<VolumeAttachment>> attach)
            throws IOException {
        Map<String, JsonNode> vms = new TreeMap<>();
        for (String id : attach.keySet()) vms.put(id, json(VmSpec.stub(VmSpec.StubProgram.HELLO)));
        return new DesiredVms("n1", revision, vms, Map.of(), Map.of(), volumes, attach);
    }

    private static final long MIB = 1 << 20;

    /** Volumes are made before the VM that attaches them, once; a second pass makes nothing; the room is reported. */
    @Test
    void aVmsJobVolumesAreMadeOnceAndAttached() throws Exception {
        FakeVms vms = new FakeVms();
        Reconciler r = Reconciler.open(vms, NO_MODELS, dir, "n1");
        DesiredVms state = withVolumes(2, Map.of("db.0.data", new DesiredVms.Volume(64 * MIB, "db.0.data")),
                Map.of("db.0", List.of(new VolumeAttachment("db.0.data", false))));
        r.offer(state);
        assertEquals(List.of("create volume db.0.data", "create db.0 +db.0.data"), vms.calls);
        assertEquals(Map.of(Reconciler.JOB_VOLUME, "db.0.data"), vms.volumes.get("db.0.data").labels());
        assertEquals(new AllocationReports.VolumeSpace(1L << 30, (1L << 30) - 64 * MIB, 64 * MIB), r.volumeSpace());
        vms.calls.clear();
        r.reconcile();
        assertEquals(List.of(), vms.calls, "the volume is there and the VM attaches it: nothing to do");
        // The same VM without its volume is another VM: made again.
        r.offer(withVolumes(3, Map.of("db.0.data", new DesiredVms.Volume(64 * MIB, "db.0.data")), Map.of("db.0", List.of())));
        assertEquals(List.of("delete db.0", "create db.0"), vms.calls);
    }

    /** A volume of the name that is not this job volume, or of another size, is left as it is and the VM is reported failed, not made. */
    @Test
    void aVolumeThatIsNotTheJobsIsNeverTakenOrResized() throws Exception {
        FakeVms vms = new FakeVms();
        vms.volumes.put("db.0.data", new VolumeInfo("db.0.data", 32 * MIB, Map.of(Reconciler.JOB_VOLUME, "db.0.data"), "2026-12-06T12:00:00Z", List.of()));
        vms.volumes.put("db.1.data", new VolumeInfo("db.1.data", 64 * MIB, Map.of(), "2026-12-06T12:00:00Z", List.of()));
        vms.volumeCapacity = 128 * MIB;
        Reconciler r = Reconciler.open(vms, NO_MODELS, dir, "n1");
        Map<String, DesiredVms.Volume> volumes = Map.of("db.0.data", new DesiredVms.Volume(64 * MIB, "db.0.data"),
                "db.1.data", new DesiredVms.Volume(64 * MIB, "db.1.data"), "db.2.data", new DesiredVms.Volume(64 * MIB, "db.2.data"));
        List<Reconciler.Report> reports = r.offer(withVolumes(2, volumes, Map.of("db.0", List.of(new VolumeAttachment("db.0.data", false)),
                "db.1", List.of(new VolumeAttachment("db.1.data", false)), "db.2", List.of(new VolumeAttachment("db.2.data", false)))));
        assertEquals(List.of("create volume db.2.data"), vms.calls, "no VM is made, no volume changed");
        assertEquals(List.of(
                new Reconciler.Report("db.0", "failed", java.util.Optional.of("volume db.0.data: is 33554432 bytes on the node, the job asks for 67108864 (delete it to make it again)")),
                new Reconciler.Report("db.1", "failed", java.util.Optional.of("volume db.1.data: a volume of this name is on the node and is not job volume db.1.data")),
                new Reconciler.Report("db.2", "failed", java.util.Optional.of("volume db.2.data: cannot be made: 409 volume db.2.data: no room"))), reports);
        assertEquals(32 * MIB, vms.volumes.get("db.0.data").sizeBytes());
        assertFalse(vms.volumes.containsKey("db.2.data"));
    }

    /** A job volume the state no longer names is deleted (its job was purged); the node's own volumes are not the fabric's to delete. */
    @Test
    void jobVolumesNoLongerWantedAreDeletedAndNothingElse() throws Exception {
        FakeVms vms = new FakeVms();
        vms.volumes.put("mine", new VolumeInfo("mine", 8 * MIB, Map.of(), "2026-12-06T12:00:00Z", List.of()));
        vms.volumes.put("old.0.data", new VolumeInfo("old.0.data", 8 * MIB, Map.of(Reconciler.JOB_VOLUME, "old.0.data"), "2026-12-06T12:00:00Z", List.of()));
        Reconciler r = Reconciler.open(vms, NO_MODELS, dir, "n1");
        r.reconcile();
        assertEquals(List.of(), vms.calls, "the empty state of a node that never pulled orders nothing deleted");
        r.offer(new DesiredVms("n1", 5, Map.of(), Map.of()));
        assertEquals(List.of("delete volume old.0.data"), vms.calls);
        assertEquals(List.of("mine"), List.copyOf(vms.volumes.keySet()));
    }

    /** A VM the agent refuses is that allocation's failure: the others are made and every one is reported. */
    @Test
    void aVmTheAgentRefusesIsReportedFailedAndTheOthersGoOn() throws Exception {
        FakeVms vms = new FakeVms();
        vms.refused.add("web.0");
        Reconciler r = Reconciler.open(vms, NO_MODELS, dir, "n1");
        List<Reconciler.Report> reports = r.offer(desired(3, "web.0", "web.1"));
        assertEquals(List.of("create web.0", "create web.1"), vms.calls);
        assertEquals(List.of(new Reconciler.Report("web.0", "failed", java.util.Optional.of("409 conflict: cannot start web.0: the monitor failed")),
                new Reconciler.Report("web.1", "running", java.util.Optional.empty())), reports);
    }
}
