package io.aether.fabric;

import io.aether.common.ByteSize;
import io.aether.fabricapi.Allocation;
import io.aether.fabricapi.Job;
import io.aether.fabricapi.JobSpec;
import io.aether.fabricapi.Node;
import io.aether.fabricapi.Resources;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * Decides where replicas run: a pure function of the state it is given, so the same state gives
 * the same plan whatever order its parts come in, on any controller.
 *
 * <p>For each replica without a node, highest priority first (then job name, then replica), it
 * filters the nodes (ready, carrying the job's constraint labels, no anti-affinity conflict in
 * either direction, enough free vCPUs and memory) and ranks those left: fewest of the job's
 * replicas under the same {@code spreadBy} label value, then most replicas of the jobs it has
 * affinity to, then the job's placement policy (bin-pack: the node left fullest; spread: the node
 * left emptiest), then node name. A replica that fits nowhere may, if its job allows it, stop
 * strictly lower-priority replicas on one node (the fewest, then the lowest priorities); those go
 * back in line for a node of their own. What still has no node is pending, with the reason.
 * Replicas of stopped jobs, replicas past a job's count and replicas on nodes that left, drain or
 * were revoked are stopped, and the last two are placed again like any replica without a node.
 *
 * <p>Job volumes: a replica whose volumes are bound (to the node it was first placed on) goes
 * back to that node or nowhere; one without needs a node with volume room for all of them, and
 * each replica placed takes its room off its node at once, so no two replicas count the same
 * free bytes.
 */
final class Scheduler {

    /**
     * What the scheduler reads: the fabric's nodes, jobs and allocations, in any order, which
     * replicas without a node were preempted by which job (so that their pending reason says so),
     * and the job volumes bound to nodes.
     */
    record View(List<Node> nodes, List<Job> jobs, List<Allocation> allocations, Map<String, String> preemptedBy, List<JobVolume> volumes) {
        View {
            nodes = List.copyOf(nodes);
            jobs = List.copyOf(jobs);
            allocations = List.copyOf(allocations);
            preemptedBy = Map.copyOf(preemptedBy);
            volumes = List.copyOf(volumes);
        }

        View(List<Node> nodes, List<Job> jobs, List<Allocation> allocations, Map<String, String> preemptedBy) {
            this(nodes, jobs, allocations, preemptedBy, List.of());
        }

        View(List<Node> nodes, List<Job> jobs, List<Allocation> allocations) {
            this(nodes, jobs, allocations, Map.of());
        }

        static View of(FabricState state) {
            return new View(List.copyOf(state.nodes.values()), List.copyOf(state.jobs.values()), List.copyOf(state.allocations.values()),
                    state.preemptedBy, List.copyOf(state.volumes.values()));
        }
    }

    /** A replica waiting for a node. */
    private record Wanted(JobSpec job, int replica) {
        String id() {
            return job.name() + "." + replica;
        }
    }

    private static final Comparator<Wanted> ORDER = Comparator.comparingInt((Wanted w) -> -w.job.priority())
            .thenComparing(w -> w.job.name()).thenComparingInt(Wanted::replica);

    private Scheduler() {
    }

    static Command.Plan plan(View view) {
        return new Run(view).plan();
    }

    /**
     * Why {@code job} could never run all its replicas on {@code nodes}, even were they empty: no
     * node that is ready, carries its constraint labels and is large enough for a replica (its
     * volumes included), or too few such nodes for all of them. Empty if the job could run somewhere.
     */
    static Optional<String> neverFits(JobSpec job, Collection<Node> nodes) {
        if (nodes.isEmpty()) return Optional.of("no node has joined");
        Resources replica = job.resources();
        long volumeBytes = volumeBytes(job);
        SortedMap<String, Long> unfit = new TreeMap<>();
        long room = 0;
        for (Node node : nodes) {
            String why = null;
            if (node.status() != Node.Status.READY) why = node.status().name().toLowerCase(Locale.ROOT);
            if (why == null && node.volumes().forJobs() < volumeBytes) why = "without " + new ByteSize(volumeBytes) + " of volume capacity";
            for (Map.Entry<String, String> c : job.constraints().entrySet()) {
                if (why == null && !c.getValue().equals(node.labels().get(c.getKey()))) why = "without label " + c.getKey() + "=" + c.getValue();
            }
            if (why == null && !node.capacity().fits(replica)) why = "smaller than " + replica.vcpus() + " vCPUs and " + replica.memory();
            if (why != null) {
                unfit.merge(why, 1L, Long::sum);
                continue;
            }
            long fit = Math.min(node.capacity().vcpus() / Math.max(1, replica.vcpus()), node.capacity().memory().bytes() / Math.max(1, replica.memory().bytes()));
            if (volumeBytes > 0) fit = Math.min(fit, node.volumes().forJobs() / volumeBytes);
            // A job that avoids itself runs one replica a node at most.
            room += job.antiAffinity().contains(job.name()) ? Math.min(1, fit) : fit;
        }
        if (room >= job.replicas()) return Optional.empty();
        String counts = unfit.entrySet().stream().map(e -> e.getValue() + (e.getValue() == 1 ? " node " : " nodes ") + e.getKey())
                .collect(Collectors.joining(", "));
        return Optional.of(room == 0 ? counts : "the nodes have room for " + room + " of " + job.replicas() + " replicas at most"
                + (counts.isEmpty() ? "" : " (" + counts + ")"));
    }

