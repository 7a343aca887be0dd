package io.aether.fabricapi;

import io.aether.common.ByteSize;
import io.aether.common.FieldException;
import io.aether.vmspec.VmSpec;
import java.net.URI;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * What a user asks the fabric to run: a workload, how much of a node each replica takes, how many
 * replicas, where they may go and how they are kept running. {@link JobSpecJson} is its JSON form
 * and the resource {@code io/aether/fabricapi/job-spec.schema.json} its schema.
 *
 * <p>A spec is checked when it is built: a {@link FieldException} names the field as the JSON
 * spells it. Whether it fits anywhere is the scheduler's question, not the spec's.
 *
 * @param name the job's name, unique in the fabric: {@link #NAME}
 * @param workload a microVM or a model
 * @param resources what each replica takes; for a microVM at least the VM's own vCPUs and memory
 * @param replicas how many copies run, 1 to {@link #MAX_REPLICAS}
 * @param constraints node labels a replica's node must carry, exactly
 * @param affinity jobs whose nodes this job prefers (a score, never a refusal)
 * @param antiAffinity jobs whose nodes this job never shares (its own name: one replica per node)
 * @param placement how feasible nodes are ranked
 * @param spreadBy a node label whose values the replicas are spread across, if any
 * @param priority 0 to {@link #MAX_PRIORITY}; higher is placed first
 * @param preempt whether this job may stop lower-priority replicas to fit
 * @param restart what a node does when a replica ends
 * @param rollout how an update replaces running replicas
 * @param volumes disks each replica of a microVM job has of its own, kept across its restarts
 */
public record JobSpec(String name, Workload workload, Resources resources, int replicas, SortedMap<String, String> constraints,
                      List<String> affinity, List<String> antiAffinity, Placement placement, Optional<String> spreadBy,
                      int priority, boolean preempt, Restart restart, Rollout rollout, List<Volume> volumes) {

    /** Job names and node labels: they appear in API paths, so the HTTP module's parameter rule, in lower case. */
    public static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");
    private static final Pattern LABEL_VALUE = Pattern.compile("[A-Za-z0-9._-]{1,63}");
    /** A model ref: a branch, a tag or a commit id, as the sync module names them. */
    private static final Pattern REF = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._/-]{0,199}");
    public static final int MAX_REPLICAS = 10_000;
    public static final int MAX_PRIORITY = 1000;
    public static final int MAX_LABELS = 32;
    public static final int MAX_AFFINITIES = 32;
    public static final ByteSize MODEL_DEFAULT_MEMORY = ByteSize.ofMiB(512);
    public static final int MAX_VOLUMES = 8;
    /** A volume's name inside its job: short, so that with the job's name and the replica's index it still names a node's volume. */
    public static final Pattern VOLUME_NAME = Pattern.compile("[a-z0-9][a-z0-9-]{0,15}");
    /** What one replica's volume may take of a node's disk: sparse, but counted whole against the node's volume capacity. */
    public static final ByteSize MAX_VOLUME_SIZE = ByteSize.ofMiB(1024 * 1024);

    /** What runs. */
    public sealed interface Workload {

        /** A microVM, as the node agent runs it. */
        record Vm(VmSpec spec) implements Workload {
            public Vm {
                Objects.requireNonNull(spec, "spec");
            }
        }

        /**
         * A model, served by the inference runtime on the node from a repository synced to it.
         *
         * @param repository where the signed model repository is served ({@code https://} or {@code http://})
         * @param ref the branch, tag or commit to serve
         */
        record Model(URI repository, String ref) implements Workload {
            public Model {
                Objects.requireNonNull(repository, "repository");
                Objects.requireNonNull(ref, "ref");
                String scheme = repository.getScheme();
                if (!repository.isAbsolute() || !("https".equals(scheme) || "http".equals(scheme)) || repository.getHost() == null) {
                    throw new FieldException("workload.model.repository", "'" + printable(repository.toString())
                            + "' is not an http:// or https:// URL with a host");
                }
                if (!REF.matcher(ref).matches() || ref.contains("..")) {
                    throw new FieldException("workload.model.ref", "'" + printable(ref) + "' is not a branch, tag or commit id");
                }
            }
        }
    }

    /**
     * A raw disk image each replica has of its own, created on the node the replica is first
     * placed on and attached to its VM as a virtio disk.
     *
     * @param name its name in the job: {@link #VOLUME_NAME}
     * @param size a whole number of MiB, 1 MiB to {@link #MAX_VOLUME_SIZE}
     * @param readOnly whether the VM sees it read-only
     */
    public record Volume(String name, ByteSize size, boolean readOnly) {
        public Volume {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(size, "size");
        }
    }

    /** How the scheduler ranks the nodes a replica fits on. */
    public enum Placement {
        /** The fullest node that fits: keeps whole nodes free for large work. */
        BINPACK,
        /** The emptiest node: spreads load and failures. */
        SPREAD
    }

    /** What a node does when a replica's workload ends. */
    public enum Restart {
        ALWAYS, ON_FAILURE, NEVER
    }

    /**
     * How an update replaces running replicas: in batches, each waiting for its replicas to be
     * healthy before the next, rolling back what it changed when one is not.
     *
     * @param batch replicas replaced at once, 1 or more
     * @param healthTimeout how long a new replica has to become healthy, 1 s to 1 h
     * @param autoRollback whether a failed health gate restores the previous spec
     * @param canaryPercent for a model, the share of replicas that serve the new version first (0: no canary)
     */
    public record Rollout(int batch, Duration healthTimeout, boolean autoRollback, int canaryPercent) {

        public static final Rollout DEFAULT = new Rollout(1, Duration.ofSeconds(60), true, 0);

        public Rollout {
            Objects.requireNonNull(healthTimeout, "healthTimeout");
            if (batch < 1) throw new FieldException("rollout.batch", batch + " is less than 1");
            if (healthTimeout.compareTo(Duration.ofSeconds(1)) < 0 || healthTimeout.compareTo(Duration.ofHours(1)) > 0) {
                throw new FieldException("rollout.healthTimeout", healthTimeout.toSeconds() + "s is out of range (1s to 1h)");
            }
            if (canaryPercent < 0 || canaryPercent > 100) throw new FieldException("rollout.canaryPercent", canaryPercent + " is out of range (0 to 100)");
        }
    }

    public JobSpec {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(workload, "workload");
        Objects.requireNonNull(resources, "resources");
        constraints = Collections.unmodifiableSortedMap(new TreeMap<>(constraints));
        affinity = List.copyOf(affinity);
        antiAffinity = List.copyOf(antiAffinity);
        Objects.requireNonNull(placement, "placement");
        Objects.requireNonNull(spreadBy, "spreadBy");
        Objects.requireNonNull(restart, "restart");
        Objects.requireNonNull(rollout, "rollout");
        volumes = List.copyOf(volumes);
        if (!NAME.matcher(name).matches()) throw new FieldException("name", "'" + printable(name) + "' is not a name (" + NAME.pattern() + ")");
        if (workload instanceof Workload.Vm(VmSpec vm)) {
            if (resources.vcpus() < vm.vcpus()) {
                throw new FieldException("resources.vcpus", resources.vcpus() + " is less than the VM's " + vm.vcpus());
            }
            if (resources.memory().bytes() < vm.memory().bytes()) {
                throw new FieldException("resources.memory", resources.memory() + " is less than the VM's " + vm.memory());
            }
        } else if (resources.vcpus() < 1) {
            throw new FieldException("resources.vcpus", resources.vcpus() + " is less than 1");
        } else if (resources.memory().bytes() < ByteSize.ofMiB(16).bytes()) {
            throw new FieldException("resources.memory", resources.memory() + " is too small (at least 16M)");
        }
        if (replicas < 1 || replicas > MAX_REPLICAS) throw new FieldException("replicas", replicas + " is out of range (1 to " + MAX_REPLICAS + ")");
        if (constraints.size() > MAX_LABELS) throw new FieldException("constraints", constraints.size() + " labels are more than " + MAX_LABELS);
        constraints.forEach((key, value) -> {
            if (!NAME.matcher(key).matches()) throw new FieldException("constraints", "'" + printable(key) + "' is not a label name (" + NAME.pattern() + ")");
            if (!LABEL_VALUE.matcher(value).matches()) throw new FieldException("constraints." + key, "'" + printable(value) + "' is not a label value");
        });
        requireNames("affinity", affinity);
        requireNames("antiAffinity", antiAffinity);
        spreadBy.ifPresent(label -> {
            if (!NAME.matcher(label).matches()) throw new FieldException("spreadBy", "'" + printable(label) + "' is not a label name");
        });
        if (priority < 0 || priority > MAX_PRIORITY) throw new FieldException("priority", priority + " is out of range (0 to " + MAX_PRIORITY + ")");
        if (rollout.batch() > replicas) throw new FieldException("rollout.batch", rollout.batch() + " is more than the " + replicas + " replicas");
        if (rollout.canaryPercent() > 0 && !(workload instanceof Workload.Model)) {
            throw new FieldException("rollout.canaryPercent", "a canary is for model workloads only");
        }
        requireVolumes(volumes, workload);
    }

    /** A spec without volumes: what every job was before they existed. */
    public JobSpec(String name, Workload workload, Resources resources, int replicas, SortedMap<String, String> constraints,
                   List<String> affinity, List<String> antiAffinity, Placement placement, Optional<String> spreadBy,
                   int priority, boolean preempt, Restart restart, Rollout rollout) {
        this(name, workload, resources, replicas, constraints, affinity, antiAffinity, placement, spreadBy, priority, preempt, restart, rollout, List.of());
    }

    /** A job of one replica with the defaults for everything but its workload and resources. */
    public static JobSpec of(String name, Workload workload, Resources resources) {
        return new JobSpec(name, workload, resources, 1, new TreeMap<>(), List.of(), List.of(), Placement.BINPACK, Optional.empty(), 0, false,
                Restart.ON_FAILURE, Rollout.DEFAULT);
    }

    /** What a microVM job takes when its spec says nothing: the VM's own vCPUs and memory. */
    public static Resources resourcesOf(VmSpec vm) {
        return new Resources(vm.vcpus(), vm.memory());
    }

    public JobSpec withReplicas(int value) {
        return new JobSpec(name, workload, resources, value, constraints, affinity, antiAffinity, placement, spreadBy, priority, preempt, restart, rollout, volumes);
    }

    public JobSpec withPriority(int value, boolean mayPreempt) {
        return new JobSpec(name, workload, resources, replicas, constraints, affinity, antiAffinity, placement, spreadBy, value, mayPreempt, restart, rollout, volumes);
    }

    public JobSpec withPlacement(Placement value, Optional<String> spreadLabel) {
        return new JobSpec(name, workload, resources, replicas, constraints, affinity, antiAffinity, value, spreadLabel, priority, preempt, restart, rollout, volumes);
    }

    public JobSpec withConstraints(Map<String, String> value) {
        return new JobSpec(name, workload, resources, replicas, new TreeMap<>(value), affinity, antiAffinity, placement, spreadBy, priority, preempt, restart, rollout, volumes);
    }

    public JobSpec withAffinity(List<String> prefer, List<String> avoid) {
        return new JobSpec(name, workload, resources, replicas, constraints, prefer, avoid, placement, spreadBy, priority, preempt, restart, rollout, volumes);
    }

    private static void requireVolumes(List<Volume> volumes, Workload workload) {
        if (volumes.isEmpty()) return;
        if (!(workload instanceof Workload.Vm(VmSpec vm))) throw new FieldException("volumes", "volumes are for microVM workloads only");
        if (volumes.size() > MAX_VOLUMES) throw new FieldException("volumes", volumes.size() + " volumes are more than " + MAX_VOLUMES);
        for (int i = 0; i < volumes.size(); i++) {
            Volume v = volumes.get(i);
            String at = "volumes[" + i + "]";
            if (!VOLUME_NAME.matcher(v.name()).matches()) {
                throw new FieldException(at + ".name", "'" + printable(v.name()) + "' is not a volume name (" + VOLUME_NAME.pattern() + ")");
            }
            for (int j = 0; j < i; j++) {
                if (volumes.get(j).name().equals(v.name())) throw new FieldException(at + ".name", v.name() + " is named twice");
            }
            long mib = ByteSize.ofMiB(1).bytes();
            if (v.size().bytes() < mib || v.size().bytes() % mib != 0 || v.size().bytes() > MAX_VOLUME_SIZE.bytes()) {
                throw new FieldException(at + ".size", v.size() + " is not a whole number of MiB from 1M to " + MAX_VOLUME_SIZE);
            }
        }
        // Refused here, not when a node makes the VM: such a replica could never start anywhere.
        if (vm.boot() instanceof VmSpec.Boot.Stub) throw new FieldException("volumes", "the stub guest has no disks; volumes need a kernel VM");
    }

    private static void requireNames(String field, List<String> names) {
        if (names.size() > MAX_AFFINITIES) throw new FieldException(field, names.size() + " jobs are more than " + MAX_AFFINITIES);
        for (int i = 0; i < names.size(); i++) {
            if (!NAME.matcher(names.get(i)).matches()) {
                throw new FieldException(field + "[" + i + "]", "'" + printable(names.get(i)) + "' is not a job name");
            }
            if (names.subList(0, i).contains(names.get(i))) throw new FieldException(field + "[" + i + "]", names.get(i) + " is named twice");
        }
    }

    /** Text from outside, fit for a one-line message: control and non-ASCII characters as '?', at most 100 of them. */
    static String printable(String text) {
        StringBuilder b = new StringBuilder();
        text.codePoints().limit(100).forEach(c -> b.append(c >= ' ' && c < 0x7F ? (char) c : '?'));
        return text.codePointCount(0, text.length()) > 100 ? b + "..." : b.toString();
    }
}
