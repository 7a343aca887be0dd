package io.aether.fabricapi;

import java.util.Objects;

/**
 * One replica of a job placed on a node: what the node is to run.
 *
 * @param job the job's name
 * @param replica which replica, 0 to replicas - 1
 * @param node the node it runs on
 * @param resources what it takes there (the job's per-replica resources)
 * @param priority the job's priority, kept here so that preemption needs no look-up
 */
public record Allocation(String job, int replica, String node, Resources resources, int priority) {

    public Allocation {
        Objects.requireNonNull(job, "job");
        Objects.requireNonNull(node, "node");
        Objects.requireNonNull(resources, "resources");
        if (replica < 0) throw new IllegalArgumentException("replica: " + replica + " is negative");
    }

    /** {@code job.replica}: unique in the fabric, the same wherever the replica is placed. */
    public String id() {
        return job + "." + replica;
    }
}