    /** What a replica's volumes take together. */
    private static long volumeBytes(JobSpec job) {
        return job.volumes().stream().mapToLong(v -> v.size().bytes()).sum();
    }

    /** One planning pass: the occupancy it builds up as it places. */
    private static final class Run {
        private final TreeMap<String, Node> nodes = new TreeMap<>();
        private final TreeMap<String, JobSpec> jobs = new TreeMap<>();
        /** Allocations as the plan leaves them, by node, each node's sorted by id. */
        private final TreeMap<String, TreeMap<String, Allocation>> byNode = new TreeMap<>();
        /** The ids in byNode, for a look-up that does not walk every node. */
        private final Set<String> placed = new HashSet<>();
        /** Jobs some other job's anti-affinity names: only their placements need the reverse check. */
        private final Set<String> avoided = new HashSet<>();
        private final HashMap<String, Resources> free = new HashMap<>();
        /** Per node, the volume bytes left for job volumes not bound yet, as the plan binds them. */
        private final HashMap<String, Long> volumeFree = new HashMap<>();
        /** Per replica id, the node its bound volumes are on and their names. */
        private final HashMap<String, Bound> bound = new HashMap<>();
        /** Per job, how many of its replicas each node holds as the plan stands: what spreading counts. */
        private final HashMap<String, HashMap<String, Integer>> replicasOnNodes = new HashMap<>();
        /** The feasible nodes ranked for the job whose replicas are being placed; null once anything else changed the occupancy. */
        private Ranking ranking;
        private final List<Allocation> placements = new ArrayList<>();
        private final List<String> stops = new ArrayList<>();
        private final List<String> preemptions = new ArrayList<>();
        private final TreeMap<String, Integer> unplaced = new TreeMap<>();
        private final TreeMap<String, String> reasons = new TreeMap<>();
        /** Replica id to the job that preempted it, in this pass or an earlier one. */
        private final TreeMap<String, String> preemptedBy = new TreeMap<>();

        Run(View view) {
            preemptedBy.putAll(view.preemptedBy());
            view.nodes().forEach(n -> nodes.put(n.name(), n));
            view.jobs().forEach(j -> jobs.put(j.name(), j.spec()));
            jobs.values().forEach(j -> avoided.addAll(j.antiAffinity()));
            nodes.forEach((name, node) -> {
                byNode.put(name, new TreeMap<>());
                free.put(name, node.capacity());
                volumeFree.put(name, node.volumes().forJobs());
            });
            for (JobVolume v : view.volumes()) {
                // A volume on a node that is no longer listed counts nowhere; its replica stays bound to that node.
                volumeFree.computeIfPresent(v.node(), (node, left) -> left - v.size().bytes());
                bound.computeIfAbsent(v.replicaId(), id -> new Bound(v.node(), new HashSet<>())).names().add(v.name());
            }
            TreeMap<String, Allocation> sorted = new TreeMap<>();
            view.allocations().forEach(a -> sorted.put(a.id(), a));
            for (Allocation a : sorted.values()) {
                JobSpec job = jobs.get(a.job());
                Node node = nodes.get(a.node());
                if (job == null || a.replica() >= job.replicas() || node == null || node.status() != Node.Status.READY) {
                    stops.add(a.id());
                } else {
                    take(a);
                }
            }
        }

