package io.aether.fabric;

import io.aether.fabricapi.Allocation;
import io.aether.fabricapi.JobSpec;
import io.aether.fabricapi.Node;
import java.time.Instant;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * A change to the controller's state, as it goes into the replicated log. Everything a command's
 * effect depends on is in the command, the time included ({@link #at}, the proposing controller's
 * clock): every peer applying the same log ends in the same state.
 */
sealed interface Command {

    /** When it was proposed. */
    Instant at();

    /** A join token is issued: only the hash of its secret is kept, so a copy of the state does not let anyone join. */
    record CreateToken(String hash, Instant expires, Instant at) implements Command {
        public CreateToken {
            requireHash(hash);
            Objects.requireNonNull(expires, "expires");
            Objects.requireNonNull(at, "at");
        }
    }

    /**
     * A node joins with the token whose secret hashes to {@code tokenHash}: the token is used up and
     * the node recorded with its identity, or neither.
     *
     * @param key the node's ML-DSA-65 public key (X.509, base64), which the controller checked the join's signature with
     */
    record JoinNode(String tokenHash, Node node, String key, Instant at) implements Command {
        /** Far above an ML-DSA-65 key's 2,600 base64 characters. */
        static final int MAX_KEY_CHARS = 8192;

        public JoinNode {
            requireHash(tokenHash);
            Objects.requireNonNull(node, "node");
            if (key.isEmpty() || key.length() > MAX_KEY_CHARS || !key.matches("[A-Za-z0-9+/=]+")) throw new IllegalArgumentException("key: not a base64 public key");
            Objects.requireNonNull(at, "at");
        }
    }

    /**
     * What a node reports of its allocations: {@code states} maps an allocation id to its VM's
     * state ({@code running}, or {@code failed: reason}); {@code serving}, a running model
     * allocation's id to where it serves which commit. Only allocations placed on that node count,
     * and only if the node had reconciled to a desired state ({@code revision}) that holds them as
     * they are now placed; the rest of a report is stale (about a VM that an update has since
     * replaced, say) and ignored. {@code volumes}, the room of the node's volume store, replaces
     * the one kept whatever the revision (absent from nodes that do not report it).
     */
    record ReportAllocations(String node, long revision, SortedMap<String, String> states, SortedMap<String, FabricState.Serving> serving,
                             Optional<Node.VolumeSpace> volumes, Instant at) implements Command {
        public ReportAllocations {
            Objects.requireNonNull(node, "node");
            if (revision < 0) throw new IllegalArgumentException("revision: " + revision + " is negative");
            states = Collections.unmodifiableSortedMap(new TreeMap<>(states));
            serving = Collections.unmodifiableSortedMap(new TreeMap<>(serving));
            Objects.requireNonNull(volumes, "volumes");
            Objects.requireNonNull(at, "at");
        }

        /** A report of VMs only. */
        ReportAllocations(String node, long revision, SortedMap<String, String> states, Instant at) {
            this(node, revision, states, new TreeMap<>(), Optional.empty(), at);
        }
    }

    /** A node takes no new work; the scheduler moves its replicas elsewhere. */
    record DrainNode(String node, Instant at) implements Command {
        public DrainNode {
            Objects.requireNonNull(node, "node");
            Objects.requireNonNull(at, "at");
        }
    }

    /**
     * A node loses its right to talk to the fabric for good: its replicas go elsewhere, and its
     * name and key stay recorded, so neither can join again.
     */
    record RevokeNode(String node, Instant at) implements Command {
        public RevokeNode {
            Objects.requireNonNull(node, "node");
            Objects.requireNonNull(at, "at");
        }
    }

    /**
     * A controller's certificate authority joins those whose node certificates every controller
     * accepts; a controller proposes its own when it starts.
     *
     * @param certificate the CA certificate, DER in base64
     */
    record AddAuthority(String controller, String certificate, Instant at) implements Command {
        /** An ML-DSA-65 CA certificate is about 5.6 KB, 7.5 K characters of base64. */
        static final int MAX_CERTIFICATE_CHARS = 16_384;

        public AddAuthority {
            Objects.requireNonNull(controller, "controller");
            if (certificate.isEmpty() || certificate.length() > MAX_CERTIFICATE_CHARS || !certificate.matches("[A-Za-z0-9+/=]+")) {
                throw new IllegalArgumentException("certificate: not a base64 certificate of at most " + MAX_CERTIFICATE_CHARS + " characters");
            }
            Objects.requireNonNull(at, "at");
        }
    }

    /**
     * A client identity is recorded with its role before a certificate is issued for it; names are
     * never reused, so a revoked name stays refused.
     *
     * @param role {@code read}, {@code operate} or {@code admin}
     * @param keyId the SHA-256 of the client's public key, hex
     */
    record AddClient(String name, String role, String keyId, Instant at) implements Command {
        public AddClient {
            if (!name.matches("[a-z0-9][a-z0-9._-]{0,62}")) throw new IllegalArgumentException("name: '" + name + "' is not 1 to 63 of a-z 0-9 . _ - (starting with a letter or digit)");
            if (!List.of("read", "operate", "admin").contains(role)) throw new IllegalArgumentException("role: '" + role + "' is not read, operate or admin");
            if (!keyId.matches("[0-9a-f]{64}")) throw new IllegalArgumentException("keyId: not 64 lower-case hex digits");
            Objects.requireNonNull(at, "at");
        }
    }

    /** A client identity's certificate is refused from now on, at every controller. */
    record RevokeClient(String name, Instant at) implements Command {
        public RevokeClient {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(at, "at");
        }
    }

    /** A new job, or a new version of one. */
    record SubmitJob(JobSpec spec, Instant at) implements Command {
        public SubmitJob {
            Objects.requireNonNull(spec, "spec");
            Objects.requireNonNull(at, "at");
        }
    }

    /**
     * One step of the job's rolling update, as {@link Rollouts#decide} finds it at {@code at}:
     * the next batch replaced, the rollout completed, failed or rolled back, or nothing.
     */
    record AdvanceRollout(String job, Instant at) implements Command {
        public AdvanceRollout {
            Objects.requireNonNull(job, "job");
            Objects.requireNonNull(at, "at");
        }
    }

    /** A job ends: its replicas are stopped and it is forgotten. */
    record StopJob(String job, Instant at) implements Command {
        public StopJob {
            Objects.requireNonNull(job, "job");
            Objects.requireNonNull(at, "at");
        }
    }

    /**
     * Deletes the volumes of a job that is not running (stopped, or never submitted again): all of
     * them, or the one whose id ({@code job.replica.name}) is {@code volume}. Their nodes delete
     * the images and count the room free again.
     */
    record DeleteVolumes(String job, Optional<String> volume, Instant at) implements Command {
        public DeleteVolumes {
            Objects.requireNonNull(job, "job");
            Objects.requireNonNull(volume, "volume");
            Objects.requireNonNull(at, "at");
        }
    }

    /**
     * The scheduler's plan, computed by one controller from the state it read. The state may have
     * moved on since: applying checks the plan against the state as it is and refuses it whole if
     * any part no longer holds.
     */
    record ApplyPlan(Plan plan, Instant at) implements Command {
        public ApplyPlan {
            Objects.requireNonNull(plan, "plan");
            Objects.requireNonNull(at, "at");
        }
    }

    /**
     * What the scheduler decided.
     *
     * @param placements replicas to start, each on its node
     * @param stops allocations to stop because their job is gone or has fewer replicas now
     * @param preemptions allocations stopped to make room for higher-priority work
     * @param pending per job, why some of its replicas have no node
     */
    record Plan(List<Allocation> placements, List<String> stops, List<String> preemptions, SortedMap<String, String> pending) {
        public Plan {
            placements = List.copyOf(placements);
            stops = List.copyOf(stops);
            preemptions = List.copyOf(preemptions);
            pending = Collections.unmodifiableSortedMap(new TreeMap<>(pending));
        }

        /**
         * This plan cut into plans of at most {@code max} placements each, in the scheduler's order
         * (the most urgent first): the first also carries the stops and preemptions, each carries
         * the pending reasons. Applied in order, they do what this plan does.
         */
        List<Plan> batches(int max) {
            if (max < 1) throw new IllegalArgumentException("max: " + max + " is less than 1");
            if (placements.size() <= max) return List.of(this);
            List<Plan> out = new java.util.ArrayList<>();
            for (int from = 0; from < placements.size(); from += max) {
                List<Allocation> part = placements.subList(from, Math.min(from + max, placements.size()));
                out.add(from == 0 ? new Plan(part, stops, preemptions, pending) : new Plan(part, List.of(), List.of(), pending));
            }
            return out;
        }

        boolean changesNothing(SortedMap<String, String> pendingNow) {
            return placements.isEmpty() && stops.isEmpty() && preemptions.isEmpty() && pending.equals(pendingNow);
        }
    }

    private static void requireHash(String hash) {
        if (!hash.matches("[0-9a-f]{64}")) throw new IllegalArgumentException("token hash: not 64 lower-case hex digits");
    }
}
