package io.aether.fabric;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.aether.common.ByteSize;
import io.aether.fabricapi.Allocation;
import io.aether.fabricapi.Job;
import io.aether.fabricapi.JobSpec;
import io.aether.fabricapi.Node;
import io.aether.fabricapi.Resources;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Job volumes in the scheduler and the replicated state: room is counted per node as replicas are
 * planned, a volume is bound to the node its replica was first placed on, and the replica goes back
 * there or waits; a stopped job's volumes stay until deleted.
 */
@Timeout(60)
class JobVolumesTest {

    private static final Instant T = Instant.parse("2026-12-06T12:00:00Z");
    private static final long GIB = 1L << 30;

    private static JobSpec db(int replicas, long... volumeGiB) {
        return job("db", replicas, volumeGiB);
    }

    private static JobSpec job(String name, int replicas, long... volumeGiB) {
        // A kernel VM: stub guests have no disks.
        JobSpec.Workload kernel = new JobSpec.Workload.Vm(io.aether.vmspec.VmSpec.linux(java.nio.file.Path.of("/vm/vmlinuz")));
        List<JobSpec.Volume> volumes = new java.util.ArrayList<>();
        for (int i = 0; i < volumeGiB.length; i++) volumes.add(new JobSpec.Volume("v" + i, new ByteSize(volumeGiB[i] * GIB), false));
        return new JobSpec(name, kernel, new Resources(1, ByteSize.ofMiB(256)), replicas, new TreeMap<>(), List.of(), List.of(),
                JobSpec.Placement.SPREAD, Optional.empty(), 0, false, JobSpec.Restart.ON_FAILURE, JobSpec.Rollout.DEFAULT, volumes);
    }

    /** A node of 8 vCPUs and 8 GiB whose volume store holds {@code capacityGiB}, all of it free. */
    private static Node node(String name, long capacityGiB) {
        return Fabrics.node(name, 8, 8192, Map.of()).withVolumes(new Node.VolumeSpace(capacityGiB * GIB, capacityGiB * GIB, 0));
    }

    private static Map<String, String> nodesOf(Command.Plan plan) {
        Map<String, String> out = new TreeMap<>();
        plan.placements().forEach(a -> out.put(a.id(), a.node()));
        return out;
    }

    private static Command.Plan plan(List<Node> nodes, JobSpec job) {
        return Scheduler.plan(new Scheduler.View(nodes, List.of(new Job(job, 1, Optional.empty())), List.of()));
    }

    /** A state with the given nodes joined. */
    private static FabricState joined(Node... nodes) {
        FabricState state = new FabricState();
        for (int i = 0; i < nodes.length; i++) {
            String hash = String.format("%064x", i + 1);
            assertInstanceOf(Outcome.Applied.class, state.apply(new Command.CreateToken(hash, T.plusSeconds(3600), T)));
            assertInstanceOf(Outcome.Applied.class, state.apply(new Command.JoinNode(hash, nodes[i], Fabrics.key(nodes[i].name()), T)));
        }
        return state;
    }

    private static Command.Plan schedule(FabricState state) {
        Command.Plan plan = Scheduler.plan(Scheduler.View.of(state));
        assertInstanceOf(Outcome.Applied.class, state.apply(new Command.ApplyPlan(plan, T)));
        return plan;
    }

    private static Map<String, String> placed(FabricState state) {
        Map<String, String> out = new TreeMap<>();
        state.allocations.values().forEach(a -> out.put(a.id(), a.node()));
        return out;
    }

    @Test
    void aReplicaGoesOnlyWhereItsVolumesFitAndTheReasonNamesTheRoom() {
        List<Node> nodes = List.of(node("a", 1), node("b", 1), Fabrics.node("c", 8, 8192, Map.of()));
        Command.Plan plan = plan(nodes, db(1, 1, 1));
        assertEquals(Map.of(), nodesOf(plan));
        assertEquals(Map.of("db", "1 of 1 replicas have no node: needs 2G of volume space, the most free on a node is 1G"), plan.pending());
        assertEquals(Optional.of("3 nodes without 2G of volume capacity"), Scheduler.neverFits(db(1, 1, 1), nodes));
        assertEquals(Map.of("db.0", "a"), nodesOf(plan(nodes, db(1, 1))), "one of 1 GiB fits the first node with room");
        assertEquals(Optional.empty(), Scheduler.neverFits(db(2, 1), nodes));
        assertEquals(Optional.of("the nodes have room for 2 of 3 replicas at most (1 node without 1G of volume capacity)"), Scheduler.neverFits(db(3, 1), nodes));
    }