        Command.Plan plan() {
            PriorityQueue<Wanted> queue = new PriorityQueue<>(ORDER);
            for (JobSpec job : jobs.values()) {
                for (int r = 0; r < job.replicas(); r++) {
                    if (!placed.contains(job.name() + "." + r)) queue.add(new Wanted(job, r));
                }
            }
            while (!queue.isEmpty()) {
                Wanted w = queue.poll();
                Optional<String> node = bestNode(w);
                if (node.isPresent()) {
                    place(w, node.get());
                } else if (w.job.preempt() && preempt(w, queue)) {
                    continue;
                } else {
                    unplaced.merge(w.job.name(), 1, Integer::sum);
                    if (!reasons.containsKey(w.job.name())) reasons.put(w.job.name(), whyNot(w));
                }
            }
            TreeMap<String, String> pending = new TreeMap<>();
            unplaced.forEach((job, count) -> pending.put(job, count + " of " + jobs.get(job).replicas() + " replicas have no node: " + reasons.get(job)));
            return new Command.Plan(placements, stops, preemptions, pending);
        }

        /** The feasible node of lowest rank, then lowest name; for a replica whose volumes are bound, their node if it is feasible. */
        private Optional<String> bestNode(Wanted w) {
            Bound home = bound.get(w.id());
            if (home != null) {
                Node node = nodes.get(home.node());
                boolean fits = node != null && free.get(node.name()).fits(w.job.resources()) && refusal(w.job, node).isEmpty()
                        && volumeRefusal(w, node).isEmpty();
                return fits ? Optional.of(node.name()) : Optional.empty();
            }
            if (ranking == null || !ranking.job.name().equals(w.job.name())) ranking = new Ranking(w.job);
            return ranking.best();
        }

        /** Whether {@code node} can take a replica of {@code job} whose volumes are not bound yet. */
        private boolean feasible(JobSpec job, Node node) {
            return free.get(node.name()).fits(job.resources()) && volumeFree.get(node.name()) >= volumeBytes(job) && refusal(job, node).isEmpty();
        }

        /** The node a replica's volumes are bound to, and which of them are. */
        private record Bound(String node, Set<String> names) {
        }

        /** What the replica's volumes not bound yet take. */
        private long unboundBytes(Wanted w) {
            Bound home = bound.get(w.id());
            return w.job.volumes().stream().filter(v -> home == null || !home.names().contains(v.name())).mapToLong(v -> v.size().bytes()).sum();
        }

        /** Why {@code node} cannot hold the replica's volumes: another node holds them, or it has too little volume room left. */
        private Optional<String> volumeRefusal(Wanted w, Node node) {
            Bound home = bound.get(w.id());
            if (home != null && !home.node().equals(node.name())) return Optional.of("not node " + home.node() + ", which holds its volumes");
            long need = unboundBytes(w);
            if (need > volumeFree.get(node.name())) return Optional.of("without " + new ByteSize(need) + " of volume space free");
            return Optional.empty();
        }

        /** A node's rank within its spread group as it was computed; {@code version} tells a stale entry from the node's current one. */
        private record Candidate(String node, long[] rank, int version) implements Comparable<Candidate> {
            @Override
            public int compareTo(Candidate other) {
                int byRank = Arrays.compare(rank, other.rank);
                return byRank != 0 ? byRank : node.compareTo(other.node);
            }
        }

        /**
         * One job's feasible nodes, grouped by the value of its spread label (one group if it has
         * none), each group a heap by the rest of the rank, so that placing the job's replicas one
         * after the other does not rank every node again for each. Placing a replica changes the
         * rank only of the node it went to (fullness, affinity to its own job: re-entered at its
         * new rank) and the count of its group, which the choice between groups reads as it is; a
         * node that no longer fits never fits again while only this job places. So the best of
         * the groups' tops, by count, rank and name, is the node a scan of every node would find.
         */
        private final class Ranking {
            private final JobSpec job;
            private final TreeMap<String, PriorityQueue<Candidate>> groups = new TreeMap<>();
            private final HashMap<String, Integer> versions = new HashMap<>();
            /** The job's replicas per value of its spread label. */
            private final HashMap<String, Long> spread = new HashMap<>();

            Ranking(JobSpec job) {
                this.job = job;
                job.spreadBy().ifPresent(label -> replicasOnNodes.getOrDefault(job.name(), new HashMap<>())
                        .forEach((node, count) -> spread.merge(group(nodes.get(node)), (long) count, Long::sum)));
                TreeMap<String, List<Candidate>> candidates = new TreeMap<>();
                for (Node node : nodes.values()) {
                    if (feasible(job, node)) candidates.computeIfAbsent(group(node), g -> new ArrayList<>()).add(new Candidate(node.name(), rank(node), 0));
                }
                candidates.forEach((group, list) -> groups.put(group, new PriorityQueue<>(list)));
            }

