package io.aether.fabric;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.aether.agentapi.AllocationReports;
import io.aether.common.ByteSize;
import io.aether.fabricapi.Allocation;
import io.aether.fabricapi.Event;
import io.aether.fabricapi.JobSpec;
import io.aether.fabricapi.Resources;
import io.aether.http.ApiClient;
import io.aether.http.Listener;
import io.aether.vmspec.VmSpec;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Rolling updates in the replicated state: every step is a command applied to {@link FabricState},
 * so the same commands give the same state (and the same snapshot) on any peer.
 */
@Timeout(60)
class RolloutsTest {

    private static final Instant T = Instant.parse("2026-12-06T12:00:00Z");
    private static final String HASH = "cd".repeat(32);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A stub job: {@code program} tells its versions apart. */
    private static JobSpec web(int replicas, VmSpec.StubProgram program, int batch, boolean autoRollback) {
        return new JobSpec("web", new JobSpec.Workload.Vm(VmSpec.stub(program)), new Resources(1, ByteSize.ofMiB(32)), replicas, new TreeMap<>(),
                List.of(), List.of(), JobSpec.Placement.BINPACK, Optional.empty(), 0, false, JobSpec.Restart.ON_FAILURE,
                new JobSpec.Rollout(batch, Duration.ofSeconds(5), autoRollback, 0));
    }

    /** Applies commands to a state and keeps them, so that a test can replay them on a fresh state. */
    private static final class Log {
        final FabricState state = new FabricState();
        final List<Command> commands = new ArrayList<>();

        Outcome apply(Command c) {
            commands.add(c);
            return state.apply(c);
        }

        void schedule(Instant at) {
            apply(new Command.ApplyPlan(Scheduler.plan(Scheduler.View.of(state)), at));
        }

        Outcome advance(Instant at) {
            return apply(new Command.AdvanceRollout("web", at));
        }

        /** The node reports {@code states} having reconciled to its desired state as it is now. */
        void report(Instant at, Map<String, String> states) {
            apply(new Command.ReportAllocations("n1", state.revisions.getOrDefault("n1", 0L), new TreeMap<>(states), at));
        }

        /** Replica id to the stub its node is told to run. */
        Map<String, String> stubs() {
            Map<String, String> out = new TreeMap<>();
            for (Allocation a : state.allocations.values()) {
                out.put(a.id(), ((VmSpec.Boot.Stub) ((JobSpec.Workload.Vm) state.specOf(a).workload()).spec().boot()).program().id());
            }
            return out;
        }

        Map<String, Long> versions() {
            Map<String, Long> out = new TreeMap<>();
            state.allocations.values().forEach(a -> out.put(a.id(), state.versionOf(a)));
            return out;
        }

        List<String> eventsSince(long sequence) {
            return state.eventsAfter(sequence, 1000).stream().filter(e -> e.kind().name().startsWith("ROLLOUT") || e.kind() == Event.Kind.JOB_UPDATED)
                    .map(e -> e.kind() + " " + e.detail()).toList();
        }
    }

    /** A node n1 with room for four replicas, running version 1 of web (count) everywhere, reported running. */
    private static Log running(int replicas, int batch, boolean autoRollback) {
        Log log = new Log();
        log.apply(new Command.CreateToken(HASH, T.plusSeconds(3600), T));
        log.apply(new Command.JoinNode(HASH, Fabrics.node("n1", 4, 4096, Map.of()), Fabrics.key("n1"), T));
        log.apply(new Command.SubmitJob(web(replicas, VmSpec.StubProgram.COUNT, batch, autoRollback), T));
        log.schedule(T);
        Map<String, String> all = new TreeMap<>();
        for (int r = 0; r < replicas; r++) all.put("web." + r, "running");
        log.report(T, all);
        return log;
    }

