package io.aether.fabric;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.common.ByteSize;
import io.aether.fabricapi.Allocation;
import io.aether.fabricapi.Job;
import io.aether.fabricapi.JobSpec;
import io.aether.fabricapi.Node;
import io.aether.fabricapi.Resources;
import io.aether.testkit.Gen;
import io.aether.testkit.Property;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.TreeMap;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class SchedulerTest {

    private static final Instant T = Instant.parse("2026-12-06T12:00:00Z");

    private static JobSpec sized(String name, int replicas, int vcpus, int memoryMiB) {
        JobSpec stub = Fabrics.stubJob(name);
        return new JobSpec(name, stub.workload(), new Resources(vcpus, ByteSize.ofMiB(memoryMiB)), replicas, stub.constraints(), List.of(), List.of(),
                JobSpec.Placement.BINPACK, Optional.empty(), 0, false, JobSpec.Restart.ON_FAILURE, JobSpec.Rollout.DEFAULT);
    }

    private static Job submitted(JobSpec spec) {
        return new Job(spec, 1, Optional.empty());
    }

    private static Map<String, String> nodesOf(Command.Plan plan) {
        Map<String, String> out = new HashMap<>();
        plan.placements().forEach(a -> out.put(a.id(), a.node()));
        return out;
    }

    @Test
    void binPackFillsOneNodeAndSpreadUsesAll() {
        List<Node> nodes = List.of(Fabrics.node("a", 4, 4096, Map.of()), Fabrics.node("b", 4, 4096, Map.of()), Fabrics.node("c", 4, 4096, Map.of()));
        JobSpec packed = sized("packed", 3, 1, 512);
        Command.Plan plan = Scheduler.plan(new Scheduler.View(nodes, List.of(submitted(packed)), List.of()));
        assertEquals(Map.of("packed.0", "a", "packed.1", "a", "packed.2", "a"), nodesOf(plan));
        JobSpec spread = packed.withPlacement(JobSpec.Placement.SPREAD, Optional.empty());
        plan = Scheduler.plan(new Scheduler.View(nodes, List.of(submitted(spread)), List.of()));
        assertEquals(Map.of("packed.0", "a", "packed.1", "b", "packed.2", "c"), nodesOf(plan));
    }

    @Test
    void labelsAntiAffinityAndSpreadByFilterAndRank() {
        List<Node> nodes = List.of(Fabrics.node("a", 8, 8192, Map.of("zone", "x")), Fabrics.node("b", 8, 8192, Map.of("zone", "x")),
                Fabrics.node("c", 8, 8192, Map.of("zone", "y", "gpu", "yes")));
        JobSpec zoned = sized("zoned", 2, 1, 256).withPlacement(JobSpec.Placement.BINPACK, Optional.of("zone"));
        assertEquals(Map.of("zoned.0", "a", "zoned.1", "c"), nodesOf(Scheduler.plan(new Scheduler.View(nodes, List.of(submitted(zoned)), List.of()))));
        JobSpec gpu = sized("gpu", 2, 1, 256).withConstraints(Map.of("gpu", "yes"));
        Command.Plan plan = Scheduler.plan(new Scheduler.View(nodes, List.of(submitted(gpu)), List.of()));
        assertEquals(Map.of("gpu.0", "c", "gpu.1", "c"), nodesOf(plan));
        JobSpec lonely = gpu.withAffinity(List.of(), List.of("gpu"));
        plan = Scheduler.plan(new Scheduler.View(nodes, List.of(submitted(lonely)), List.of()));
        assertEquals(Map.of("gpu.0", "c"), nodesOf(plan));
        assertEquals("1 of 2 replicas have no node: 1 node running gpu (anti-affinity), 2 nodes without label gpu=yes", plan.pending().get("gpu"));
    }

    @Test
    void workThatFitsNowhereIsPendingWithTheReason() {
        List<Node> nodes = List.of(Fabrics.node("a", 2, 1024, Map.of()), Fabrics.node("b", 2, 1024, Map.of()).withStatus(Node.Status.DRAINING));
        Command.Plan plan = Scheduler.plan(new Scheduler.View(nodes, List.of(submitted(sized("big", 1, 4, 512))), List.of()));
        assertEquals(List.of(), plan.placements());
        assertEquals(Map.of("big", "1 of 1 replicas have no node: 1 node draining, 1 node without 4 vCPUs and 512M free"), plan.pending());
        plan = Scheduler.plan(new Scheduler.View(List.of(), List.of(submitted(sized("big", 1, 4, 512))), List.of()));
        assertEquals(Map.of("big", "1 of 1 replicas have no node: no node has joined"), plan.pending());
    }

    /** What --strict refuses: a job no node could ever take, or too many replicas for all the nodes that could, however empty. */
    @Test
    void aJobThatCanNeverFitIsToldApartFromOneThatWaitsForRoom() {
        List<Node> nodes = List.of(Fabrics.node("a", 4, 4096, Map.of("gpu", "yes")), Fabrics.node("b", 2, 4096, Map.of()),
                Fabrics.node("c", 8, 8192, Map.of()).withStatus(Node.Status.DRAINING));
        assertEquals(Optional.of("no node has joined"), Scheduler.neverFits(sized("web", 1, 1, 512), List.of()));
        assertEquals(Optional.empty(), Scheduler.neverFits(sized("web", 6, 1, 512), nodes), "4 + 2 vCPUs, 8 + 8 replicas of memory: room for 6");
        assertEquals(Optional.of("the nodes have room for 6 of 7 replicas at most (1 node draining)"), Scheduler.neverFits(sized("web", 7, 1, 512), nodes));
        assertEquals(Optional.of("1 node draining, 1 node smaller than 4 vCPUs and 512M"), Scheduler.neverFits(sized("web", 1, 4, 512), nodes.subList(1, 3)));
        assertEquals(Optional.of("1 node draining, 1 node without label gpu=yes"),
                Scheduler.neverFits(sized("web", 1, 1, 512).withConstraints(Map.of("gpu", "yes")), nodes.subList(1, 3)));
        assertEquals(Optional.of("the nodes have room for 2 of 3 replicas at most (1 node draining)"),
                Scheduler.neverFits(sized("web", 3, 1, 512).withAffinity(List.of(), List.of("web")), nodes), "one replica a node when it avoids itself");
    }

    @Test
    void higherPriorityPreemptsTheLeastItMustAndTheVictimWaits() {
        List<Node> nodes = List.of(Fabrics.node("a", 4, 4096, Map.of()));
        JobSpec low = sized("low", 2, 2, 1024).withPriority(1, false);
        JobSpec lower = sized("lower", 1, 1, 1024).withPriority(0, false);
        List<Allocation> running = List.of(new Allocation("low", 0, "a", low.resources(), 1), new Allocation("low", 1, "a", low.resources(), 1));
        JobSpec urgent = sized("urgent", 1, 2, 1024).withPriority(10, true);
        Command.Plan plan = Scheduler.plan(new Scheduler.View(nodes, List.of(submitted(low), submitted(lower), submitted(urgent)), running));
        assertEquals(List.of("low.0"), plan.preemptions());
        assertEquals(Map.of("urgent.0", "a"), nodesOf(plan));
        assertTrue(plan.pending().get("low").startsWith("1 of 2 replicas have no node"), plan.pending().toString());
        assertTrue(plan.pending().containsKey("lower"));
        JobSpec polite = urgent.withPriority(10, false);
        plan = Scheduler.plan(new Scheduler.View(nodes, List.of(submitted(low), submitted(polite)), running));
        assertEquals(List.of(), plan.preemptions());
        assertEquals(List.of(), plan.placements());
    }

    @Test
    void replicasOfGoneJobsAndNodesAreStoppedAndPlacedAgain() {
        List<Node> nodes = List.of(Fabrics.node("a", 4, 4096, Map.of()));
        JobSpec kept = sized("kept", 1, 1, 256);
        List<Allocation> running = List.of(new Allocation("gone", 0, "a", kept.resources(), 0), new Allocation("kept", 0, "left", kept.resources(), 0),
                new Allocation("kept", 3, "a", kept.resources(), 0));
        Command.Plan plan = Scheduler.plan(new Scheduler.View(nodes, List.of(submitted(kept)), running));
        assertEquals(List.of("gone.0", "kept.0", "kept.3"), plan.stops());
        assertEquals(Map.of("kept.0", "a"), nodesOf(plan));
    }

    /** Replicas on a draining or revoked node are stopped and placed on a ready node, or wait pending when none has room; the state takes that plan. */
    @Test
    void drainingAndRevokedNodesHandTheirReplicasOn() {
        FabricState state = new FabricState();
        for (String name : List.of("a", "b", "c")) {
            String hash = JoinTokens.hash(name);
            state.apply(new Command.CreateToken(hash, T.plusSeconds(60), T));
            state.apply(new Command.JoinNode(hash, Fabrics.node(name, 2, 2048, Map.of()), Fabrics.key(name), T));
        }
        state.apply(new Command.SubmitJob(sized("web", 3, 2, 1024).withPlacement(JobSpec.Placement.SPREAD, Optional.empty()), T));
        state.apply(new Command.ApplyPlan(Scheduler.plan(Scheduler.View.of(state)), T));
        assertEquals(Map.of("web.0", "a", "web.1", "b", "web.2", "c"), nodesOf(state));

        state.apply(new Command.SubmitJob(sized("web", 2, 2, 1024).withPlacement(JobSpec.Placement.SPREAD, Optional.empty()), T));
        state.apply(new Command.ApplyPlan(Scheduler.plan(Scheduler.View.of(state)), T));
        assertEquals(Map.of("web.0", "a", "web.1", "b"), nodesOf(state));
        state.apply(new Command.DrainNode("a", T));
        Command.Plan plan = Scheduler.plan(Scheduler.View.of(state));
        assertEquals(List.of("web.0"), plan.stops());
        assertEquals(Map.of("web.0", "c"), nodesOf(plan));
        assertEquals(new Outcome.Applied(state.lastSequence + 2), state.apply(new Command.ApplyPlan(plan, T)));
        assertEquals(Map.of("web.0", "c", "web.1", "b"), nodesOf(state));

        state.apply(new Command.RevokeNode("b", T));
        plan = Scheduler.plan(Scheduler.View.of(state));
        assertEquals(List.of("web.1"), plan.stops());
        assertEquals(List.of(), plan.placements());
        assertEquals(Map.of("web", "1 of 2 replicas have no node: 1 node draining, 1 node revoked, 1 node without 2 vCPUs and 1G free"), plan.pending());
        assertTrue(state.apply(new Command.ApplyPlan(plan, T)) instanceof Outcome.Applied);
        assertEquals(Map.of("web.0", "c"), nodesOf(state));
        assertEquals(List.of(), state.desiredFor("b").allocations());
        assertEquals(new Outcome.Refused("node b is revoked"), state.apply(new Command.DrainNode("b", T)));
    }

    private static Map<String, String> nodesOf(FabricState state) {
        Map<String, String> out = new TreeMap<>();
        state.allocations.values().forEach(a -> out.put(a.id(), a.node()));
        return out;
    }

    /** A plan made from a state that has moved on is refused whole, and the state is left as it was. */
    @Test
    void aStalePlanIsRefusedWholeAndChangesNothing() {
        FabricState state = new FabricState();
        for (String name : List.of("a", "b")) {
            String hash = JoinTokens.hash(name);
            state.apply(new Command.CreateToken(hash, T.plusSeconds(60), T));
            state.apply(new Command.JoinNode(hash, Fabrics.node(name, 4, 4096, Map.of()), Fabrics.key(name), T));
        }
        state.apply(new Command.SubmitJob(sized("web", 2, 2, 1024).withPlacement(JobSpec.Placement.SPREAD, Optional.empty()), T));
        Command.Plan plan = Scheduler.plan(Scheduler.View.of(state));
        assertEquals(Map.of("web.0", "a", "web.1", "b"), nodesOf(plan));

        state.apply(new Command.DrainNode("b", T));
        byte[] before = FabricCodec.snapshot(state);
        assertEquals(new Outcome.Refused("plan no longer holds: node b takes no new work"), state.apply(new Command.ApplyPlan(plan, T)));
        assertEquals(new Outcome.Refused("plan no longer holds: allocation web.0 is not there to preempt"),
                state.apply(new Command.ApplyPlan(new Command.Plan(plan.placements().subList(0, 1), List.of(), List.of("web.0"), plan.pending()), T)));
        assertArrayEquals(before, FabricCodec.snapshot(state));
        state.apply(new Command.SubmitJob(sized("big", 1, 4, 1024), T));
        before = FabricCodec.snapshot(state);
        Allocation big = new Allocation("big", 0, "a", new Resources(4, ByteSize.ofMiB(1024)), 0);
        assertEquals(new Outcome.Refused("plan no longer holds: node a has no room for big.0"),
                state.apply(new Command.ApplyPlan(new Command.Plan(List.of(plan.placements().get(0), big), List.of(), List.of(), plan.pending()), T)));
        assertArrayEquals(before, FabricCodec.snapshot(state));

        state.apply(new Command.StopJob("web", T));
        assertEquals(new Outcome.Refused("plan no longer holds: job web is gone"), state.apply(new Command.ApplyPlan(plan, T)));
    }

    /** A fabric built through the state machine's own commands: nodes joined, jobs submitted, plans applied, then more jobs. */
    private record Scenario(FabricState state) {
        @Override
        public String toString() {
            return Scheduler.View.of(state).toString();
        }
    }

    private static final Gen<Scenario> SCENARIOS = random -> {
        FabricState state = new FabricState();
        int nodes = random.nextInt(1, 9);
        for (int i = 0; i < nodes; i++) {
            String hash = JoinTokens.hash("t" + i);
            state.apply(new Command.CreateToken(hash, T.plusSeconds(3600), T));
            Map<String, String> labels = new HashMap<>();
            if (random.nextBoolean()) labels.put("zone", random.nextBoolean() ? "x" : "y");
            if (random.nextInt(4) == 0) labels.put("gpu", "yes");
            // Few sizes, as in real fleets: equal ranks are common, so a tie broken by input order would show.
            Node node = Fabrics.node("n" + i, 4 << random.nextInt(3), 2048 << random.nextInt(3), labels);
            state.apply(new Command.JoinNode(hash, random.nextInt(8) == 0 ? node.withStatus(Node.Status.DRAINING) : node, Fabrics.key(node.name()), T));
        }
        for (int round = 0; round < 2; round++) {
            int jobs = random.nextInt(1, 6);
            for (int j = 0; j < jobs; j++) state.apply(new Command.SubmitJob(randomJob(random, "r" + round + "j" + j), T));
            Command.Plan plan = Scheduler.plan(Scheduler.View.of(state));
            Outcome outcome = state.apply(new Command.ApplyPlan(plan, T));
            if (!(outcome instanceof Outcome.Applied)) throw new AssertionError("the state refused a fresh plan: " + outcome);
        }
        if (random.nextBoolean()) state.apply(new Command.StopJob("r0j0", T));
        return new Scenario(state);
    };

    private static JobSpec randomJob(RandomGenerator random, String name) {
        JobSpec spec = sized(name, random.nextInt(1, 5), random.nextInt(1, 5), 128 * random.nextInt(1, 9));
        spec = spec.withPriority(random.nextInt(0, 4), random.nextBoolean());
        spec = spec.withPlacement(random.nextBoolean() ? JobSpec.Placement.BINPACK : JobSpec.Placement.SPREAD,
                random.nextInt(3) == 0 ? Optional.of("zone") : Optional.empty());
        if (random.nextInt(4) == 0) spec = spec.withConstraints(Map.of("gpu", "yes"));
        List<String> avoid = random.nextInt(3) == 0 ? List.of(name) : List.of();
        List<String> prefer = random.nextInt(4) == 0 ? List.of("r0j0") : List.of();
        return spec.withAffinity(prefer, avoid);
    }

    private static <T> List<T> shuffled(List<T> list, Random random) {
        List<T> copy = new ArrayList<>(list);
        Collections.shuffle(copy, random);
        return copy;
    }

    @Test
    void theSamePlanWhateverTheOrderAndNeverMoreThanANodeHolds() {
        Property.forAll(SCENARIOS, Gen.longs()).check((scenario, seed) -> {
            Scheduler.View view = Scheduler.View.of(scenario.state());
            Command.Plan plan = Scheduler.plan(view);
            Random random = new Random(seed);
            Scheduler.View shuffled = new Scheduler.View(shuffled(view.nodes(), random), shuffled(view.jobs(), random), shuffled(view.allocations(), random),
                    view.preemptedBy());
            assertEquals(plan, Scheduler.plan(shuffled));

            FabricState state = scenario.state();
            assertInstanceOf(Outcome.Applied.class, state.apply(new Command.ApplyPlan(plan, T)));
            Map<String, Resources> used = new HashMap<>();
            for (Allocation a : state.allocations.values()) {
                used.merge(a.node(), a.resources(), Resources::plus);
                Node node = state.nodes.get(a.node());
                JobSpec spec = state.jobs.get(a.job()).spec();
                spec.constraints().forEach((k, v) -> assertEquals(v, node.labels().get(k), a.id() + " on " + node.name()));
                for (Allocation other : state.allocations.values()) {
                    if (other != a && other.node().equals(a.node())) assertTrue(!spec.antiAffinity().contains(other.job()), a.id() + " beside " + other.id());
                }
            }
            used.forEach((node, total) -> assertTrue(state.nodes.get(node).capacity().fits(total), node + " holds " + total));
            for (Job job : state.jobs.values()) {
                long placed = state.allocations.values().stream().filter(a -> a.job().equals(job.name())).count();
                assertEquals(placed < job.spec().replicas(), job.pending().isPresent(), job.name() + ": " + placed + " placed, pending " + job.pending());
            }
            assertEquals(List.of(), Scheduler.plan(Scheduler.View.of(state)).placements().stream()
                    .filter(a -> state.allocations.containsKey(a.id())).toList(), "a second pass moves nothing already placed");
        });
    }

    /**
     * A fleet-sized pass: 1,000 nodes in ten zones, 10,000 replicas. Ranking every node again for
     * every replica (and counting a spread job's replicas over every node for each) took minutes
     * here; ranking each job's nodes once and keeping them in order takes well under a second.
     */
    @Test
    @Timeout(20)
    void aThousandNodesTakeTenThousandReplicasInOnePass() {
        List<Node> nodes = new ArrayList<>();
        for (int i = 0; i < 1000; i++) nodes.add(Fabrics.node(String.format("n%04d", i), 16, 64 * 1024, Map.of("zone", "z" + i % 10)));
        List<Job> jobs = new ArrayList<>();
        for (int j = 0; j < 100; j++) {
            JobSpec spec = sized(String.format("job%03d", j), 100, 1, 1024);
            jobs.add(submitted(j % 2 == 0 ? spec.withPlacement(JobSpec.Placement.SPREAD, Optional.of("zone")) : spec));
        }
        Command.Plan plan = Scheduler.plan(new Scheduler.View(nodes, jobs, List.of()));
        assertEquals(10_000, plan.placements().size());
        assertEquals(Map.of(), plan.pending());
        Map<String, Integer> perZone = new TreeMap<>();
        Map<String, Integer> packed = new TreeMap<>();
        for (Allocation a : plan.placements()) {
            int index = Integer.parseInt(a.node().substring(1));
            if (a.job().equals("job000")) perZone.merge("z" + index % 10, 1, Integer::sum);
            if (a.job().equals("job001")) packed.merge(a.node(), 1, Integer::sum);
        }
        // 100 replicas over ten zones of equal nodes: ten in each.
        assertEquals(10, perZone.size());
        perZone.forEach((zone, count) -> assertEquals(10, count, zone));
        // 100 one-vCPU replicas bin-packed onto 16-vCPU nodes fill six nodes and part of a seventh.
        assertEquals(7, packed.size(), packed.toString());
    }
}