            /** The node's value of the job's spread label: "" when it has none, or the job spreads by nothing. */
            private String group(Node node) {
                return job.spreadBy().map(label -> node.labels().getOrDefault(label, "")).orElse("");
            }

            Optional<String> best() {
                String bestGroup = null;
                Candidate best = null;
                for (var group : groups.entrySet()) {
                    Candidate top = currentTop(group.getValue());
                    if (top == null) continue;
                    int byCount = best == null ? -1 : Long.compare(spread.getOrDefault(group.getKey(), 0L), spread.getOrDefault(bestGroup, 0L));
                    if (byCount < 0 || byCount == 0 && top.compareTo(best) < 0) {
                        bestGroup = group.getKey();
                        best = top;
                    }
                }
                return best == null ? Optional.empty() : Optional.of(best.node);
            }

            /** The group's best node, its stale and no longer feasible entries dropped on the way. */
            private Candidate currentTop(PriorityQueue<Candidate> heap) {
                while (!heap.isEmpty()) {
                    Candidate top = heap.peek();
                    Node node = nodes.get(top.node);
                    if (top.version != versions.getOrDefault(top.node, 0) || !feasible(job, node)) {
                        heap.poll();
                        continue;
                    }
                    long[] now = rank(node);
                    if (Arrays.equals(now, top.rank)) return top;
                    heap.poll();
                    heap.add(new Candidate(top.node, now, top.version));
                }
                return null;
            }

            void placed(String name) {
                Node node = nodes.get(name);
                spread.merge(group(node), 1L, Long::sum);
                int version = versions.merge(name, 1, Integer::sum);
                if (feasible(job, node)) groups.get(group(node)).add(new Candidate(name, rank(node), version));
            }

            /** Within a spread group, smaller is better, compared element by element. */
            private long[] rank(Node node) {
                long affinity = job.affinity().isEmpty() ? 0 : byNode.get(node.name()).values().stream().filter(a -> job.affinity().contains(a.job())).count();
                Resources left = free.get(node.name()).minus(job.resources());
                long fullness = usedMillionths(node.capacity(), left);
                return new long[] {-affinity, job.placement() == JobSpec.Placement.BINPACK ? -fullness : fullness};
            }
        }

        /** Why {@code node} can never take {@code job}'s replicas as things stand, resources aside. */
        private Optional<String> refusal(JobSpec job, Node node) {
            if (node.status() != Node.Status.READY) return Optional.of(node.status().name().toLowerCase(Locale.ROOT));
            for (Map.Entry<String, String> c : job.constraints().entrySet()) {
                if (!c.getValue().equals(node.labels().get(c.getKey()))) return Optional.of("without label " + c.getKey() + "=" + c.getValue());
            }
            if (job.antiAffinity().isEmpty() && !avoided.contains(job.name())) return Optional.empty();
            for (Allocation a : byNode.get(node.name()).values()) {
                if (job.antiAffinity().contains(a.job()) || jobs.get(a.job()).antiAffinity().contains(job.name())) {
                    return Optional.of("running " + a.job() + " (anti-affinity)");
                }
            }
            return Optional.empty();
        }

        /** How full a node would be, vCPUs and memory each as millionths of capacity, summed: exact integers, so every peer ranks alike. */
        private static long usedMillionths(Resources capacity, Resources left) {
            long cpu = capacity.vcpus() == 0 ? 0 : (capacity.vcpus() - left.vcpus()) * 1_000_000L / capacity.vcpus();
            // Bytes scaled down so that a million times them stays within a long, whatever the node's size.
            int shift = Math.max(0, 64 - Long.numberOfLeadingZeros(capacity.memory().bytes()) - 43);
            long memCapacity = capacity.memory().bytes() >>> shift;
            long mem = memCapacity == 0 ? 0 : ((capacity.memory().bytes() - left.memory().bytes()) >>> shift) * 1_000_000L / memCapacity;
            return cpu + mem;
        }

