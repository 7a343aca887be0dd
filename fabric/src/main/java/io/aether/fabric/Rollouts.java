package io.aether.fabric;

import io.aether.fabricapi.Allocation;
import io.aether.fabricapi.Job;
import io.aether.fabricapi.JobSpec;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * Rolling updates. An update that changes what a replica is (its workload or resources) does not
 * touch the running replicas at once: they go on running the previous version, and each step
 * ({@link Command.AdvanceRollout}, proposed by the leading controller whenever {@link #decide}
 * finds something to do) stops the next {@code rollout.batch} of them, which the scheduler then
 * places again on the new version. A batch must report {@code running} within
 * {@code rollout.healthTimeout} before the next one goes; a replica that fails or times out ends
 * the rollout: with {@code autoRollback} the job returns to the previous version (and the replicas
 * already replaced are replaced back), without it the rollout stops as failed, the replicas not
 * yet replaced still on the previous version. A model job with {@code rollout.canaryPercent}
 * replaces that share of its replicas first (the canary), and the rest only once it is healthy.
 *
 * <p>Everything {@link #decide} reads is replicated state and the command's time, so every
 * controller, and a controller restarted from its log, reaches the same step.
 */
final class Rollouts {

    private Rollouts() {
    }

    enum Status {
        ROLLING, COMPLETE, FAILED, ROLLED_BACK;

        /** As people and the API read it: {@code rolled back}. */
        String word() {
            return name().toLowerCase(Locale.ROOT).replace('_', ' ');
        }
    }

    /**
     * A job's rollout, the one in progress or the last one.
     *
     * @param from the version being replaced, which a rollback restores
     * @param to the version being rolled out
     * @param batch the replicas stopped at {@code batchStarted} to come back on {@code to}, whose health is awaited
     * @param reason why it failed or was rolled back
     */
    record Rollout(long from, long to, Status status, List<Integer> batch, Instant batchStarted, Optional<String> reason) {
        Rollout {
            Objects.requireNonNull(status, "status");
            batch = List.copyOf(batch);
            Objects.requireNonNull(batchStarted, "batchStarted");
            Objects.requireNonNull(reason, "reason");
            if (from < 1 || to < 1) throw new IllegalArgumentException("versions: " + from + " to " + to + " are not versions");
        }

        static Rollout start(long from, long to, Instant at) {
            return new Rollout(from, to, Status.ROLLING, List.of(), at, Optional.empty());
        }

        Rollout replacing(List<Integer> replicas, Instant at) {
            return new Rollout(from, to, status, replicas, at, reason);
        }

        Rollout ended(Status outcome, Optional<String> why) {
            return new Rollout(from, to, outcome, List.of(), batchStarted, why);
        }

        Rollout retargeted(long version) {
            return new Rollout(from, version, status, batch, batchStarted, reason);
        }

        /** {@code rolling}, {@code complete}, {@code failed: REASON}, {@code rolled back: REASON}. */
        String outcome() {
            return status.word() + reason.map(r -> ": " + r).orElse("");
        }
    }

    /** What a rollout does next. */
    sealed interface Step {
        /** Nothing yet: the batch in flight is not healthy and has time left, or no rollout is in progress. */
        record Wait() implements Step {
        }

        /** Stop these replicas (on an older version) so that they come back on the new one. */
        record Replace(List<Integer> replicas) implements Step {
        }

        /** Every replica left runs the new version and the last batch is healthy. */
        record Complete() implements Step {
        }

        /** A replica of the batch failed or was not running in time. */
        record Fail(String reason) implements Step {
        }
    }

    static final Step WAIT = new Step.Wait();

    /** The next step of {@code name}'s rollout at {@code at}: a function of the state and the time only. */
    static Step decide(FabricState state, String name, Instant at) {
        Rollout rollout = state.rollouts.get(name);
        Job job = state.jobs.get(name);
        if (rollout == null || job == null || rollout.status() != Status.ROLLING) return WAIT;
        JobSpec spec = job.spec();
        boolean waiting = false;
        for (int replica : rollout.batch()) {
            if (replica >= spec.replicas()) continue;
            String id = name + "." + replica;
            Allocation a = state.allocations.get(id);
            String health = a == null || state.versionOf(a) != rollout.to() ? "pending" : state.actual.getOrDefault(id, "placed");
            if (health.startsWith("failed")) return new Step.Fail("replica " + id + " " + health);
            if (health.equals("running")) continue;
            if (!at.isBefore(rollout.batchStarted().plus(spec.rollout().healthTimeout()))) {
                return new Step.Fail("replica " + id + " not running within " + spec.rollout().healthTimeout().toSeconds() + "s (" + health + ")");
            }
            waiting = true;
        }
        if (waiting) return WAIT;
        List<Integer> outdated = state.allocationsOf(name).stream()
                .filter(a -> a.replica() < spec.replicas() && state.versionOf(a) != rollout.to())
                .map(Allocation::replica).sorted().limit(rollout.batch().isEmpty() ? firstBatch(spec) : spec.rollout().batch()).toList();
        return outdated.isEmpty() ? new Step.Complete() : new Step.Replace(outdated);
    }

    /**
     * The first batch of a rollout: a model's canary (its {@code canaryPercent} of the replicas,
     * rounded up, at least one), which must be healthy before the other replicas follow in
     * batches; otherwise an ordinary batch.
     */
    static int firstBatch(JobSpec spec) {
        int percent = spec.rollout().canaryPercent();
        if (percent == 0 || !(spec.workload() instanceof JobSpec.Workload.Model)) return spec.rollout().batch();
        return Math.max(1, (spec.replicas() * percent + 99) / 100);
    }

    /** The jobs whose rollout has a step to take at {@code at}. */
    static List<String> due(FabricState state, Instant at) {
        return state.rollouts.entrySet().stream().filter(e -> e.getValue().status() == Status.ROLLING)
                .map(java.util.Map.Entry::getKey).filter(job -> !(decide(state, job, at) instanceof Step.Wait)).toList();
    }

    /** Whether {@code next} changes what a running replica is, so that its replicas must be replaced rather than relabelled. */
    static boolean replacesReplicas(JobSpec previous, JobSpec next) {
        // Changed volumes are changed disks: the replica's VM is made again with them.
        return !previous.workload().equals(next.workload()) || !previous.resources().equals(next.resources()) || !previous.volumes().equals(next.volumes());
    }
}
