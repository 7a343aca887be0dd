package io.aether.fabric;

import io.aether.common.ByteSize;
import io.aether.fabricapi.Job;
import io.aether.fabricapi.JobSpec;
import io.aether.fabricapi.Node;
import io.aether.fabricapi.Resources;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Issue 9's scheduler benchmark (run by {@code bench/fabric-schedule.sh}, not a test): placements
 * per second over a fleet of simulated nodes and jobs of mixed shapes, first the scheduler's plan
 * alone over a state built in memory (warm-up plans first, then the median of the measured ones),
 * then the whole path: the jobs submitted as commands to a one-peer {@link ReplicatedFabric} on a
 * temporary directory and planned and committed as the controller does, until every placement is
 * committed. It lives beside the package-private classes it drives.
 *
 * <p>Usage: {@code ScheduleBench --nodes N --jobs N --replicas N --warmup N --runs N --dir DIR}
 */
final class ScheduleBench {

    private static final Instant T = Instant.parse("2026-12-06T12:00:00Z");

    private ScheduleBench() {
    }

    public static void main(String[] args) throws Exception {
        int nodes = 10_000;
        int jobs = 2_000;
        int replicas = 50;
        int warmup = 2;
        int runs = 3;
        Path dir = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--nodes" -> nodes = Integer.parseInt(args[++i]);
                case "--jobs" -> jobs = Integer.parseInt(args[++i]);
                case "--replicas" -> replicas = Integer.parseInt(args[++i]);
                case "--warmup" -> warmup = Integer.parseInt(args[++i]);
                case "--runs" -> runs = Integer.parseInt(args[++i]);
                case "--dir" -> dir = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (dir == null) {
            System.err.println("usage: ScheduleBench --nodes N --jobs N --replicas N --warmup N --runs N --dir DIR");
            System.exit(2);
        }
        List<Node> fleet = fleet(nodes);
        List<JobSpec> specs = jobs(jobs, replicas);
        double[] alone = planAlone(fleet, specs, warmup, runs);
        double[] whole;
        String failure = null;
        try {
            whole = wholePath(fleet, specs, dir);
        } catch (IOException | ExecutionException | RuntimeException e) {
            // A figure of the plan alone is still worth printing; the reason the path failed is the finding.
            whole = null;
            failure = e.getMessage();
        }
        int tasks = jobs * replicas;
        System.out.printf(Locale.ROOT, "%n| %,d nodes, %,d tasks (%,d jobs × %d replicas) | placed | time | placements/s |%n|---|---:|---:|---:|%n",
                nodes, tasks, jobs, replicas);
        System.out.printf(Locale.ROOT, "| plan alone (median of %d after %d warm-up) | %,.0f | %.2f s | %,.0f |%n", runs, warmup, alone[0], alone[1], alone[0] / alone[1]);
        if (whole == null) {
            System.out.printf(Locale.ROOT, "| whole path: failed: %s | | | |%n", failure);
        } else {
            System.out.printf(Locale.ROOT, "| whole path: submitted as commands → every placement committed (one Ratis peer) | %,.0f | %.2f s | %,.0f |%n",
                    whole[0], whole[1], whole[0] / whole[1]);
            System.out.printf(Locale.ROOT, "| of which: %,d job submits %.2f s, planning %.2f s, committing the plan %.2f s | | | |%n", jobs, whole[2], whole[3], whole[4]);
        }
        System.exit(0);
    }

