package io.aether.fabric;

import io.aether.common.ByteSize;
import io.aether.fabricapi.JobSpec;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Objects;

/**
 * A volume of one replica of a job, bound to the node it was first placed on: the replica runs
 * there again after a restart, a rollout or a rescheduling, or stays pending while that node takes
 * no work, so that its data is never silently swapped for an empty disk elsewhere. A binding
 * outlives its job (its data is kept) until it is deleted.
 *
 * @param name the volume's name in the job spec ({@link JobSpec#VOLUME_NAME})
 */
record JobVolume(String job, int replica, String name, ByteSize size, String node) {

    /** The longest id a node's volume name (1 to 64 characters) holds as it is. */
    private static final int MAX_PLAIN_ID = 64;

    JobVolume {
        Objects.requireNonNull(job, "job");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(size, "size");
        Objects.requireNonNull(node, "node");
        if (!JobSpec.NAME.matcher(job).matches()) throw new IllegalArgumentException("job: not a job name");
        if (replica < 0) throw new IllegalArgumentException("replica: " + replica + " is negative");
        if (!JobSpec.VOLUME_NAME.matcher(name).matches()) throw new IllegalArgumentException("name: not a volume name");
        if (size.bytes() < 1) throw new IllegalArgumentException("size: " + size.bytes() + " bytes");
        if (!JobSpec.NAME.matcher(node).matches()) throw new IllegalArgumentException("node: not a node name");
    }

    /** {@code job.replica.name}: unique in the fabric, and the key of the replicated state's map. */
    String id() {
        return id(job, replica, name);
    }

    static String id(String job, int replica, String name) {
        return job + "." + replica + "." + name;
    }

    /** The replica's id, {@code job.replica}, as its allocation has it. */
    String replicaId() {
        return job + "." + replica;
    }

    /**
     * The volume's name on its node: its id where that fits a node volume name, else {@code job-}
     * and a digest of the id (a 63-character job name leaves no room for the rest).
     */
    String nodeVolume() {
        String id = id();
        if (id.length() <= MAX_PLAIN_ID) return id;
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(id.getBytes(StandardCharsets.UTF_8));
            return "job-" + HexFormat.of().formatHex(digest, 0, 24);
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError("every JDK has SHA-256", e);
        }
    }
}