    @Test
    void anUpdateReplacesTheReplicasABatchAtATimeEachAfterThePreviousIsHealthy() {
        Log log = running(3, 2, true);
        long before = log.state.lastSequence;
        log.apply(new Command.SubmitJob(web(3, VmSpec.StubProgram.ECHO, 2, true), T.plusSeconds(1)));
        assertEquals(2, log.state.jobs.get("web").version());
        assertEquals(Map.of("web.0", "count", "web.1", "count", "web.2", "count"), log.stubs(), "nothing is replaced by the submit itself");

        Instant t = T.plusSeconds(2);
        log.advance(t);
        assertEquals(Map.of("web.2", "count"), log.stubs(), "the first batch of two is stopped");
        log.schedule(t);
        assertEquals(Map.of("web.0", "echo", "web.1", "echo", "web.2", "count"), log.stubs());
        assertEquals(Map.of("web.0", 2L, "web.1", 2L, "web.2", 1L), log.versions());
        assertEquals(new Outcome.Applied(0), log.advance(t.plusSeconds(1)), "the batch is not healthy yet: nothing happens");

        // A report the node made before it had the new replicas is about the old VMs: it does not pass the gate.
        log.apply(new Command.ReportAllocations("n1", before, new TreeMap<>(Map.of("web.0", "running", "web.1", "running")), t.plusSeconds(1)));
        assertEquals("placed", log.state.actual.getOrDefault("web.0", "placed"));
        log.report(t.plusSeconds(2), Map.of("web.0", "running", "web.1", "running"));
        log.advance(t.plusSeconds(2));
        log.schedule(t.plusSeconds(2));
        assertEquals(Map.of("web.0", "echo", "web.1", "echo", "web.2", "echo"), log.stubs());
        log.advance(t.plusSeconds(3));
        assertEquals("rolling", log.state.rollouts.get("web").outcome(), "the last batch is not healthy yet");
        log.report(t.plusSeconds(3), Map.of("web.0", "running", "web.1", "running", "web.2", "running"));
        log.advance(t.plusSeconds(3));

        assertEquals("complete", log.state.rollouts.get("web").outcome());
        assertEquals(Map.of("web.0", 2L, "web.1", 2L, "web.2", 2L), log.versions());
        assertTrue(log.state.olderSpecs.isEmpty(), "no replica runs version 1 any more: its spec is dropped");
        assertEquals(List.of("JOB_UPDATED version 2, 3 replicas", "ROLLOUT_STARTED version 1 to 2, 2 at a time, each healthy within 5s, rolled back if not",
                "ROLLOUT_BATCH replicas [0, 1] to version 2", "ROLLOUT_BATCH replicas [2] to version 2", "ROLLOUT_COMPLETED every replica runs version 2"),
                log.eventsSince(before));
        assertEquals(new Outcome.Applied(0), log.advance(t.plusSeconds(60)), "a finished rollout takes no step");
        sameStateFromTheSameCommands(log);
    }

    /** A model job of four replicas serving {@code ref}, two at a time, a quarter of them first as the canary. */
    private static JobSpec model(String ref) {
        return new JobSpec("web", new JobSpec.Workload.Model(URI.create("https://127.0.0.1:7443"), ref), new Resources(1, ByteSize.ofMiB(256)), 4,
                new TreeMap<>(), List.of(), List.of(), JobSpec.Placement.BINPACK, Optional.empty(), 0, false, JobSpec.Restart.ON_FAILURE,
                new JobSpec.Rollout(2, Duration.ofSeconds(5), true, 25));
    }