        /** Stops lower-priority replicas on the node where the fewest (then the least important) make room; false if none can. */
        private boolean preempt(Wanted w, PriorityQueue<Wanted> queue) {
            List<Allocation> bestVictims = null;
            String bestNode = null;
            for (Node node : nodes.values()) {
                if (refusal(w.job, node).isPresent() || volumeRefusal(w, node).isPresent()) continue;
                List<Allocation> candidates = byNode.get(node.name()).values().stream().filter(a -> a.priority() < w.job.priority())
                        .sorted(Comparator.comparingInt(Allocation::priority).thenComparing(Allocation::id)).toList();
                Resources room = free.get(node.name());
                List<Allocation> victims = new ArrayList<>();
                for (Allocation a : candidates) {
                    if (room.fits(w.job.resources())) break;
                    victims.add(a);
                    room = room.plus(a.resources());
                }
                if (!room.fits(w.job.resources())) continue;
                if (bestVictims == null || victims.size() < bestVictims.size()
                        || victims.size() == bestVictims.size() && priorities(victims) < priorities(bestVictims)) {
                    bestVictims = victims;
                    bestNode = node.name();
                }
            }
            if (bestVictims == null) return false;
            ranking = null;
            for (Allocation victim : bestVictims) {
                byNode.get(victim.node()).remove(victim.id());
                placed.remove(victim.id());
                replicasOnNodes.get(victim.job()).merge(victim.node(), -1, (a, b) -> a + b == 0 ? null : a + b);
                free.put(victim.node(), free.get(victim.node()).plus(victim.resources()));
                if (!placements.removeIf(p -> p.id().equals(victim.id()))) preemptions.add(victim.id());
                preemptedBy.put(victim.id(), w.job.name());
                queue.add(new Wanted(jobs.get(victim.job()), victim.replica()));
            }
            place(w, bestNode);
            return true;
        }

        private static long priorities(List<Allocation> allocations) {
            return allocations.stream().mapToLong(Allocation::priority).sum();
        }

        private void place(Wanted w, String node) {
            Allocation a = new Allocation(w.job.name(), w.replica, node, w.job.resources(), w.job.priority());
            take(a);
            placements.add(a);
            long volumeBytes = unboundBytes(w);
            if (volumeBytes > 0) {
                // Applying the plan binds them here: a later replica of this plan must not count the same bytes free.
                volumeFree.merge(node, -volumeBytes, Long::sum);
                Bound home = bound.computeIfAbsent(w.id(), id -> new Bound(node, new HashSet<>()));
                w.job.volumes().forEach(v -> home.names().add(v.name()));
            }
            if (ranking != null && ranking.job.name().equals(w.job.name())) {
                ranking.placed(node);
            } else {
                ranking = null;
            }
        }

        private void take(Allocation a) {
            byNode.get(a.node()).put(a.id(), a);
            placed.add(a.id());
            replicasOnNodes.computeIfAbsent(a.job(), job -> new HashMap<>()).merge(a.node(), 1, Integer::sum);
            free.put(a.node(), free.get(a.node()).minus(a.resources()));
        }

        /** The reason a replica has no node, as counts of what each node lacks. */
        private String whyNot(Wanted w) {
            String preempted = preemptedBy.containsKey(w.id()) ? "preempted by " + preemptedBy.get(w.id()) + "; " : "";
            return preempted + whyNotHere(w);
        }

        private String whyNotHere(Wanted w) {
            if (nodes.isEmpty()) return "no node has joined";
            Bound home = bound.get(w.id());
            if (home != null) {
                Node node = nodes.get(home.node());
                if (node == null) return "its volumes are on node " + home.node() + ", which is gone";
                if (node.status() != Node.Status.READY) return "its volumes are on node " + home.node() + ", which is " + node.status().name().toLowerCase(Locale.ROOT);
            }
            long need = unboundBytes(w);
            if (home == null && need > 0) {
                long most = nodes.values().stream().filter(n -> refusal(w.job, n).isEmpty()).mapToLong(n -> volumeFree.get(n.name())).max().orElse(-1);
                if (most >= 0 && most < need) return "needs " + new ByteSize(need) + " of volume space, the most free on a node is " + new ByteSize(Math.max(0, most));
            }
            SortedMap<String, Long> counts = nodes.values().stream().collect(Collectors.groupingBy(
                    n -> refusal(w.job, n).or(() -> volumeRefusal(w, n)).orElse("without " + w.job.resources().vcpus() + " vCPUs and " + w.job.resources().memory() + " free"
                            + (w.job.preempt() ? " even after preempting lower priorities" : "")),
                    TreeMap::new, Collectors.counting()));
            return counts.entrySet().stream().map(e -> e.getValue() + (e.getValue() == 1 ? " node " : " nodes ") + e.getKey())
                    .collect(Collectors.joining(", "));
        }
    }
}