    /**
     * Nodes of two sizes in ten zones of ten racks each; one in ten carries a GPU label. Names
     * are zero-padded so that name order is index order.
     */
    static List<Node> fleet(int count) {
        List<Node> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            TreeMap<String, String> labels = new TreeMap<>(Map.of("zone", "z" + i % 10, "rack", "r" + i % 100,
                    "class", i % 10 == 3 ? "gpu" : "general"));
            boolean large = i % 10 >= 7;
            out.add(new Node(String.format(Locale.ROOT, "n%05d", i), labels,
                    new Resources(large ? 64 : 32, ByteSize.ofMiB(large ? 256 * 1024 : 128 * 1024)), Node.Status.READY));
        }
        return out;
    }

    /**
     * Jobs of stub VMs in a mix: three sizes, bin-packing and spreading, a quarter spread across
     * zones, a tenth held to GPU nodes, one in twenty one replica per node, one in twenty with
     * affinity to the job before it, four priorities.
     */
    static List<JobSpec> jobs(int count, int replicas) {
        List<JobSpec> out = new ArrayList<>();
        int[][] sizes = {{1, 1024}, {2, 4096}, {4, 8192}};
        for (int i = 0; i < count; i++) {
            String name = String.format(Locale.ROOT, "job%05d", i);
            int[] size = sizes[i % 3];
            JobSpec spec = Fabrics.stubJob(name);
            spec = new JobSpec(name, spec.workload(), new Resources(size[0], ByteSize.ofMiB(size[1])), replicas, spec.constraints(), List.of(),
                    List.of(), spec.placement(), Optional.empty(), 0, false, spec.restart(), spec.rollout());
            spec = spec.withPlacement(i % 5 < 3 ? JobSpec.Placement.BINPACK : JobSpec.Placement.SPREAD, i % 4 == 1 ? Optional.of("zone") : Optional.empty());
            if (i % 10 == 7) spec = spec.withConstraints(Map.of("class", "gpu"));
            List<String> prefer = i % 20 == 9 && i > 0 ? List.of(out.get(i - 1).name()) : List.of();
            List<String> avoid = i % 20 == 14 ? List.of(name) : List.of();
            if (!prefer.isEmpty() || !avoid.isEmpty()) spec = spec.withAffinity(prefer, avoid);
            out.add(spec.withPriority(i % 4, false));
        }
        return out;
    }

    /** {placed, median seconds} of the scheduler's plan over the whole fleet and every job, nothing placed yet. */
    static double[] planAlone(List<Node> fleet, List<JobSpec> specs, int warmup, int runs) {
        FabricState state = new FabricState();
        fleet.forEach(n -> state.nodes.put(n.name(), n));
        specs.forEach(s -> state.jobs.put(s.name(), new Job(s, 1, Optional.empty())));
        Scheduler.View view = Scheduler.View.of(state);
        double[] seconds = new double[runs];
        int placed = 0;
        for (int r = -warmup; r < runs; r++) {
            long start = System.nanoTime();
            Command.Plan plan = Scheduler.plan(view);
            double s = (System.nanoTime() - start) / 1e9;
            placed = plan.placements().size();
            System.err.printf(Locale.ROOT, "plan %s %d: %,d placed, %,d jobs pending, %.2f s%n", r < 0 ? "warm-up" : "run", r < 0 ? r + warmup + 1 : r + 1,
                    placed, plan.pending().size(), s);
            if (r >= 0) seconds[r] = s;
        }
        Arrays.sort(seconds);
        return new double[] {placed, seconds[runs / 2]};
    }

    /**
     * {placed, seconds, submit seconds, planning seconds, commit seconds}: the nodes join first
     * (not timed), then the jobs are proposed one by one and planned and proposed as
     * {@link Controller}'s scheduling pass does, until a plan changes nothing; the time ends when
     * the last plan that changed something was committed.
     */
    static double[] wholePath(List<Node> fleet, List<JobSpec> specs, Path dir) throws IOException, InterruptedException, ExecutionException {
        Files.createDirectories(dir);
        ControllerConfig config = ControllerConfig.single(dir.resolve("controller"), Fabrics.freePort());
        try (ReplicatedFabric fabric = ReplicatedFabric.start(config)) {
            long joinStart = System.nanoTime();
            // Many at once, so that Ratis batches them: the fleet's joins are not what is measured.
            try (ExecutorService joins = Executors.newFixedThreadPool(64)) {
                List<Future<?>> joined = new ArrayList<>();
                for (Node node : fleet) {
                    joined.add(joins.submit(() -> {
                        String hash = JoinTokens.hash(node.name());
                        require(fabric.propose(new Command.CreateToken(hash, T.plusSeconds(3600), T)));
                        require(fabric.propose(new Command.JoinNode(hash, node, Fabrics.key(node.name()), T)));
                        return null;
                    }));
                }
                for (Future<?> f : joined) f.get();
            }
            System.err.printf(Locale.ROOT, "%,d nodes joined in %.1f s (not timed)%n", fleet.size(), (System.nanoTime() - joinStart) / 1e9);
            long start = System.nanoTime();
            for (JobSpec spec : specs) require(fabric.propose(new Command.SubmitJob(spec, T)));
            long submitted = System.nanoTime();
            long planning = 0;
            long committing = 0;
            long committed = submitted;
            while (true) {
                long planStart = System.nanoTime();
                Command.Plan plan = fabric.readLocal(s -> Scheduler.plan(Scheduler.View.of(s)));
                planning += System.nanoTime() - planStart;
                if (plan.changesNothing(fabric.readLocal(FabricState::pending))) break;
                long commitStart = System.nanoTime();
                // As the controller's scheduling pass commits it: in batches Ratis takes.
                for (Command.Plan batch : plan.preemptions().isEmpty() ? plan.batches(Controller.MAX_PLACEMENTS_PER_PLAN) : List.of(plan)) {
                    require(fabric.propose(new Command.ApplyPlan(batch, T)));
                }
                committed = System.nanoTime();
                committing += committed - commitStart;
            }
            double seconds = (committed - start) / 1e9;
            int placed = fabric.readLocal(s -> s.allocations.size());
            return new double[] {placed, seconds, (submitted - start) / 1e9, planning / 1e9, committing / 1e9};
        }
    }

    private static void require(Outcome outcome) {
        if (outcome instanceof Outcome.Refused(String reason)) throw new IllegalStateException("refused: " + reason);
    }
}
