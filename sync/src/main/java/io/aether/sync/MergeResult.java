package io.aether.sync;

import java.util.List;
import java.util.Map;

/**
 * The outcome of a merge.
 *
 * @param kind       what happened
 * @param commit     the new HEAD commit (the merged-in commit for a fast-forward, the merge commit
 *                   for a clean merge, the unchanged HEAD otherwise)
 * @param autoMerged paths both sides changed that were merged automatically (text line-wise,
 *                   JSON key-wise)
 * @param conflicts  paths that need {@code resolve}, with why
 */
public record MergeResult(Kind kind, ObjectId commit, List<String> autoMerged, Map<String, String> conflicts) {

    public MergeResult {
        autoMerged = List.copyOf(autoMerged);
        conflicts = Map.copyOf(conflicts);
    }

    /** What a merge did. */
    public enum Kind {
        /** The other side is already part of this history. */
        UP_TO_DATE,
        /** This history was part of the other one: the branch moved forward to it. */
        FAST_FORWARD,
        /** Both sides had changes; they merged cleanly into a merge commit. */
        MERGED,
        /** Both sides changed the same things; the merge waits for {@code resolve} and {@code commit}. */
        CONFLICTS
    }
}
