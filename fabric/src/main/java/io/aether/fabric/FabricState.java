package io.aether.fabric;

import io.aether.fabricapi.Allocation;
import io.aether.fabricapi.DesiredState;
import io.aether.fabricapi.Event;
import io.aether.fabricapi.Job;
import io.aether.fabricapi.JobSpec;
import io.aether.fabricapi.Node;
import io.aether.fabricapi.Resources;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The controller's state: nodes, jobs, allocations, join tokens and the recent events; what the
 * Ratis state machine replicates. {@link #apply} is a function of the state and the command only
 * (sorted maps, no clock, no randomness), so every peer that applies the same log holds the same
 * state. A refused command changes nothing: each one is checked whole before anything is written.
 * Not thread-safe: {@link FabricStateMachine} serialises access.
 */
final class FabricState {

    /** Bounds what proposals can make a controller keep (each is far above a real fleet). */
    static final int MAX_NODES = 100_000;
    static final int MAX_JOBS = 100_000;
    static final int MAX_TOKENS = 10_000;
    /** One per controller, and a group has at most a handful. */
    static final int MAX_AUTHORITIES = 64;
    static final int MAX_CLIENTS = 10_000;
    /** Events kept for readers; older ones are dropped (their sequence numbers are never reused). */
    static final int MAX_EVENTS = 10_000;
    /** An allocation placed before placements were recorded: any report about it counts. */
    private static final Placed UNKNOWN = new Placed(0, 0);

    /**
     * A join token as the state keeps it.
     *
     * @param usedBy the node that joined with it; a used token is kept until it expires, so that
     *               a second use is refused as such
     */
    record Token(String hash, Instant expires, Optional<String> usedBy) {
        Token {
            Objects.requireNonNull(hash, "hash");
            Objects.requireNonNull(expires, "expires");
            Objects.requireNonNull(usedBy, "usedBy");
        }
    }

    /**
     * What an allocation runs and since when.
     *
     * @param version the version of its job's spec it runs
     * @param sequence the event that placed it: a node's report from before that revision is about an older VM
     */
    record Placed(long version, long sequence) {
    }

    /**
     * A client identity as the state keeps it.
     *
     * @param role read, operate or admin
     * @param keyId the SHA-256 of its public key, hex
     */
    record Client(String role, String keyId, boolean revoked) {
        Client {
            Objects.requireNonNull(role, "role");
            Objects.requireNonNull(keyId, "keyId");
        }
    }

    final TreeMap<String, Node> nodes = new TreeMap<>();
    final TreeMap<String, Client> clients = new TreeMap<>();
    final TreeMap<String, Job> jobs = new TreeMap<>();
    final TreeMap<String, Allocation> allocations = new TreeMap<>();
    final TreeMap<String, Token> tokens = new TreeMap<>();
    /** Per node, its ML-DSA-65 public key (X.509, base64) as it joined with it. */
    final TreeMap<String, String> keys = new TreeMap<>();
    /** Per controller id, its certificate authority (DER, base64): node certificates issued by any of them are accepted. */
    final TreeMap<String, String> authorities = new TreeMap<>();
    /** Per allocation, what its node last reported: {@code running}, {@code failed: reason}, ... */
    final TreeMap<String, String> actual = new TreeMap<>();
    /** Per model allocation that its node last reported running, where it serves and which commit. */
    final TreeMap<String, Serving> serving = new TreeMap<>();

    /** Where a model allocation serves ({@code http://HOST:PORT/v1/models/NAME}) and the commit id (hex) it serves. */
    record Serving(String url, String commit) {
        Serving {
            Objects.requireNonNull(url, "url");
            Objects.requireNonNull(commit, "commit");
        }
    }
    /** Per node, the sequence number of the last event that changed what it is to run. */
    final TreeMap<String, Long> revisions = new TreeMap<>();
    /** Per allocation, the version it runs and the event that placed it. */
    final TreeMap<String, Placed> placed = new TreeMap<>();
    /** Per job, the specs of its earlier versions that replicas still run or a rollout may restore. */
    final TreeMap<String, TreeMap<Long, JobSpec>> olderSpecs = new TreeMap<>();
    /** Per replica stopped to make room and not placed again since, the job it made room for. */
    final TreeMap<String, String> preemptedBy = new TreeMap<>();
    /** Per job volume id ({@code job.replica.name}), the node holding it; kept after its job stops, until deleted. */
    final TreeMap<String, JobVolume> volumes = new TreeMap<>();
    /** Per job, its rollout in progress or its last one. */
    final TreeMap<String, Rollouts.Rollout> rollouts = new TreeMap<>();
    final ArrayDeque<Event> events = new ArrayDeque<>();
    long lastSequence;

    Outcome apply(Command command) {
        return switch (command) {
            case Command.CreateToken c -> createToken(c);
            case Command.JoinNode c -> join(c);
            case Command.DrainNode c -> drain(c);
            case Command.RevokeNode c -> revoke(c);
            case Command.ReportAllocations c -> report(c);
            case Command.SubmitJob c -> submit(c);
            case Command.StopJob c -> stop(c);
            case Command.DeleteVolumes c -> deleteVolumes(c);
            case Command.AdvanceRollout c -> advance(c);
            case Command.ApplyPlan c -> applyPlan(c);
            case Command.AddAuthority c -> addAuthority(c);
            case Command.AddClient c -> addClient(c);
            case Command.RevokeClient c -> revokeClient(c);
        };
    }

    private Outcome createToken(Command.CreateToken c) {
        if (!c.expires().isAfter(c.at())) return refuse("the token would expire before it is created");
        if (tokens.containsKey(c.hash())) return refuse("a token with this secret exists");
        List<String> expired = tokens.values().stream().filter(t -> !c.at().isBefore(t.expires())).map(Token::hash).toList();
        if (tokens.size() - expired.size() >= MAX_TOKENS) return refuse(MAX_TOKENS + " unexpired join tokens exist; wait for some to expire");
        expired.forEach(tokens::remove);
        tokens.put(c.hash(), new Token(c.hash(), c.expires(), Optional.empty()));
        return applied(record(c.at(), Event.Kind.TOKEN_CREATED, "token " + c.hash().substring(0, 8), "expires " + c.expires()));
    }

    private Outcome join(Command.JoinNode c) {
        Token token = tokens.get(c.tokenHash());
        String name = c.node().name();
        if (token == null) return refuse("join token unknown");
        if (token.usedBy().isPresent()) return refuse("join token already used");
        if (!c.at().isBefore(token.expires())) return refuse("join token expired at " + token.expires());
        if (nodes.containsKey(name)) {
            return refuse(nodes.get(name).status() == Node.Status.REVOKED ? "node " + name + " is revoked" : "node " + name + " has already joined");
        }
        if (nodes.size() >= MAX_NODES) return refuse("the fabric has " + MAX_NODES + " nodes, its limit");
        if (keys.containsValue(c.key())) return refuse("this key is already another node's identity");
        tokens.put(token.hash(), new Token(token.hash(), token.expires(), Optional.of(name)));
        nodes.put(name, c.node());
        keys.put(name, c.key());
        return applied(record(c.at(), Event.Kind.NODE_JOINED, "node " + name, "capacity " + c.node().capacity().vcpus() + " vCPUs, "
                + c.node().capacity().memory() + ", labels " + c.node().labels()));
    }

    /** Records each reported state of the node's own allocations that differs from the one kept, an event for each. */
    private Outcome report(Command.ReportAllocations c) {
        if (!nodes.containsKey(c.node())) return refuse("no node " + c.node());
        c.volumes().ifPresent(v -> nodes.put(c.node(), nodes.get(c.node()).withVolumes(v)));
        long last = 0;
        for (Map.Entry<String, String> e : c.states().entrySet()) {
            Allocation a = allocations.get(e.getKey());
            if (a == null || !a.node().equals(c.node())) continue;
            if (c.revision() < placed.getOrDefault(a.id(), UNKNOWN).sequence()) continue;
            Serving served = c.serving().get(a.id());
            boolean servingChanged = !Objects.equals(served, serving.get(a.id()));
            if (served == null) serving.remove(a.id());
            else serving.put(a.id(), served);
            if (e.getValue().equals(actual.get(a.id())) && !servingChanged) continue;
            actual.put(a.id(), e.getValue());
            if (served != null) {
                last = record(c.at(), Event.Kind.ALLOCATION_REPORTED, "allocation " + a.id(), e.getValue() + " on node " + c.node()
                        + ", serving " + served.url() + " (commit " + served.commit().substring(0, 12) + ")");
                continue;
            }
            last = record(c.at(), Event.Kind.ALLOCATION_REPORTED, "allocation " + a.id(), e.getValue() + " on node " + c.node());
        }
        return applied(last);
    }

    /**
     * Records a controller's CA once; a controller's CA is never replaced, since certificates it
     * issued would stop being checked. No event: it is the controllers' own set-up, proposed by each
     * as it starts, not a change to the fleet (and readers' sequence numbers do not depend on when
     * a controller first started).
     */
    private Outcome addAuthority(Command.AddAuthority c) {
        String known = authorities.get(c.controller());
        if (c.certificate().equals(known)) return applied(0);
        if (known != null) return refuse("controller " + c.controller() + " has another certificate authority already");
        if (authorities.size() >= MAX_AUTHORITIES) return refuse("the fabric has " + MAX_AUTHORITIES + " certificate authorities, its limit");
        authorities.put(c.controller(), c.certificate());
        return applied(0);
    }

    private Outcome addClient(Command.AddClient c) {
        if (clients.containsKey(c.name())) return refuse("client " + c.name() + " exists" + (clients.get(c.name()).revoked() ? " (revoked; names are not reused)" : ""));
        if (clients.size() >= MAX_CLIENTS) return refuse("the fabric has " + MAX_CLIENTS + " clients, its limit");
        clients.put(c.name(), new Client(c.role(), c.keyId(), false));
        return applied(record(c.at(), Event.Kind.CLIENT_ADDED, "client " + c.name(), "role " + c.role() + ", key " + c.keyId().substring(0, 16)));
    }

    private Outcome revokeClient(Command.RevokeClient c) {
        Client client = clients.get(c.name());
        if (client == null) return refuse("no client " + c.name());
        if (client.revoked()) return applied(0);
        clients.put(c.name(), new Client(client.role(), client.keyId(), true));
        return applied(record(c.at(), Event.Kind.CLIENT_REVOKED, "client " + c.name(), "its certificate is refused from now on"));
    }

    private Outcome drain(Command.DrainNode c) {
        Node node = nodes.get(c.node());
        if (node == null) return refuse("no node " + c.node());
        if (node.status() == Node.Status.REVOKED) return refuse("node " + node.name() + " is revoked");
        if (node.status() == Node.Status.DRAINING) return applied(0);
        nodes.put(node.name(), node.withStatus(Node.Status.DRAINING));
        return applied(record(c.at(), Event.Kind.NODE_DRAINED, "node " + node.name(), "takes no new work; its replicas move to other nodes"));
    }

    private Outcome revoke(Command.RevokeNode c) {
        Node node = nodes.get(c.node());
        if (node == null) return refuse("no node " + c.node());
        if (node.status() == Node.Status.REVOKED) return applied(0);
        nodes.put(node.name(), node.withStatus(Node.Status.REVOKED));
        return applied(record(c.at(), Event.Kind.NODE_REVOKED, "node " + node.name(),
                "its pulls and reports are refused from now on; its replicas move to other nodes"));
    }

    private Outcome submit(Command.SubmitJob c) {
        String name = c.spec().name();
        Job old = jobs.get(name);
        if (old == null && jobs.size() >= MAX_JOBS) return refuse("the fabric has " + MAX_JOBS + " jobs, its limit");
        if (old != null && old.spec().equals(c.spec())) return applied(0);
        long version = old == null ? 1 : old.version() + 1;
        jobs.put(name, new Job(c.spec(), version, old == null ? Optional.empty() : old.pending()));
        long last = record(c.at(), old == null ? Event.Kind.JOB_SUBMITTED : Event.Kind.JOB_UPDATED, "job " + name,
                "version " + version + ", " + c.spec().replicas() + " replicas");
        if (old == null) {
            rollouts.remove(name);
            return applied(last);
        }
        Rollouts.Rollout current = rollouts.get(name);
        if (Rollouts.replacesReplicas(old.spec(), c.spec())) {
            olderSpecs.computeIfAbsent(name, k -> new TreeMap<>()).put(old.version(), old.spec());
            rollouts.put(name, Rollouts.Rollout.start(old.version(), version, c.at()));
            JobSpec.Rollout policy = c.spec().rollout();
            last = record(c.at(), Event.Kind.ROLLOUT_STARTED, "job " + name, "version " + old.version() + " to " + version + ", "
                    + (Rollouts.firstBatch(c.spec()) != policy.batch() ? "a canary of " + Rollouts.firstBatch(c.spec()) + " first, then " : "") + policy.batch()
                    + " at a time, each healthy within " + policy.healthTimeout().toSeconds() + "s" + (policy.autoRollback() ? ", rolled back if not" : ""));
        } else {
            // Nothing a replica runs changed: the replicas on the old version are on the new one as they stand.
            for (Allocation a : allocationsOf(name)) {
                Placed p = placed.get(a.id());
                if (p != null && p.version() == old.version()) placed.put(a.id(), new Placed(version, p.sequence()));
            }
            if (current != null && current.status() == Rollouts.Status.ROLLING && current.to() == old.version()) {
                rollouts.put(name, current.retargeted(version));
            }
        }
        pruneOlderSpecs(name);
        return applied(last);
    }

    private Outcome advance(Command.AdvanceRollout c) {
        Job job = jobs.get(c.job());
        if (job == null) return refuse("no job " + c.job());
        Rollouts.Rollout rollout = rollouts.get(c.job());
        String subject = "job " + c.job();
        long last = switch (Rollouts.decide(this, c.job(), c.at())) {
            case Rollouts.Step.Wait w -> 0;
            case Rollouts.Step.Replace r -> {
                for (int replica : r.replicas()) {
                    remove(allocations.get(c.job() + "." + replica), c.at(), Event.Kind.ALLOCATION_STOPPED, "replaced by version " + rollout.to());
                }
                rollouts.put(c.job(), rollout.replacing(r.replicas(), c.at()));
                yield record(c.at(), Event.Kind.ROLLOUT_BATCH, subject, "replicas " + r.replicas() + " to version " + rollout.to());
            }
            case Rollouts.Step.Complete done -> {
                rollouts.put(c.job(), rollout.ended(Rollouts.Status.COMPLETE, Optional.empty()));
                yield record(c.at(), Event.Kind.ROLLOUT_COMPLETED, subject, "every replica runs version " + rollout.to());
            }
            case Rollouts.Step.Fail f when job.spec().rollout().autoRollback() && olderSpec(c.job(), rollout.from()).isPresent() -> {
                JobSpec previous = olderSpec(c.job(), rollout.from()).orElseThrow();
                jobs.put(c.job(), new Job(previous, rollout.from(), job.pending()));
                for (Allocation a : allocationsOf(c.job())) {
                    if (versionOf(a) != rollout.from()) remove(a, c.at(), Event.Kind.ALLOCATION_STOPPED, "rolled back to version " + rollout.from());
                }
                rollouts.put(c.job(), rollout.ended(Rollouts.Status.ROLLED_BACK, Optional.of(f.reason())));
                yield record(c.at(), Event.Kind.ROLLOUT_ROLLED_BACK, subject, "version " + rollout.to() + " rolled back to version " + rollout.from()
                        + ": " + f.reason());
            }
            case Rollouts.Step.Fail f -> {
                rollouts.put(c.job(), rollout.ended(Rollouts.Status.FAILED, Optional.of(f.reason())));
                yield record(c.at(), Event.Kind.ROLLOUT_FAILED, subject, "version " + rollout.to() + " stopped rolling out: " + f.reason());
            }
        };
        pruneOlderSpecs(c.job());
        return applied(last);
    }

    private Outcome stop(Command.StopJob c) {
        if (!jobs.containsKey(c.job())) return refuse("no job " + c.job());
        for (Allocation a : List.copyOf(allocations.values())) {
            if (a.job().equals(c.job())) remove(a, c.at(), Event.Kind.ALLOCATION_STOPPED, "its job stopped");
        }
        jobs.remove(c.job());
        preemptedBy.keySet().removeIf(id -> !wanted(id));
        rollouts.remove(c.job());
        olderSpecs.remove(c.job());
        return applied(record(c.at(), Event.Kind.JOB_STOPPED, "job " + c.job(), "stopped"));
    }

    private Outcome deleteVolumes(Command.DeleteVolumes c) {
        if (jobs.containsKey(c.job())) return refuse("job " + c.job() + " runs; stop it first (its volumes are deleted only once it stopped)");
        List<JobVolume> gone = volumesOf(c.job()).stream().filter(v -> c.volume().map(v.id()::equals).orElse(true)).toList();
        if (gone.isEmpty()) return refuse(c.volume().map(v -> "no volume " + v + " of job " + c.job()).orElse("job " + c.job() + " has no volumes"));
        long last = 0;
        for (JobVolume v : gone) {
            volumes.remove(v.id());
            last = record(c.at(), Event.Kind.VOLUMES_DELETED, "volume " + v.id(), v.size() + " freed on node " + v.node());
            revisions.put(v.node(), last);
        }
        return applied(last);
    }

    /** The volumes bound to {@code job}'s replicas, by id. */
    List<JobVolume> volumesOf(String job) {
        // Ids are JOB.REPLICA.NAME: as for allocations, the range holds this job's and those of jobs named JOB.SOMETHING.
        return volumes.subMap(job + ".", job + "/").values().stream().filter(v -> v.job().equals(job)).toList();
    }

    /**
     * Binds each volume of {@code a}'s job that its replica has none of yet to {@code a}'s node.
     * Its spec is the job's current one: a placement always runs the current version.
     */
    private void bindVolumes(Allocation a) {
        for (JobSpec.Volume v : jobs.get(a.job()).spec().volumes()) {
            volumes.putIfAbsent(JobVolume.id(a.job(), a.replica(), v.name()), new JobVolume(a.job(), a.replica(), v.name(), v.size(), a.node()));
        }
    }

    private Outcome applyPlan(Command.ApplyPlan c) {
        Command.Plan plan = c.plan();
        Optional<String> stale = staleness(plan);
        if (stale.isPresent()) return refuse("plan no longer holds: " + stale.get());
        long last = 0;
        for (String id : plan.stops()) last = remove(allocations.get(id), c.at(), Event.Kind.ALLOCATION_STOPPED, "no longer wanted");
        for (String id : plan.preemptions()) {
            Allocation victim = allocations.get(id);
            String by = preemptor(plan, victim);
            last = remove(victim, c.at(), Event.Kind.ALLOCATION_PREEMPTED, "preempted by " + by);
            preemptedBy.put(id, by);
        }
        for (Allocation a : plan.placements()) {
            allocations.put(a.id(), a);
            bindVolumes(a);
            preemptedBy.remove(a.id());
            long version = jobs.get(a.job()).version();
            last = record(c.at(), Event.Kind.ALLOCATION_PLACED, "allocation " + a.id(), "on node " + a.node());
            placed.put(a.id(), new Placed(version, last));
            revisions.put(a.node(), last);
        }
        List.copyOf(olderSpecs.keySet()).forEach(this::pruneOlderSpecs);
        preemptedBy.keySet().removeIf(id -> !wanted(id));
        for (Map.Entry<String, Job> entry : List.copyOf(jobs.entrySet())) {
            Job job = entry.getValue();
            Optional<String> pending = Optional.ofNullable(plan.pending().get(entry.getKey()));
            if (pending.equals(job.pending())) continue;
            jobs.put(entry.getKey(), new Job(job.spec(), job.version(), pending));
            if (pending.isPresent()) last = record(c.at(), Event.Kind.JOB_PENDING, "job " + job.name(), pending.get());
        }
        return applied(last);
    }

    /** Why the plan cannot be applied to the state as it is now, if it cannot. */
    private Optional<String> staleness(Command.Plan plan) {
        Set<String> removed = new HashSet<>();
        for (String id : plan.stops()) {
            Allocation a = allocations.get(id);
            if (a == null || !removed.add(id)) return Optional.of("allocation " + id + " is not there to stop");
            Job job = jobs.get(a.job());
            Node node = nodes.get(a.node());
            if (job != null && a.replica() < job.spec().replicas() && node != null && node.status() == Node.Status.READY) {
                return Optional.of("allocation " + id + " is still wanted");
            }
        }
        Map<String, Integer> topPriorityPlaced = new HashMap<>();
        for (Allocation a : plan.placements()) topPriorityPlaced.merge(a.node(), a.priority(), Math::max);
        for (String id : plan.preemptions()) {
            Allocation a = allocations.get(id);
            if (a == null || !removed.add(id)) return Optional.of("allocation " + id + " is not there to preempt");
            if (a.priority() >= topPriorityPlaced.getOrDefault(a.node(), Integer.MIN_VALUE)) {
                return Optional.of("allocation " + id + " makes room for nothing of higher priority");
            }
        }
        Map<String, Resources> used = new HashMap<>();
        for (Allocation a : allocations.values()) {
            if (!removed.contains(a.id())) used.merge(a.node(), a.resources(), Resources::plus);
        }
        Set<String> placed = new HashSet<>();
        Map<String, Long> volumeRoom = new HashMap<>();
        nodes.values().forEach(n -> volumeRoom.put(n.name(), n.volumes().forJobs()));
        volumes.values().forEach(v -> volumeRoom.merge(v.node(), -v.size().bytes(), Long::sum));
        for (Allocation a : plan.placements()) {
            Job job = jobs.get(a.job());
            Node node = nodes.get(a.node());
            if (job == null) return Optional.of("job " + a.job() + " is gone");
            JobSpec spec = job.spec();
            if (a.replica() >= spec.replicas() || !a.resources().equals(spec.resources()) || a.priority() != spec.priority()) {
                return Optional.of("allocation " + a.id() + " does not match job " + a.job() + " version " + job.version());
            }
            if ((allocations.containsKey(a.id()) && !removed.contains(a.id())) || !placed.add(a.id())) {
                return Optional.of("allocation " + a.id() + " is already placed");
            }
            if (node == null || node.status() != Node.Status.READY) return Optional.of("node " + a.node() + " takes no new work");
            Resources total = used.merge(a.node(), a.resources(), Resources::plus);
            if (!node.capacity().fits(total)) return Optional.of("node " + a.node() + " has no room for " + a.id());
            long unbound = 0;
            for (JobSpec.Volume v : spec.volumes()) {
                JobVolume bound = volumes.get(JobVolume.id(a.job(), a.replica(), v.name()));
                if (bound == null) unbound += v.size().bytes();
                else if (!bound.node().equals(a.node())) return Optional.of("the volumes of " + a.id() + " are on node " + bound.node());
            }
            if (unbound > 0 && volumeRoom.merge(a.node(), -unbound, Long::sum) < 0) {
                return Optional.of("node " + a.node() + " has no volume room for " + a.id());
            }
        }
        for (String job : plan.pending().keySet()) {
            if (!jobs.containsKey(job)) return Optional.of("job " + job + " is gone");
        }
        return Optional.empty();
    }

    private long remove(Allocation a, Instant at, Event.Kind kind, String why) {
        allocations.remove(a.id());
        actual.remove(a.id());
        placed.remove(a.id());
        serving.remove(a.id());
        long sequence = record(at, kind, "allocation " + a.id(), why + " (was on node " + a.node() + ")");
        revisions.put(a.node(), sequence);
        return sequence;
    }

    /** The job of the highest-priority placement on the victim's node (the first in the plan among equals): what it made room for. */
    private static String preemptor(Command.Plan plan, Allocation victim) {
        Allocation top = null;
        for (Allocation a : plan.placements()) {
            if (a.node().equals(victim.node()) && (top == null || a.priority() > top.priority())) top = a;
        }
        return top == null ? "a higher priority" : top.job();
    }

    /** Whether the replica {@code job.replica} is one its job still wants. */
    private boolean wanted(String id) {
        int dot = id.lastIndexOf('.');
        Job job = jobs.get(id.substring(0, dot));
        return job != null && Integer.parseInt(id.substring(dot + 1)) < job.spec().replicas();
    }

    /** Keeps only the earlier specs of {@code job} that a replica runs or its rollout in progress may restore. */
    private void pruneOlderSpecs(String job) {
        TreeMap<Long, JobSpec> specs = olderSpecs.get(job);
        if (specs == null) return;
        Set<Long> kept = new HashSet<>();
        allocationsOf(job).forEach(a -> kept.add(versionOf(a)));
        Rollouts.Rollout rollout = rollouts.get(job);
        if (rollout != null && rollout.status() == Rollouts.Status.ROLLING) kept.add(rollout.from());
        specs.keySet().retainAll(kept);
        if (specs.isEmpty()) olderSpecs.remove(job);
    }

    /** The job's allocations, by id. */
    List<Allocation> allocationsOf(String job) {
        // Ids are JOB.REPLICA and '/' sorts right after '.': the range holds this job's and those of jobs named JOB.SOMETHING.
        return allocations.subMap(job + ".", job + "/").values().stream().filter(a -> a.job().equals(job)).toList();
    }

    /** The version of its job's spec that {@code a} runs. */
    long versionOf(Allocation a) {
        Placed p = placed.get(a.id());
        return p != null ? p.version() : jobs.get(a.job()).version();
    }

    /** The spec that {@code a} runs: its job's, or the earlier version it was placed with. */
    JobSpec specOf(Allocation a) {
        Job job = jobs.get(a.job());
        long version = versionOf(a);
        return version == job.version() ? job.spec() : olderSpec(a.job(), version).orElse(job.spec());
    }

    private Optional<JobSpec> olderSpec(String job, long version) {
        return Optional.ofNullable(olderSpecs.get(job)).map(specs -> specs.get(version));
    }

    private long record(Instant at, Event.Kind kind, String subject, String detail) {
        lastSequence++;
        events.addLast(new Event(lastSequence, at, kind, subject, detail));
        if (events.size() > MAX_EVENTS) events.removeFirst();
        return lastSequence;
    }

    private static Outcome applied(long lastEvent) {
        return new Outcome.Applied(lastEvent);
    }

    private static Outcome refuse(String reason) {
        return new Outcome.Refused(reason);
    }

    /** What {@code node} is to run. */
    DesiredState desiredFor(String node) {
        return new DesiredState(node, revisions.getOrDefault(node, 0L),
                allocations.values().stream().filter(a -> a.node().equals(node)).toList());
    }

    /** Up to {@code limit} events after {@code sequence}, oldest first. */
    List<Event> eventsAfter(long sequence, int limit) {
        List<Event> out = new ArrayList<>();
        for (Event e : events) {
            if (out.size() >= limit) break;
            if (e.sequence() > sequence) out.add(e);
        }
        return out;
    }

    /** Why each job has replicas without a node, by job. */
    SortedMap<String, String> pending() {
        TreeMap<String, String> out = new TreeMap<>();
        jobs.forEach((name, job) -> job.pending().ifPresent(reason -> out.put(name, reason)));
        return out;
    }
}
