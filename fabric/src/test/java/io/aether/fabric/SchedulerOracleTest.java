package io.aether.fabric;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.aether.common.ByteSize;
import io.aether.fabricapi.Allocation;
import io.aether.fabricapi.Job;
import io.aether.fabricapi.JobSpec;
import io.aether.fabricapi.Node;
import io.aether.fabricapi.Resources;
import io.aether.testkit.Gen;
import io.aether.testkit.Property;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The scheduler's placements against an oracle: the ranking its documentation describes, done the
 * plain way (every node filtered and ranked afresh for every replica), on generated fleets where
 * equal nodes, existing replicas, anti-affinity both ways, affinity and spreading are common. The
 * oracle knows nothing of how the scheduler keeps its ranking between replicas.
 */
@Timeout(120)
class SchedulerOracleTest {

    private static final List<String> ZONES = List.of("x", "y", "z");

    private record Fleet(List<Node> nodes, List<Job> jobs, List<Allocation> allocations) {
    }

    private static final Gen<Fleet> FLEETS = random -> {
        List<Node> nodes = new ArrayList<>();
        int nodeCount = random.nextInt(1, random.nextBoolean() ? 10 : 60);
        for (int i = 0; i < nodeCount; i++) {
            Map<String, String> labels = new HashMap<>();
            if (random.nextInt(4) != 0) labels.put("zone", ZONES.get(random.nextInt(ZONES.size())));
            if (random.nextInt(4) == 0) labels.put("gpu", "yes");
            // Two sizes only: most nodes have an equal twin, so ties are broken by name all the time.
            Node node = Fabrics.node(String.format("n%02d", random.nextInt(100)) + "-" + i, random.nextBoolean() ? 8 : 16, random.nextBoolean() ? 8192 : 16384,
                    labels);
            nodes.add(random.nextInt(10) == 0 ? node.withStatus(random.nextBoolean() ? Node.Status.DRAINING : Node.Status.REVOKED) : node);
        }
        List<Job> jobs = new ArrayList<>();
        int jobCount = random.nextInt(1, 12);
        for (int j = 0; j < jobCount; j++) jobs.add(new Job(job(random, "j" + j, jobCount), 1, Optional.empty()));
        // Replicas already placed, within each node's capacity, some of them beyond their job's count now.
        List<Allocation> allocations = new ArrayList<>();
        Map<String, Resources> used = new HashMap<>();
        for (Job job : jobs) {
            for (int r = 0; r < job.spec().replicas() + 1; r++) {
                if (random.nextInt(3) != 0) continue;
                Node node = nodes.get(random.nextInt(nodes.size()));
                Resources after = used.getOrDefault(node.name(), Resources.NONE).plus(job.spec().resources());
                if (!node.capacity().fits(after)) continue;
                used.put(node.name(), after);
                allocations.add(new Allocation(job.name(), r, node.name(), job.spec().resources(), job.spec().priority()));
            }
        }
        return new Fleet(nodes, jobs, allocations);
    };

    private static JobSpec job(RandomGenerator random, String name, int jobCount) {
        JobSpec stub = Fabrics.stubJob(name);
        JobSpec spec = new JobSpec(name, stub.workload(), new Resources(random.nextInt(1, 5), ByteSize.ofMiB(512L * random.nextInt(1, 9))),
                random.nextInt(1, 25), stub.constraints(), List.of(), List.of(), JobSpec.Placement.BINPACK, Optional.empty(), random.nextInt(0, 3), false,
                stub.restart(), stub.rollout());
        spec = spec.withPlacement(random.nextBoolean() ? JobSpec.Placement.BINPACK : JobSpec.Placement.SPREAD,
                random.nextInt(3) == 0 ? Optional.of("zone") : Optional.empty());
        if (random.nextInt(5) == 0) spec = spec.withConstraints(Map.of("gpu", "yes"));
        List<String> prefer = new ArrayList<>();
        List<String> avoid = new ArrayList<>();
        if (random.nextInt(3) == 0) prefer.add("j" + random.nextInt(jobCount));
        if (random.nextInt(4) == 0) avoid.add(name);
        String other = "j" + random.nextInt(jobCount);
        if (random.nextInt(5) == 0 && !avoid.contains(other)) avoid.add(other);
        return spec.withAffinity(prefer, avoid);
    }

    @Test
    void placementsAreThoseOfRankingEveryNodeForEveryReplica() {
        Property.forAll(FLEETS).check(fleet -> {
            Command.Plan plan = Scheduler.plan(new Scheduler.View(fleet.nodes(), fleet.jobs(), fleet.allocations()));
            Oracle oracle = new Oracle(fleet);
            assertEquals(oracle.placements, plan.placements());
            assertEquals(oracle.stops, plan.stops());
            assertEquals(oracle.pendingJobs, plan.pending().keySet());
        });
    }