    @Test
    void aModelsCanaryGoesFirstAndAloneThenTheOthersFollowInBatches() {
        Log log = new Log();
        log.apply(new Command.CreateToken(HASH, T.plusSeconds(3600), T));
        log.apply(new Command.JoinNode(HASH, Fabrics.node("n1", 4, 4096, Map.of()), Fabrics.key("n1"), T));
        log.apply(new Command.SubmitJob(model("v1"), T));
        log.schedule(T);
        log.report(T, Map.of("web.0", "running", "web.1", "running", "web.2", "running", "web.3", "running"));
        long before = log.state.lastSequence;
        log.apply(new Command.SubmitJob(model("v2"), T.plusSeconds(1)));

        Instant t = T.plusSeconds(2);
        log.advance(t);
        assertEquals(Map.of("web.1", 1L, "web.2", 1L, "web.3", 1L), log.versions(), "only the canary, a quarter of four, is stopped");
        log.schedule(t);
        assertEquals(new Outcome.Applied(0), log.advance(t.plusSeconds(1)), "the others wait for the canary's health");
        log.report(t.plusSeconds(2), Map.of("web.0", "running"));
        log.advance(t.plusSeconds(2));
        assertEquals(Map.of("web.0", 2L, "web.3", 1L), log.versions(), "then a batch of two");
        log.schedule(t.plusSeconds(2));
        log.report(t.plusSeconds(3), Map.of("web.0", "running", "web.1", "running", "web.2", "running"));
        log.advance(t.plusSeconds(3));
        log.schedule(t.plusSeconds(3));
        log.report(t.plusSeconds(4), Map.of("web.0", "running", "web.1", "running", "web.2", "running", "web.3", "running"));
        log.advance(t.plusSeconds(4));
        assertEquals("complete", log.state.rollouts.get("web").outcome());
        assertEquals(List.of("JOB_UPDATED version 2, 4 replicas",
                "ROLLOUT_STARTED version 1 to 2, a canary of 1 first, then 2 at a time, each healthy within 5s, rolled back if not",
                "ROLLOUT_BATCH replicas [0] to version 2", "ROLLOUT_BATCH replicas [1, 2] to version 2", "ROLLOUT_BATCH replicas [3] to version 2",
                "ROLLOUT_COMPLETED every replica runs version 2"), log.eventsSince(before));
        sameStateFromTheSameCommands(log);
    }

    @Test
    void aReplicaNotRunningInTimeRollsTheJobBackToItsPreviousVersion() {
        Log log = running(2, 1, true);
        long before = log.state.lastSequence;
        log.apply(new Command.SubmitJob(web(2, VmSpec.StubProgram.ECHO, 1, true), T));
        Instant t = T.plusSeconds(1);
        log.advance(t);
        log.schedule(t);
        assertEquals(Map.of("web.0", "echo", "web.1", "count"), log.stubs());
        assertEquals(new Outcome.Applied(0), log.advance(t.plusMillis(4999)), "5 s to become healthy");
        assertEquals(List.of(), Rollouts.due(log.state, t.plusMillis(4999)));
        assertEquals(List.of("web"), Rollouts.due(log.state, t.plusSeconds(5)));
        log.advance(t.plusSeconds(5));

        assertEquals("rolled back: replica web.0 not running within 5s (placed)", log.state.rollouts.get("web").outcome());
        assertEquals(1, log.state.jobs.get("web").version());
        assertEquals(VmSpec.StubProgram.COUNT.id(), ((VmSpec.Boot.Stub) ((JobSpec.Workload.Vm) log.state.jobs.get("web").spec().workload()).spec().boot())
                .program().id());
        assertEquals(Map.of("web.1", "count"), log.stubs(), "the replica on version 2 is stopped");
        log.schedule(t.plusSeconds(5));
        assertEquals(Map.of("web.0", "count", "web.1", "count"), log.stubs());
        assertEquals(Map.of("web.0", 1L, "web.1", 1L), log.versions());
        assertEquals(List.of("JOB_UPDATED version 2, 2 replicas", "ROLLOUT_STARTED version 1 to 2, 1 at a time, each healthy within 5s, rolled back if not",
                "ROLLOUT_BATCH replicas [0] to version 2",
                "ROLLOUT_ROLLED_BACK version 2 rolled back to version 1: replica web.0 not running within 5s (placed)"), log.eventsSince(before));
        sameStateFromTheSameCommands(log);
    }