    /** Binpack would put both replicas on the fullest node; the room one takes is gone for the next, within the same plan. */
    @Test
    void twoReplicasNeverCountTheSameFreeBytes() {
        List<Node> nodes = List.of(node("a", 3), node("b", 2));
        JobSpec packed = db(2, 2).withPlacement(JobSpec.Placement.BINPACK, Optional.empty());
        assertEquals(Map.of("db.0", "a", "db.1", "b"), nodesOf(plan(nodes, packed)));
        Command.Plan three = plan(nodes, db(3, 2).withPlacement(JobSpec.Placement.BINPACK, Optional.empty()));
        assertEquals(2, three.placements().size());
        assertEquals("1 of 3 replicas have no node: needs 2G of volume space, the most free on a node is 1G", three.pending().get("db"));
    }

    /** What a node holds of its own volumes is not the fabric's to give; job volumes it made are counted once. */
    @Test
    void aNodesOwnVolumesAndBoundVolumesTakeTheirRoom() {
        // 4 GiB in all: 1 GiB free, 2 GiB of job volumes, so 1 GiB of the node's own.
        Node a = Fabrics.node("a", 8, 8192, Map.of()).withVolumes(new Node.VolumeSpace(4 * GIB, GIB, 2 * GIB));
        assertEquals(3 * GIB, a.volumes().forJobs());
        FabricState state = joined(a);
        state.apply(new Command.SubmitJob(db(1, 2), T));
        assertEquals(Map.of("db.0", "a"), nodesOf(schedule(state)));
        state.apply(new Command.SubmitJob(job("db2", 1, 2), T));
        Command.Plan plan = schedule(state);
        assertEquals(Map.of(), nodesOf(plan));
        assertEquals("1 of 1 replicas have no node: needs 2G of volume space, the most free on a node is 1G", plan.pending().get("db2"));
    }

    @Test
    void aReplicaGoesBackToTheNodeHoldingItsVolumesOrWaits() {
        FabricState state = joined(node("a", 4), node("b", 4));
        state.apply(new Command.SubmitJob(db(1, 1), T));
        schedule(state);
        assertEquals(Map.of("db.0", "a"), placed(state));
        assertEquals(List.of(new JobVolume("db", 0, "v0", new ByteSize(GIB), "a")), state.volumesOf("db"));
        // Another job fills a; spread would now pick the emptier b, but the replica's data is on a.
        state.apply(new Command.StopJob("db", T));
        assertEquals(Map.of(), placed(state));
        assertEquals(1, state.volumesOf("db").size(), "a stopped job's volumes stay");
        state.apply(new Command.SubmitJob(Fabrics.stubJob("busy"), T));
        schedule(state);
        state.apply(new Command.SubmitJob(db(1, 1), T));
        schedule(state);
        assertEquals("a", placed(state).get("db.0"));
        state.apply(new Command.DrainNode("a", T));
        Command.Plan plan = schedule(state);
        assertEquals(Map.of("busy.0", "b"), nodesOf(plan), "the replica without volumes moves");
        assertEquals("1 of 1 replicas have no node: its volumes are on node a, which is draining", plan.pending().get("db"));
        // A plan made elsewhere that puts it on b is refused whole.
        Command.Plan moved = new Command.Plan(List.of(new Allocation("db", 0, "b", new Resources(1, ByteSize.ofMiB(256)), 0)), List.of(), List.of(),
                new TreeMap<>());
        assertEquals(new Outcome.Refused("plan no longer holds: the volumes of db.0 are on node a"), state.apply(new Command.ApplyPlan(moved, T)));
    }

    @Test
    void aStoppedJobsVolumesAreDeletedOnlyOnceItStopped() {
        FabricState state = joined(node("a", 2));
        state.apply(new Command.SubmitJob(db(2, 1), T));
        schedule(state);
        assertEquals(List.of("db.0.v0", "db.1.v0"), List.copyOf(state.volumes.keySet()));
        assertEquals(new Outcome.Refused("job db runs; stop it first (its volumes are deleted only once it stopped)"),
                state.apply(new Command.DeleteVolumes("db", Optional.empty(), T)));
        state.apply(new Command.StopJob("db", T));
        state.apply(new Command.SubmitJob(job("other", 1, 1), T));
        Command.Plan full = schedule(state);
        assertEquals("1 of 1 replicas have no node: needs 1G of volume space, the most free on a node is 0", full.pending().get("other"));
        long before = state.revisions.get("a");
        assertEquals(new Outcome.Refused("no volume db.7.v0 of job db"), state.apply(new Command.DeleteVolumes("db", Optional.of("db.7.v0"), T)));
        assertInstanceOf(Outcome.Applied.class, state.apply(new Command.DeleteVolumes("db", Optional.of("db.1.v0"), T)));
        assertEquals(List.of("db.0.v0"), List.copyOf(state.volumes.keySet()));
        assertTrue(state.revisions.get("a") > before, "the node pulls a desired state without the volume");
        assertEquals(Map.of("other.0", "a"), nodesOf(schedule(state)), "the room is free again");
        assertInstanceOf(Outcome.Applied.class, state.apply(new Command.DeleteVolumes("db", Optional.empty(), T)));
        assertEquals(List.of("other.0.v0"), List.copyOf(state.volumes.keySet()));
        assertEquals(new Outcome.Refused("job db has no volumes"), state.apply(new Command.DeleteVolumes("db", Optional.empty(), T)));
    }

