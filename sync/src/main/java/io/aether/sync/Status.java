package io.aether.sync;

import java.util.List;
import java.util.Map;

/**
 * The state of a working directory.
 *
 * @param branch    the current branch, or null when HEAD is detached
 * @param head      the current commit, or null before the first commit
 * @param staged    differences between HEAD and the staged files (what the next commit records)
 * @param unstaged  differences between the staged files and the working directory
 * @param untracked files in the working directory that are not staged
 * @param conflicts paths of the merge in progress that still conflict, with why (empty when none)
 * @param merging   whether a merge is in progress
 */
public record Status(String branch, ObjectId head, List<Change> staged, List<Change> unstaged,
                     List<String> untracked, Map<String, String> conflicts, boolean merging) {

    public Status {
        staged = List.copyOf(staged);
        unstaged = List.copyOf(unstaged);
        untracked = List.copyOf(untracked);
        conflicts = Map.copyOf(conflicts);
    }

    /** How a file differs. */
    public enum Kind { ADDED, MODIFIED, DELETED }

    /** One changed file. */
    public record Change(String path, Kind kind) {
    }

    /** No staged or unstaged changes to tracked files (untracked files do not count). */
    public boolean clean() {
        return staged.isEmpty() && unstaged.isEmpty();
    }
}