    /** The plain ranking: every replica without a node in turn, every node considered for it. */
    private static final class Oracle {
        final List<Allocation> placements = new ArrayList<>();
        final List<String> stops = new ArrayList<>();
        final TreeSet<String> pendingJobs = new TreeSet<>();
        private final TreeMap<String, Node> nodes = new TreeMap<>();
        private final Map<String, JobSpec> jobs = new HashMap<>();
        private final List<Allocation> running = new ArrayList<>();

        Oracle(Fleet fleet) {
            fleet.nodes().forEach(n -> nodes.put(n.name(), n));
            fleet.jobs().forEach(j -> jobs.put(j.name(), j.spec()));
            List<Allocation> existing = new ArrayList<>(fleet.allocations());
            existing.sort(Comparator.comparing(Allocation::id));
            for (Allocation a : existing) {
                JobSpec job = jobs.get(a.job());
                Node node = nodes.get(a.node());
                boolean keep = job != null && a.replica() < job.replicas() && node != null && node.status() == Node.Status.READY;
                if (keep) running.add(a);
                else stops.add(a.id());
            }
            List<JobSpec> order = new ArrayList<>(jobs.values());
            order.sort(Comparator.comparingInt((JobSpec j) -> -j.priority()).thenComparing(JobSpec::name));
            for (JobSpec job : order) {
                for (int r = 0; r < job.replicas(); r++) {
                    String id = job.name() + "." + r;
                    if (running.stream().anyMatch(a -> a.id().equals(id))) continue;
                    Optional<Node> best = nodes.values().stream().filter(n -> takes(n, job)).min(ranking(job));
                    if (best.isEmpty()) {
                        pendingJobs.add(job.name());
                        continue;
                    }
                    Allocation a = new Allocation(job.name(), r, best.get().name(), job.resources(), job.priority());
                    running.add(a);
                    placements.add(a);
                }
            }
        }

        private List<Allocation> on(Node node) {
            return running.stream().filter(a -> a.node().equals(node.name())).toList();
        }

        private long vcpusFree(Node node) {
            return node.capacity().vcpus() - on(node).stream().mapToLong(a -> a.resources().vcpus()).sum();
        }

        private long bytesFree(Node node) {
            return node.capacity().memory().bytes() - on(node).stream().mapToLong(a -> a.resources().memory().bytes()).sum();
        }

        private boolean takes(Node node, JobSpec job) {
            if (node.status() != Node.Status.READY) return false;
            if (!job.constraints().entrySet().stream().allMatch(c -> c.getValue().equals(node.labels().get(c.getKey())))) return false;
            for (Allocation a : on(node)) {
                if (job.antiAffinity().contains(a.job()) || jobs.get(a.job()).antiAffinity().contains(job.name())) return false;
            }
            return vcpusFree(node) >= job.resources().vcpus() && bytesFree(node) >= job.resources().memory().bytes();
        }

        /** Fewest of the job's replicas in the node's spread group, most replicas it has affinity to, fullest or emptiest after, name. */
        private Comparator<Node> ranking(JobSpec job) {
            Comparator<Node> bySpread = Comparator.comparingLong(n -> job.spreadBy().map(label -> running.stream()
                    .filter(a -> a.job().equals(job.name()) && nodes.get(a.node()).labels().getOrDefault(label, "").equals(n.labels().getOrDefault(label, "")))
                    .count()).orElse(0L));
            Comparator<Node> byAffinity = Comparator.comparingLong(n -> -on(n).stream().filter(a -> job.affinity().contains(a.job())).count());
            Comparator<Node> byFullness = Comparator.comparingLong(n -> fullnessAfter(n, job) * (job.placement() == JobSpec.Placement.BINPACK ? -1 : 1));
            return bySpread.thenComparing(byAffinity).thenComparing(byFullness).thenComparing(Node::name);
        }

        /** Used vCPUs and memory after one more replica, each in millionths of the node's capacity (the fleet's sizes keep this exact in a long). */
        private long fullnessAfter(Node node, JobSpec job) {
            long cpu = (node.capacity().vcpus() - vcpusFree(node) + job.resources().vcpus()) * 1_000_000L / node.capacity().vcpus();
            long memory = (node.capacity().memory().bytes() - bytesFree(node) + job.resources().memory().bytes()) * 1_000_000L
                    / node.capacity().memory().bytes();
            return cpu + memory;
        }
    }
}