    @Test
    void aFailedReplicaRollsBackAtOnceAndWithoutAutoRollbackTheRolloutStopsAsFailed() {
        Log back = firstNewReplicaCrashed(true);
        assertEquals("rolled back: replica web.0 failed: guest triple-faulted", back.state.rollouts.get("web").outcome());

        Log stuck = firstNewReplicaCrashed(false);
        assertEquals("failed: replica web.0 failed: guest triple-faulted", stuck.state.rollouts.get("web").outcome());
        assertEquals(2, stuck.state.jobs.get("web").version(), "the job stays on the new version");
        assertEquals(Map.of("web.0", "crash", "web.1", "count"), stuck.stubs(), "the replica not yet replaced runs version 1 still");
        assertEquals(Map.of(1L, VmSpec.StubProgram.COUNT.id()), Map.of(1L, ((VmSpec.Boot.Stub) ((JobSpec.Workload.Vm) stuck.state.olderSpecs.get("web").get(1L)
                .workload()).spec().boot()).program().id()));
        assertEquals(new Outcome.Applied(0), stuck.advance(T.plusSeconds(60)), "a failed rollout takes no further step");

        // A fixed version rolls out over both: the replica on version 1 and the failed one on version 2.
        stuck.apply(new Command.SubmitJob(web(2, VmSpec.StubProgram.ECHO, 2, false), T.plusSeconds(61)));
        stuck.advance(T.plusSeconds(61));
        stuck.schedule(T.plusSeconds(61));
        assertEquals(Map.of("web.0", "echo", "web.1", "echo"), stuck.stubs());
        stuck.report(T.plusSeconds(62), Map.of("web.0", "running", "web.1", "running"));
        stuck.advance(T.plusSeconds(62));
        assertEquals("complete", stuck.state.rollouts.get("web").outcome());
        assertTrue(stuck.state.olderSpecs.isEmpty());
        sameStateFromTheSameCommands(stuck);
    }

    @Test
    void aChangeNoReplicaRunsIsAppliedWithoutReplacingAnything() {
        Log log = running(2, 1, true);
        long before = log.state.lastSequence;
        log.apply(new Command.SubmitJob(web(3, VmSpec.StubProgram.COUNT, 1, true).withPriority(5, false), T));
        assertFalse(log.state.rollouts.containsKey("web"));
        assertEquals(Map.of("web.0", 2L, "web.1", 2L), log.versions(), "the running replicas are version 2 as they stand");
        log.schedule(T);
        assertEquals(Map.of("web.0", 2L, "web.1", 2L, "web.2", 2L), log.versions());
        assertEquals(List.of("JOB_UPDATED version 2, 3 replicas"), log.eventsSince(before));
    }

    /** Version 2 (the crash stub) rolled out to web.0, which its node reports failed. */
    private static Log firstNewReplicaCrashed(boolean autoRollback) {
        Log log = running(2, 1, autoRollback);
        log.apply(new Command.SubmitJob(web(2, VmSpec.StubProgram.CRASH, 1, autoRollback), T));
        log.advance(T.plusSeconds(1));
        log.schedule(T.plusSeconds(1));
        log.report(T.plusSeconds(2), Map.of("web.0", "failed: guest triple-faulted", "web.1", "running"));
        log.advance(T.plusSeconds(2));
        return log;
    }

    /** Replaying the commands on a fresh state, and on one restored from a snapshot taken half-way, gives the same bytes. */
    private static void sameStateFromTheSameCommands(Log log) {
        FabricState replayed = new FabricState();
        log.commands.forEach(replayed::apply);
        assertArrayEquals(FabricCodec.snapshot(log.state), FabricCodec.snapshot(replayed));
        FabricState half = new FabricState();
        int middle = log.commands.size() / 2;
        log.commands.subList(0, middle).forEach(half::apply);
        FabricState restored = FabricCodec.restore(FabricCodec.snapshot(half));
        log.commands.subList(middle, log.commands.size()).forEach(restored::apply);
        assertArrayEquals(FabricCodec.snapshot(log.state), FabricCodec.snapshot(restored));
    }

