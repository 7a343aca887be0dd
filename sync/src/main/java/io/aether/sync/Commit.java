package io.aether.sync;

import io.aether.security.KeyId;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * A signed commit: a tree, its parents, who made it and when.
 *
 * @param id      the commit's object id
 * @param tree    the id of its tree (the list of files)
 * @param parents none for a first commit, one normally, two for a merge
 * @param author  the key id of the ML-DSA-65 key that signed it
 * @param time    when it was made (millisecond precision)
 * @param message the message
 */
public record Commit(ObjectId id, ObjectId tree, List<ObjectId> parents, KeyId author, Instant time, String message) {

    public Commit {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(tree, "tree");
        parents = List.copyOf(parents);
        Objects.requireNonNull(author, "author");
        Objects.requireNonNull(time, "time");
        Objects.requireNonNull(message, "message");
    }

    /** The first line of the message. */
    public String subject() {
        int nl = message.indexOf('\n');
        return nl < 0 ? message : message.substring(0, nl);
    }
}