    @Test
    void reportsVolumesAndBindingsSurviveTheCodecAndSnapshots() {
        FabricState state = joined(Fabrics.node("a", 8, 8192, Map.of()));
        Command report = new Command.ReportAllocations("a", 0, new TreeMap<>(), new TreeMap<>(), Optional.of(new Node.VolumeSpace(4 * GIB, 3 * GIB, GIB)), T);
        assertEquals("{\"type\":\"report-allocations\",\"node\":\"a\",\"revision\":0,\"states\":{},\"volumes\":{\"capacityBytes\":4294967296,"
                + "\"freeBytes\":3221225472,\"jobBytes\":1073741824},\"at\":1796558400000}", new String(FabricCodec.encode(report), StandardCharsets.UTF_8));
        assertEquals(report, FabricCodec.decodeCommand(FabricCodec.encode(report)));
        state.apply(report);
        assertEquals(new Node.VolumeSpace(4 * GIB, 3 * GIB, GIB), state.nodes.get("a").volumes());
        Command purge = new Command.DeleteVolumes("db", Optional.of("db.0.v0"), T);
        assertEquals("{\"type\":\"delete-volumes\",\"job\":\"db\",\"volume\":\"db.0.v0\",\"at\":1796558400000}", new String(FabricCodec.encode(purge), StandardCharsets.UTF_8));
        assertEquals(purge, FabricCodec.decodeCommand(FabricCodec.encode(purge)));
        state.apply(new Command.SubmitJob(db(1, 2), T));
        schedule(state);
        String snapshot = new String(FabricCodec.snapshot(state), StandardCharsets.UTF_8);
        assertTrue(snapshot.contains("\"volumes\":[{\"job\":\"db\",\"replica\":0,\"name\":\"v0\",\"size\":2147483648,\"node\":\"a\"}]"), snapshot);
        FabricState restored = FabricCodec.restore(FabricCodec.snapshot(state));
        assertEquals(state.volumes, restored.volumes);
        assertEquals(state.nodes, restored.nodes);
        // A snapshot from before volumes (no "volumes" anywhere) reads as nodes without a volume store and no bindings.
        String old = snapshot.replaceAll(",\"volumes\":\\{[^}]*\\}", "").replaceAll("\"volumes\":\\[[^]]*\\],", "");
        FabricState before = FabricCodec.restore(old.getBytes(StandardCharsets.UTF_8));
        assertEquals(Node.VolumeSpace.NONE, before.nodes.get("a").volumes());
        assertEquals(Map.of(), before.volumes);
    }

    /** The desired state names each allocation's volumes by their node name, and every volume the node is to keep. */
    @Test
    void theDesiredStateNamesTheVolumesToKeepAndAttach() {
        FabricState state = joined(node("a", 4));
        state.apply(new Command.SubmitJob(db(1, 1), T));
        schedule(state);
        JsonNode desired = FabricStateMachine.answer(Fabrics.query("desired").put("node", "a"), state);
        assertEquals("[{\"name\":\"db.0.v0\",\"readOnly\":false}]", desired.path("attach").path("db.0").toString());
        assertEquals("{\"db.0.v0\":{\"sizeBytes\":1073741824,\"id\":\"db.0.v0\"}}", desired.path("volumes").toString());
        state.apply(new Command.StopJob("db", T));
        desired = FabricStateMachine.answer(Fabrics.query("desired").put("node", "a"), state);
        assertEquals("{}", desired.path("vms").toString());
        assertEquals("{\"db.0.v0\":{\"sizeBytes\":1073741824,\"id\":\"db.0.v0\"}}", desired.path("volumes").toString(), "kept while stopped");
    }

    @Test
    void aLongJobNameGetsADigestAsItsNodeVolumeName() {
        JobVolume v = new JobVolume("j".repeat(63), 12, "data", new ByteSize(GIB), "a");
        assertEquals(63 + ".12.".length() + "data".length(), v.id().length());
        assertTrue(v.nodeVolume().matches("job-[0-9a-f]{48}"), v.nodeVolume());
        assertEquals("db.0.data", new JobVolume("db", 0, "data", new ByteSize(GIB), "a").nodeVolume());
    }
}
