package io.aether.fabric;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.aether.fabricapi.Event;
import io.aether.fabricapi.Job;
import io.aether.http.ApiClient;
import io.aether.http.Listener;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Preemption above the scheduler: a job that may preempt and fits nowhere stops lower-priority
 * replicas in the replicated state and through the controller, and the replica it stopped stays
 * pending saying so; one that may not stays pending itself.
 */
@Timeout(60)
class PreemptionTest {

    private static final Instant T = Instant.parse("2026-12-06T12:00:00Z");
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    /** Two replicas of 1 vCPU at priority 1 fill a 2-vCPU node; the next job asks for 1 vCPU at priority 10. */
    private static FabricState full() {
        FabricState state = new FabricState();
        String hash = JoinTokens.hash("n1");
        state.apply(new Command.CreateToken(hash, T.plusSeconds(60), T));
        state.apply(new Command.JoinNode(hash, Fabrics.node("n1", 2, 4096, Map.of()), Fabrics.key("n1"), T));
        state.apply(new Command.SubmitJob(Fabrics.stubJob("batch").withReplicas(2).withPriority(1, false), T));
        state.apply(new Command.ApplyPlan(Scheduler.plan(Scheduler.View.of(state)), T));
        assertEquals(2, state.allocations.size());
        return state;
    }

    @Test
    void aPreemptingJobStopsALowerReplicaWhichStaysPendingNamingIt() {
        FabricState state = full();
        state.apply(new Command.SubmitJob(Fabrics.stubJob("urgent").withPriority(10, true), T));
        for (int pass = 0; pass < 3; pass++) {
            // Later passes find the victim still without room; its reason must still name the job that took it.
            Command.Plan plan = Scheduler.plan(Scheduler.View.of(state));
            if (!plan.changesNothing(state.pending())) state.apply(new Command.ApplyPlan(plan, T.plusSeconds(pass)));
        }
        assertEquals(List.of("batch.1", "urgent.0"), List.copyOf(state.allocations.keySet()));
        Job batch = state.jobs.get("batch");
        assertEquals(Optional.of("1 of 2 replicas have no node: preempted by urgent; 1 node without 1 vCPUs and 32M free"), batch.pending());
        assertTrue(state.events.stream().anyMatch(e -> e.kind() == Event.Kind.ALLOCATION_PREEMPTED && e.subject().equals("allocation batch.0")
                && e.detail().equals("preempted by urgent (was on node n1)")), state.events.toString());
        byte[] snapshot = FabricCodec.snapshot(state);
        assertArrayEquals(snapshot, FabricCodec.snapshot(FabricCodec.restore(snapshot)), "who preempted whom survives a snapshot");
        byte[] forged = new String(snapshot, StandardCharsets.UTF_8).replace("\"preemptedBy\":{\"batch.0\"", "\"preemptedBy\":{\"batch\"")
                .getBytes(StandardCharsets.UTF_8);
        assertEquals("preemptedBy: 'batch' is not a replica id", assertThrows(IllegalArgumentException.class, () -> FabricCodec.restore(forged)).getMessage());

        // Once the preempting job stops, the victim comes back and its reason is gone.
        state.apply(new Command.StopJob("urgent", T.plusSeconds(10)));
        state.apply(new Command.ApplyPlan(Scheduler.plan(Scheduler.View.of(state)), T.plusSeconds(10)));
        assertEquals(List.of("batch.0", "batch.1"), List.copyOf(state.allocations.keySet()));
        assertEquals(Optional.empty(), state.jobs.get("batch").pending());
        assertTrue(state.preemptedBy.isEmpty(), state.preemptedBy.toString());
    }

    @Test
    void withoutPreemptTheHigherJobStaysPendingWithTheReason() {
        FabricState state = full();
        state.apply(new Command.SubmitJob(Fabrics.stubJob("polite").withPriority(10, false), T));
        state.apply(new Command.ApplyPlan(Scheduler.plan(Scheduler.View.of(state)), T));
        assertEquals(List.of("batch.0", "batch.1"), List.copyOf(state.allocations.keySet()));
        assertEquals(Optional.of("1 of 1 replicas have no node: 1 node without 1 vCPUs and 32M free"), state.jobs.get("polite").pending());
    }

    /** Through the controller's API: a node pulls; what it is told to run changes as the preemption says. */
    @Test
    void throughTheControllerTheNodeIsToldToRunTheUrgentJobInsteadOfTheVictim() throws IOException {
        Path socket = dir.resolve("controller.sock");
        try (Controller controller = Controller.start(Fabrics.group(dir, 1, 1000).getFirst(), List.of(new Listener.UnixSocket(socket)), Duration.ofHours(1))) {
            ApiClient api = ApiClient.unix(socket, Duration.ofSeconds(10));
            JoinTokens tokens = new JoinTokens(controller.fabric(), Clock.systemUTC(), new SecureRandom());
            tokens.join(tokens.create(Duration.ofMinutes(5)).secret(), Fabrics.node("n1", 2, 4096, Map.of()), Fabrics.key("n1"));
            String job = "{\"name\":\"%s\",\"workload\":{\"vm\":{\"boot\":{\"stub\":\"count\"},\"memory\":\"16M\"}},\"resources\":{\"vcpus\":1,\"memory\":\"32M\"},"
                    + "\"replicas\":%d,\"priority\":%d,\"preempt\":%b}";
            assertEquals(201, api.post("/v1/jobs", JSON.readTree(job.formatted("batch", 2, 1, false))).status());
            assertEquals(List.of("batch.0", "batch.1"), vms(api));

            assertEquals(201, api.post("/v1/jobs", JSON.readTree(job.formatted("polite", 1, 10, false))).status());
            assertEquals(List.of("batch.0", "batch.1"), vms(api));
            assertEquals("1 of 1 replicas have no node: 1 node without 1 vCPUs and 32M free", pending(api, "polite"));

            assertEquals(201, api.post("/v1/jobs", JSON.readTree(job.formatted("urgent", 1, 10, true))).status());
            assertEquals(List.of("batch.1", "urgent.0"), vms(api));
            controller.reconcile();
            assertEquals("1 of 2 replicas have no node: preempted by urgent; 1 node without 1 vCPUs and 32M free", pending(api, "batch"));
            assertEquals("1 of 1 replicas have no node: 1 node without 1 vCPUs and 32M free", pending(api, "polite"));
        }
    }

    private static List<String> vms(ApiClient api) throws IOException {
        List<String> out = new ArrayList<>();
        api.get("/v1/nodes/n1/desired").json(JsonNode.class).path("vms").fieldNames().forEachRemaining(out::add);
        return out;
    }

    private static String pending(ApiClient api, String job) throws IOException {
        return api.get("/v1/jobs/" + job).json(JsonNode.class).path("job").path("pending").asText();
    }
}
