package io.aether.fabricapi;

import java.time.Instant;
import java.util.Objects;

/**
 * One change of the fabric's state. Every change is an event; sequence numbers count from 1 with no
 * gap, the same on every controller, so a reader that saw up to {@code n} asks for what follows.
 *
 * @param sequence its place in the fabric's history
 * @param at when the change was proposed (the proposing controller's clock)
 * @param kind what changed
 * @param subject the node, job, allocation or token it is about
 * @param detail one line for people
 */
public record Event(long sequence, Instant at, Kind kind, String subject, String detail) {

    public enum Kind {
        TOKEN_CREATED, NODE_JOINED, NODE_DRAINED, NODE_REVOKED, JOB_SUBMITTED, JOB_UPDATED, JOB_STOPPED, JOB_PENDING, ALLOCATION_PLACED,
        ALLOCATION_PREEMPTED, ALLOCATION_STOPPED,
        /** A node reported a new state of an allocation's VM (running, failed with the reason, ...). */
        ALLOCATION_REPORTED,
        /** An update began replacing a job's replicas, a batch at a time. */
        ROLLOUT_STARTED,
        /** A rollout stopped a batch of replicas so that they come back on the new version. */
        ROLLOUT_BATCH,
        /** Every replica of the job runs the new version. */
        ROLLOUT_COMPLETED,
        /** A new replica failed its health gate; the rollout stopped where it was. */
        ROLLOUT_FAILED,
        /** A new replica failed its health gate; the job went back to its previous version. */
        ROLLOUT_ROLLED_BACK,
        /** A client identity was issued with its role (read, operate, admin). */
        CLIENT_ADDED,
        /** A client identity's certificate is refused from now on. */
        CLIENT_REVOKED,
        /** A stopped job's volumes were deleted: their nodes delete the images and have the room again. */
        VOLUMES_DELETED
    }

    public Event {
        Objects.requireNonNull(at, "at");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(subject, "subject");
        Objects.requireNonNull(detail, "detail");
        if (sequence < 1) throw new IllegalArgumentException("sequence: " + sequence + " is less than 1");
    }
}
