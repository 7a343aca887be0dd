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

    /** A replica waiting for a node; {@code turn} is its job's place in the order of jobs, highest priority first, then by name. */
    private record Wanted(JobSpec job, int replica, int turn) {
        String id() {
            return job.name() + "." + replica;
        }
    }

    /** Jobs in turn, then replicas: integers only, as the queue holds a replica of every job. */
    private static final Comparator<Wanted> ORDER = (a, b) -> a.turn != b.turn ? Integer.compare(a.turn, b.turn) : Integer.compare(a.replica, b.replica);

    private static final Comparator<JobSpec> JOB_ORDER = Comparator.comparingInt((JobSpec j) -> -j.priority()).thenComparing(JobSpec::name);

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
        /** Per job some other job's anti-affinity names, those jobs: only its placements need the reverse check. */
        private final HashMap<String, Set<String>> avoidedBy = new HashMap<>();
        /** The nodes in name order: a node's place here is its index in the arrays below and its rank among equals. */
        private final Node[] indexed;
        private final HashMap<String, Integer> indexOf = new HashMap<>();
        /** Free resources by node index. */
        private final Resources[] free;
        /** Volume bytes left by node index for job volumes not bound yet, as the plan binds them. */
        private final long[] volumeFree;
        /** Per replica id, the node its bound volumes are on and their names. */
        private final HashMap<String, Bound> bound = new HashMap<>();
        /** Per job, how many of its replicas each node holds as the plan stands: what spreading counts. */
        private final HashMap<String, HashMap<String, Integer>> replicasOnNodes = new HashMap<>();
        /** The feasible nodes ranked for the job whose replicas are being placed; null once anything else changed the occupancy. */
        private Ranking ranking;
        /** Per job, its {@link Wanted#turn}. */
        private final HashMap<String, Integer> turns = new HashMap<>();
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
            jobs.values().forEach(j -> j.antiAffinity().forEach(avoided -> avoidedBy.computeIfAbsent(avoided, k -> new HashSet<>()).add(j.name())));
            indexed = nodes.values().toArray(Node[]::new);
            free = new Resources[indexed.length];
            volumeFree = new long[indexed.length];
            for (int i = 0; i < indexed.length; i++) {
                indexOf.put(indexed[i].name(), i);
                byNode.put(indexed[i].name(), new TreeMap<>());
                free[i] = indexed[i].capacity();
                volumeFree[i] = indexed[i].volumes().forJobs();
            }
            for (JobVolume v : view.volumes()) {
                // A volume on a node that is no longer listed counts nowhere; its replica stays bound to that node.
                Integer node = indexOf.get(v.node());
                if (node != null) volumeFree[node] -= v.size().bytes();
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
            List<JobSpec> inTurn = new ArrayList<>(jobs.values());
            inTurn.sort(JOB_ORDER);
            for (int t = 0; t < inTurn.size(); t++) turns.put(inTurn.get(t).name(), t);
            PriorityQueue<Wanted> queue = new PriorityQueue<>(ORDER);
            for (JobSpec job : jobs.values()) {
                for (int r = 0; r < job.replicas(); r++) {
                    if (!placed.contains(job.name() + "." + r)) queue.add(new Wanted(job, r, turns.get(job.name())));
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
                boolean fits = node != null && free(node.name()).fits(w.job.resources()) && refusal(w.job, node).isEmpty()
                        && volumeRefusal(w, node).isEmpty();
                return fits ? Optional.of(node.name()) : Optional.empty();
            }
            if (ranking == null || !ranking.job.name().equals(w.job.name())) ranking = new Ranking(w.job);
            return ranking.best();
        }

        private Resources free(String node) {
            return free[indexOf.get(node)];
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
            if (need > volumeFree[indexOf.get(node.name())]) return Optional.of("without " + new ByteSize(need) + " of volume space free");
            return Optional.empty();
        }

        /** Whether node {@code node} (an index) can take a replica of {@code job} whose volumes are not bound yet. */
        private boolean feasible(JobSpec job, int node) {
            return free[node].fits(job.resources()) && volumeFree[node] >= volumeBytes(job) && refusal(job, indexed[node]).isEmpty();
        }

        /**
         * One job's feasible nodes, grouped by the value of its spread label (one group if it has
         * none), each group a heap of node indices by the rest of the rank, so that placing the
         * job's replicas one after the other does not rank every node again for each. Placing a
         * replica changes the rank only of the node it went to (fullness, affinity to its own
         * job: moved within its heap, or out of it if it no longer fits) and the count of its
         * group, which the choice between groups reads as it is; a node that no longer fits never
         * fits again while only this job places. So the best of the groups' tops, by count, rank
         * and name, is the node a scan of every node would find.
         *
         * <p>The ranks live in arrays by node index and the first pass over the nodes reads what
         * they run through the per-job replica counts, not node by node: that pass runs once per
         * job over the whole fleet, so it is where a plan spends its time.
         */
        private final class Ranking {
            private final JobSpec job;
            /** By node index: the replicas of the jobs this job has affinity to, and how full the node would be with one more replica. */
            private final long[] affinity;
            private final long[] fullness;
            /** By node index: its group's number, and its place in that group's heap (-1 when in none). */
            private final int[] groupOf;
            private final int[] slot;
            private final Heap[] heaps;
            /** By group number: the job's replicas on the group's nodes (counted only when the job spreads). */
            private final long[] spread;

            Ranking(JobSpec job) {
                this.job = job;
                int count = indexed.length;
                affinity = new long[count];
                fullness = new long[count];
                groupOf = new int[count];
                slot = new int[count];
                Arrays.fill(slot, -1);
                for (String preferred : Set.copyOf(job.affinity())) {
                    replicasOnNodes.getOrDefault(preferred, new HashMap<>()).forEach((node, replicas) -> affinity[indexOf.get(node)] += replicas);
                }
                boolean[] clashing = clashing();
                long volumeBytes = volumeBytes(job);
                HashMap<String, Integer> groupNumbers = new HashMap<>();
                int[] feasible = new int[count];
                int feasibleCount = 0;
                int[] sizes = new int[count];
                for (int i = 0; i < count; i++) {
                    Node node = indexed[i];
                    if (!free[i].fits(job.resources()) || volumeFree[i] < volumeBytes || unsuitable(job, node).isPresent() || clashing[i]) continue;
                    fullness[i] = fullness(i);
                    int group = job.spreadBy().isEmpty() ? 0 : groupNumbers.computeIfAbsent(group(node), g -> groupNumbers.size());
                    groupOf[i] = group;
                    sizes[group]++;
                    feasible[feasibleCount++] = i;
                }
                heaps = new Heap[job.spreadBy().isEmpty() ? Math.min(1, feasibleCount) : groupNumbers.size()];
                for (int g = 0; g < heaps.length; g++) heaps[g] = new Heap(sizes[g]);
                for (int k = 0; k < feasibleCount; k++) heaps[groupOf[feasible[k]]].append(feasible[k]);
                for (Heap heap : heaps) heap.order();
                spread = new long[heaps.length];
                job.spreadBy().ifPresent(label -> replicasOnNodes.getOrDefault(job.name(), new HashMap<>()).forEach((node, replicas) -> {
                    Integer group = groupNumbers.get(group(nodes.get(node)));
                    if (group != null) spread[group] += replicas;
                }));
            }

            /** By node index, whether it runs a job this job avoids or that avoids it: what antiAffinityRefusal refuses, found from the jobs' side. */
            private boolean[] clashing() {
                boolean[] out = new boolean[indexed.length];
                List<String> others = new ArrayList<>(job.antiAffinity());
                others.addAll(avoidedBy.getOrDefault(job.name(), Set.of()));
                for (String other : others) replicasOnNodes.getOrDefault(other, new HashMap<>()).keySet().forEach(node -> out[indexOf.get(node)] = true);
                return out;
            }

            /** The node's value of the job's spread label: "" when it has none, or the job spreads by nothing. */
            private String group(Node node) {
                return job.spreadBy().map(label -> node.labels().getOrDefault(label, "")).orElse("");
            }

            private long fullness(int node) {
                return usedMillionths(indexed[node].capacity(), free[node].minus(job.resources()));
            }

            Optional<String> best() {
                int bestGroup = -1;
                for (int g = 0; g < heaps.length; g++) {
                    if (heaps[g].size == 0) continue;
                    if (bestGroup < 0 || spread[g] < spread[bestGroup] || spread[g] == spread[bestGroup] && before(heaps[g].top(), heaps[bestGroup].top())) {
                        bestGroup = g;
                    }
                }
                return bestGroup < 0 ? Optional.empty() : Optional.of(indexed[heaps[bestGroup].top()].name());
            }

            void placed(String name) {
                int node = indexOf.get(name);
                Heap heap = heaps[groupOf[node]];
                spread[groupOf[node]]++;
                if (!feasible(job, node)) {
                    heap.remove(node);
                    return;
                }
                fullness[node] = fullness(node);
                affinity[node] = job.affinity().isEmpty() ? 0 : byNode.get(name).values().stream().filter(a -> job.affinity().contains(a.job())).count();
                heap.moved(node);
            }

            /** Whether node {@code a} ranks before node {@code b}: more affinity, then fuller (bin-pack) or emptier (spread), then name. */
            private boolean before(int a, int b) {
                if (affinity[a] != affinity[b]) return affinity[a] > affinity[b];
                if (fullness[a] != fullness[b]) return job.placement() == JobSpec.Placement.BINPACK ? fullness[a] > fullness[b] : fullness[a] < fullness[b];
                return a < b;
            }

            /** A binary heap of node indices, best first, that keeps each node's place in {@code slot} so that one node can move or leave. */
            private final class Heap {
                private final int[] items;
                private int size;

                Heap(int capacity) {
                    items = new int[capacity];
                }

                void append(int node) {
                    slot[node] = size;
                    items[size++] = node;
                }

                void order() {
                    for (int k = size / 2 - 1; k >= 0; k--) down(k);
                }

                int top() {
                    return items[0];
                }

                void moved(int node) {
                    up(slot[node]);
                    down(slot[node]);
                }

                void remove(int node) {
                    int k = slot[node];
                    int last = items[--size];
                    slot[node] = -1;
                    if (k == size) return;
                    put(last, k);
                    moved(last);
                }

                private void up(int k) {
                    int node = items[k];
                    while (k > 0 && before(node, items[(k - 1) / 2])) {
                        put(items[(k - 1) / 2], k);
                        k = (k - 1) / 2;
                    }
                    put(node, k);
                }

                private void down(int k) {
                    int node = items[k];
                    while (2 * k + 1 < size) {
                        int child = 2 * k + 1;
                        if (child + 1 < size && before(items[child + 1], items[child])) child++;
                        if (!before(items[child], node)) break;
                        put(items[child], k);
                        k = child;
                    }
                    put(node, k);
                }

                private void put(int node, int k) {
                    items[k] = node;
                    slot[node] = k;
                }
            }
        }

        /** Why {@code node} can never take {@code job}'s replicas as things stand, resources aside. */
        private Optional<String> refusal(JobSpec job, Node node) {
            Optional<String> unsuitable = unsuitable(job, node);
            return unsuitable.isPresent() ? unsuitable : antiAffinityRefusal(job, node);
        }

        /** Why {@code node} itself can never take {@code job}'s replicas, whatever it runs and resources aside. */
        private Optional<String> unsuitable(JobSpec job, Node node) {
            if (node.status() != Node.Status.READY) return Optional.of(node.status().name().toLowerCase(Locale.ROOT));
            for (Map.Entry<String, String> c : job.constraints().entrySet()) {
                if (!c.getValue().equals(node.labels().get(c.getKey()))) return Optional.of("without label " + c.getKey() + "=" + c.getValue());
            }
            return Optional.empty();
        }

        /** Why {@code node} cannot take {@code job}'s replicas for what it runs: anti-affinity, either way round. */
        private Optional<String> antiAffinityRefusal(JobSpec job, Node node) {
            if (job.antiAffinity().isEmpty() && !avoidedBy.containsKey(job.name())) return Optional.empty();
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
                Resources room = free(node.name());
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
                free[indexOf.get(victim.node())] = free(victim.node()).plus(victim.resources());
                if (!placements.removeIf(p -> p.id().equals(victim.id()))) preemptions.add(victim.id());
                preemptedBy.put(victim.id(), w.job.name());
                queue.add(new Wanted(jobs.get(victim.job()), victim.replica(), turns.get(victim.job())));
            }
            place(w, bestNode);
            return true;
        }

        private static long priorities(List<Allocation> allocations) {
            return allocations.stream().mapToLong(Allocation::priority).sum();
        }

        private void place(Wanted w, String node) {
            Allocation a = new Allocation(w.job.name(), w.replica, node, w.job.resources(), w.job.priority());
            // A replica whose volumes were bound went to their node, which the job's ranking may not hold.
            boolean ranked = !bound.containsKey(w.id());
            take(a);
            placements.add(a);
            long volumeBytes = unboundBytes(w);
            if (volumeBytes > 0) {
                // Applying the plan binds them here: a later replica of this plan must not count the same bytes free.
                volumeFree[indexOf.get(node)] -= volumeBytes;
                Bound home = bound.computeIfAbsent(w.id(), id -> new Bound(node, new HashSet<>()));
                w.job.volumes().forEach(v -> home.names().add(v.name()));
            }
            if (ranked && ranking != null && ranking.job.name().equals(w.job.name())) {
                ranking.placed(node);
            } else {
                ranking = null;
            }
        }

        private void take(Allocation a) {
            byNode.get(a.node()).put(a.id(), a);
            placed.add(a.id());
            replicasOnNodes.computeIfAbsent(a.job(), job -> new HashMap<>()).merge(a.node(), 1, Integer::sum);
            free[indexOf.get(a.node())] = free(a.node()).minus(a.resources());
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
                long most = nodes.values().stream().filter(n -> refusal(w.job, n).isEmpty()).mapToLong(n -> volumeFree[indexOf.get(n.name())]).max().orElse(-1);
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