    /** Through a real controller: a rollout half-way survives the controller's restart and goes on from where it was. */
    @Test
    void aRolloutHalfWayGoesOnAfterTheControllerRestarts(@TempDir Path dir) throws Exception {
        Path socket = dir.resolve("controller.sock");
        // A snapshot every 5 entries: the restart loads one and replays the log after it.
        ControllerConfig config = Fabrics.group(dir, 1, 5).getFirst();
        String spec = "{\"name\":\"web\",\"workload\":{\"vm\":{\"boot\":{\"stub\":\"count\"},\"memory\":\"%s\"}},\"resources\":{\"vcpus\":1,\"memory\":\"32M\"},"
                + "\"replicas\":2,\"rollout\":{\"batch\":1,\"healthTimeoutSeconds\":600}}";
        try (Controller controller = Controller.start(config, List.of(new Listener.UnixSocket(socket)), Duration.ofHours(1))) {
            ApiClient api = ApiClient.unix(socket, Duration.ofSeconds(10));
            JoinTokens tokens = new JoinTokens(controller.fabric(), Clock.systemUTC(), new SecureRandom());
            tokens.join(tokens.create(Duration.ofMinutes(5)).secret(), Fabrics.node("n1", 4, 4096, Map.of()), Fabrics.key("n1"));
            assertEquals(201, api.post("/v1/jobs", JSON.readTree(spec.formatted("16M"))).status());
            reportRunning(api, "web.0", "web.1");
            // The update's submit schedules at once: the first batch is replaced before the answer.
            assertEquals("{\"job\":\"web\",\"version\":2}", api.post("/v1/jobs", JSON.readTree(spec.formatted("24M"))).text());
            assertEquals(Map.of("web.0", "24M", "web.1", "16M"), memories(api));
        }
        try (Controller controller = Controller.start(config, List.of(new Listener.UnixSocket(socket)), Duration.ofHours(1))) {
            ApiClient api = ApiClient.unix(socket, Duration.ofSeconds(10));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!controller.fabric().isLeader()) {
                assertTrue(System.nanoTime() < deadline, "no leader after the restart");
                Thread.sleep(100);
            }
            JsonNode rollout = api.get("/v1/jobs/web").json(JsonNode.class).path("job").path("rollout");
            assertEquals("rolling", rollout.path("status").asText(), rollout.toString());
            assertEquals("[0]", rollout.path("batch").toString());
            assertEquals(1, rollout.path("updated").asInt(), rollout.toString());
            assertEquals(Map.of("web.0", "24M", "web.1", "16M"), memories(api));

            reportRunning(api, "web.0", "web.1");
            controller.reconcile();
            assertEquals(Map.of("web.0", "24M", "web.1", "24M"), memories(api));
            reportRunning(api, "web.0", "web.1");
            controller.reconcile();
            rollout = api.get("/v1/jobs/web").json(JsonNode.class).path("job").path("rollout");
            assertEquals("complete", rollout.path("status").asText(), rollout.toString());
            assertEquals(2, rollout.path("updated").asInt(), rollout.toString());
        }
    }

    /** Posts a report of these VMs running, made at the node's desired revision as the controller serves it now. */
    private static void reportRunning(ApiClient api, String... ids) throws IOException {
        long revision = api.get("/v1/nodes/n1/desired").json(JsonNode.class).path("revision").asLong();
        List<AllocationReports.Report> reports = new ArrayList<>();
        for (String id : ids) reports.add(new AllocationReports.Report(id, "running", null));
        assertEquals(204, api.post("/v1/nodes/n1/reports", new AllocationReports(revision, reports)).status());
    }

    /** Replica id to the VM memory its node is told to run. */
    private static Map<String, String> memories(ApiClient api) throws IOException {
        Map<String, String> out = new TreeMap<>();
        api.get("/v1/nodes/n1/desired").json(JsonNode.class).path("vms").properties().forEach(e -> out.put(e.getKey(), e.getValue().path("memory").asText()));
        return out;
    }
}
