package io.aether.sync;

import java.util.List;

/**
 * What {@code fsck} found.
 *
 * @param objects  objects read back from the store (each re-hashed and decoded)
 * @param commits  commits among them whose signature verified
 * @param refs     refs read (branches, tags, HEAD, FETCH_HEAD, MERGE_HEAD, the index)
 * @param problems every problem, in the order found; empty for a sound repository
 */
public record FsckResult(long objects, long commits, int refs, List<Problem> problems) {

    public FsckResult {
        problems = List.copyOf(problems);
    }

    public boolean ok() {
        return problems.isEmpty();
    }

    /**
     * One problem.
     *
     * @param object  the object at fault, or null when a ref itself is unreadable
     * @param ref     the first ref found to reach it (or the unreadable ref), or null when no ref reaches it
     * @param message what is wrong, naming the object
     */
    public record Problem(ObjectId object, String ref, String message) {

        /** The problem as one line: the message and the ref it concerns. */
        public String line() {
            if (object == null) {
                return message;
            }
            return message + (ref == null ? " (not reachable from any ref)" : " (reachable from " + ref + ")");
        }
    }
}
