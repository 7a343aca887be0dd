package io.aether.fabric;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.common.ByteSize;
import io.aether.fabricapi.Allocation;
import io.aether.fabricapi.JobSpec;
import io.aether.fabricapi.Resources;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class FabricCodecTest {

    private static final Instant T = Instant.ofEpochMilli(1_765_022_400_000L);
    private static final String HASH = "ab".repeat(32);

    private static String text(Command c) {
        return new String(FabricCodec.encode(c), StandardCharsets.UTF_8);
    }

    /** The log's format, written out by hand: a change to it is a change to every controller's stored log. */
    @Test
    void commandsAreTheDocumentedBytes() {
        assertEquals("{\"type\":\"join-node\",\"tokenHash\":\"" + HASH + "\",\"node\":{\"name\":\"n1\",\"labels\":{\"a\":\"1\",\"zone\":\"x\"},"
                + "\"vcpus\":4,\"memory\":4294967296,\"status\":\"READY\"},\"key\":\"a2V5IG9mIG4x\",\"at\":1765022400000}",
                text(new Command.JoinNode(HASH, Fabrics.node("n1", 4, 4096, Map.of("zone", "x", "a", "1")), Fabrics.key("n1"), T)));
        Command.Plan plan = new Command.Plan(List.of(new Allocation("web", 1, "n1", new Resources(2, ByteSize.ofMiB(512)), 7)),
                List.of("old.3"), List.of("low.0"), new TreeMap<>(Map.of("big", "1 of 1 replicas have no node: no node has joined")));
        assertEquals("{\"type\":\"apply-plan\",\"placements\":[{\"job\":\"web\",\"replica\":1,\"node\":\"n1\",\"vcpus\":2,\"memory\":536870912,"
                + "\"priority\":7}],\"stops\":[\"old.3\"],\"preemptions\":[\"low.0\"],"
                + "\"pending\":{\"big\":\"1 of 1 replicas have no node: no node has joined\"},\"at\":1765022400000}",
                text(new Command.ApplyPlan(plan, T)));
        assertEquals("{\"type\":\"stop-job\",\"job\":\"web\",\"at\":1765022400000}", text(new Command.StopJob("web", T)));
        assertEquals("{\"type\":\"revoke-node\",\"node\":\"n1\",\"at\":1765022400000}", text(new Command.RevokeNode("n1", T)));
        assertEquals("{\"type\":\"add-authority\",\"controller\":\"c1\",\"certificate\":\"Q0E=\",\"at\":1765022400000}",
                text(new Command.AddAuthority("c1", "Q0E=", T)));
        assertEquals("{\"type\":\"add-client\",\"name\":\"ci\",\"role\":\"operate\",\"keyId\":\"" + HASH + "\",\"at\":1765022400000}",
                text(new Command.AddClient("ci", "operate", HASH, T)));
        assertEquals("{\"type\":\"revoke-client\",\"name\":\"ci\",\"at\":1765022400000}", text(new Command.RevokeClient("ci", T)));
    }

    @Test
    void everyCommandReadsBackEqual() {
        List<Command> commands = List.of(
                new Command.CreateToken(HASH, T.plusSeconds(60), T),
                new Command.JoinNode(HASH, Fabrics.node("n1", 4, 4096, Map.of("zone", "x")), Fabrics.key("n1"), T),
                new Command.DrainNode("n1", T),
                new Command.RevokeNode("n1", T),
                new Command.ReportAllocations("n1", 7, new TreeMap<>(Map.of("hello.0", "running", "hello.1", "failed: monitor exited with status 1")), T),
                new Command.SubmitJob(Fabrics.stubJob("hello").withReplicas(3), T),
                new Command.StopJob("hello", T),
                new Command.ApplyPlan(new Command.Plan(List.of(), List.of("a.0"), List.of(), new TreeMap<>()), T),
                new Command.AddAuthority("c1", "Q0E=", T),
                new Command.AddClient("ci", "read", HASH, T),
                new Command.RevokeClient("ci", T));
        for (Command c : commands) {
            assertEquals(c, FabricCodec.decodeCommand(FabricCodec.encode(c)));
            assertArrayEquals(FabricCodec.encode(c), FabricCodec.encode(FabricCodec.decodeCommand(FabricCodec.encode(c))));
        }
    }

    /** A node's key and its allocations' reported states survive a snapshot, and a report changes the state only once. */
    @Test
    void keysAndReportedStatesAreInTheSnapshot() {
        FabricState state = new FabricState();
        assertEquals(Outcome.Applied.class, state.apply(new Command.CreateToken(HASH, T.plusSeconds(60), T)).getClass());
        assertEquals(Outcome.Applied.class, state.apply(new Command.JoinNode(HASH, Fabrics.node("n1", 4, 4096, Map.of()), Fabrics.key("n1"), T)).getClass());
        state.apply(new Command.SubmitJob(Fabrics.stubJob("hello"), T));
        state.apply(new Command.ApplyPlan(Scheduler.plan(Scheduler.View.of(state)), T));
        Command report = new Command.ReportAllocations("n1", 7, new TreeMap<>(Map.of("hello.0", "running")), T);
        assertEquals(new Outcome.Applied(state.lastSequence + 1), state.apply(report));
        assertEquals(new Outcome.Applied(0), state.apply(report), "the same report again records nothing");
        String snapshot = new String(FabricCodec.snapshot(state), StandardCharsets.UTF_8);
        assertTrue(snapshot.contains("\"keys\":{\"n1\":\"a2V5IG9mIG4x\"},\"actual\":{\"hello.0\":\"running\"}"), snapshot);
        assertArrayEquals(FabricCodec.snapshot(state), FabricCodec.snapshot(FabricCodec.restore(FabricCodec.snapshot(state))));
    }

    /**
     * A model allocation's serving URL and commit are kept beside its state, in the command's and
     * the snapshot's JSON as written here; a new URL with the same state is an event too, and the
     * stopped job takes them away.
     */
    @Test
    void aModelsServingUrlAndCommitAreKeptUntilItsJobStops() {
        FabricState state = new FabricState();
        state.apply(new Command.CreateToken(HASH, T.plusSeconds(60), T));
        state.apply(new Command.JoinNode(HASH, Fabrics.node("n1", 4, 4096, Map.of()), Fabrics.key("n1"), T));
        state.apply(new Command.SubmitJob(JobSpec.of("relu", new JobSpec.Workload.Model(URI.create("https://127.0.0.1:7443"), "main"),
                new Resources(1, ByteSize.ofMiB(256))), T));
        state.apply(new Command.ApplyPlan(Scheduler.plan(Scheduler.View.of(state)), T));
        String commit = "ab".repeat(32);
        long revision = state.revisions.getOrDefault("n1", 0L); // the desired state the node reconciled to
        Command report = new Command.ReportAllocations("n1", revision, new TreeMap<>(Map.of("relu.0", "running")),
                new TreeMap<>(Map.of("relu.0", new FabricState.Serving("http://127.0.0.1:41000/v1/models/relu", commit))), Optional.empty(), T);
        assertEquals("{\"type\":\"report-allocations\",\"node\":\"n1\",\"revision\":" + revision + ",\"states\":{\"relu.0\":\"running\"},\"serving\":{\"relu.0\":"
                + "{\"url\":\"http://127.0.0.1:41000/v1/models/relu\",\"commit\":\"" + commit + "\"}},\"at\":1765022400000}", text(report));
        assertEquals(report, FabricCodec.decodeCommand(FabricCodec.encode(report)));
        assertEquals(new Outcome.Applied(state.lastSequence + 1), state.apply(report));
        assertEquals(new Outcome.Applied(0), state.apply(report), "the same report again records nothing");
        Command moved = new Command.ReportAllocations("n1", revision, new TreeMap<>(Map.of("relu.0", "running")),
                new TreeMap<>(Map.of("relu.0", new FabricState.Serving("http://127.0.0.1:42000/v1/models/relu", commit))), Optional.empty(), T);
        assertEquals(new Outcome.Applied(state.lastSequence + 1), state.apply(moved), "a restarted server on a new port is news");
        String snapshot = new String(FabricCodec.snapshot(state), StandardCharsets.UTF_8);
        assertTrue(snapshot.contains("\"serving\":{\"relu.0\":{\"url\":\"http://127.0.0.1:42000/v1/models/relu\",\"commit\":\"" + commit + "\"}}"), snapshot);
        assertEquals(state.serving, FabricCodec.restore(FabricCodec.snapshot(state)).serving);
        state.apply(new Command.StopJob("relu", T));
        assertTrue(state.serving.isEmpty(), "stopped: " + state.serving);
    }

    /** Authorities and clients survive a snapshot; a CA is never replaced, a client name never reused, and refusals change nothing. */
    @Test
    void authoritiesAndClientsAreInTheSnapshot() {
        FabricState state = new FabricState();
        assertEquals(new Outcome.Applied(0), state.apply(new Command.AddAuthority("c1", "Q0E=", T)), "the controllers' set-up records no event");
        assertEquals(new Outcome.Applied(0), state.apply(new Command.AddAuthority("c1", "Q0E=", T)));
        assertEquals(new Outcome.Refused("controller c1 has another certificate authority already"), state.apply(new Command.AddAuthority("c1", "Q0I=", T)));
        assertEquals(new Outcome.Applied(1), state.apply(new Command.AddClient("ci", "operate", HASH, T)));
        assertEquals(new Outcome.Applied(2), state.apply(new Command.RevokeClient("ci", T)));
        assertEquals(new Outcome.Applied(0), state.apply(new Command.RevokeClient("ci", T)), "revoking again records nothing");
        assertEquals(new Outcome.Refused("client ci exists (revoked; names are not reused)"), state.apply(new Command.AddClient("ci", "read", HASH, T)));
        assertEquals(new Outcome.Refused("no client nobody"), state.apply(new Command.RevokeClient("nobody", T)));
        String snapshot = new String(FabricCodec.snapshot(state), StandardCharsets.UTF_8);
        assertTrue(snapshot.contains("\"authorities\":{\"c1\":\"Q0E=\"},\"clients\":{\"ci\":{\"role\":\"operate\",\"keyId\":\"" + HASH
                + "\",\"revoked\":true}}"), snapshot);
        assertArrayEquals(FabricCodec.snapshot(state), FabricCodec.snapshot(FabricCodec.restore(FabricCodec.snapshot(state))));
        assertEquals(2, state.lastSequence);
    }

    @Test
    void malformedCommandsAreRefusedNamingTheField() {
        Map<String, String> cases = Map.of(
                "not json", "command: not JSON",
                "[1]", "command: not a JSON object",
                "{\"type\":\"format-disk\",\"at\":1}", "type: unknown command 'format-disk'",
                "{\"type\":\"stop-job\"}", "at: missing",
                "{\"type\":\"stop-job\",\"job\":7,\"at\":1}", "job: expected a string",
                "{\"type\":\"create-token\",\"hash\":\"zz\",\"expires\":2,\"at\":1}", "token hash: not 64 lower-case hex digits",
                "{\"type\":\"submit-job\",\"spec\":{\"name\":\"a\"},\"at\":1}", "workload: missing",
                "{\"type\":\"join-node\",\"tokenHash\":\"" + HASH + "\",\"node\":{\"name\":\"n\",\"labels\":{},\"vcpus\":-1,\"memory\":0,\"status\":\"READY\"},\"at\":1}",
                "vcpus: -1 is negative");
        cases.forEach((json, message) -> {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> FabricCodec.decodeCommand(json.getBytes(StandardCharsets.UTF_8)));
            assertEquals(message, e.getMessage().startsWith(message) ? message : e.getMessage(), json);
        });
        byte[] huge = ("{\"type\":\"stop-job\",\"job\":\"a\",\"at\":1" + " ".repeat(FabricCodec.MAX_COMMAND_BYTES) + "}").getBytes(StandardCharsets.UTF_8);
        assertEquals("command: " + huge.length + " bytes is too long for stop-job",
                assertThrows(IllegalArgumentException.class, () -> FabricCodec.decodeCommand(huge)).getMessage());
    }
}
