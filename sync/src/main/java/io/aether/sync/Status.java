package io.aether.sync;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
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
    public enum Kind {
        ADDED, MODIFIED, DELETED;

        /** "added", "modified", "deleted". */
        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** One changed file. */
    public record Change(String path, Kind kind) {
    }

    /** No staged or unstaged changes to tracked files (untracked files do not count). */
    public boolean clean() {
        return staged.isEmpty() && unstaged.isEmpty();
    }

    /** How many changed files {@link #describeChanges} names before it only counts the rest. */
    static final int DESCRIBED_CHANGES = 10;

    /**
     * The changes to tracked files, for a message: "model.onnx (deleted, not staged),
     * config.json (modified, staged)"; past the first few, only a count of the rest.
     */
    public String describeChanges() {
        List<String> parts = new ArrayList<>();
        staged.forEach(c -> parts.add(c.path() + " (" + c.kind().label() + ", staged)"));
        unstaged.forEach(c -> parts.add(c.path() + " (" + c.kind().label() + ", not staged)"));
        if (parts.size() <= DESCRIBED_CHANGES) {
            return String.join(", ", parts);
        }
        return String.join(", ", parts.subList(0, DESCRIBED_CHANGES)) + " and " + (parts.size() - DESCRIBED_CHANGES) + " more";
    }
}
