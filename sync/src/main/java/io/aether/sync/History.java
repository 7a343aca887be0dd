package io.aether.sync;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/** Walks over the commit graph: ancestry and merge bases. */
final class History {

    /** Loads (and verifies) a commit. */
    @FunctionalInterface
    interface Loader {
        Commit load(ObjectId id) throws IOException;
    }

    private History() {
    }

    static boolean isAncestor(Loader loader, ObjectId ancestor, ObjectId descendant) throws IOException {
        Deque<ObjectId> todo = new ArrayDeque<>();
        Set<ObjectId> seen = new HashSet<>();
        todo.add(descendant);
        while (!todo.isEmpty()) {
            ObjectId id = todo.poll();
            if (id.equals(ancestor)) {
                return true;
            }
            if (seen.add(id)) {
                todo.addAll(loader.load(id).parents());
            }
        }
        return false;
    }

    /** {@code tip} and every commit reachable from it. */
    static Set<ObjectId> ancestors(Loader loader, ObjectId tip) throws IOException {
        Set<ObjectId> seen = new HashSet<>();
        Deque<ObjectId> todo = new ArrayDeque<>();
        todo.add(tip);
        while (!todo.isEmpty()) {
            ObjectId id = todo.poll();
            if (seen.add(id)) {
                todo.addAll(loader.load(id).parents());
            }
        }
        return seen;
    }

    /**
     * The best common ancestor of {@code a} and {@code b}: a common ancestor that is not an
     * ancestor of another common ancestor. With several (criss-cross histories) the newest is
     * taken; empty when the histories are unrelated.
     */
    static Optional<ObjectId> mergeBase(Loader loader, ObjectId a, ObjectId b) throws IOException {
        Set<ObjectId> ofA = ancestors(loader, a);
        List<ObjectId> candidates = new ArrayList<>();
        Set<ObjectId> seen = new HashSet<>();
        Deque<ObjectId> todo = new ArrayDeque<>();
        todo.add(b);
        while (!todo.isEmpty()) {
            ObjectId id = todo.poll();
            if (!seen.add(id)) {
                continue;
            }
            if (ofA.contains(id)) {
                candidates.add(id);
                continue;
            }
            todo.addAll(loader.load(id).parents());
        }
        List<ObjectId> best = new ArrayList<>();
        for (ObjectId c : candidates) {
            boolean dominated = false;
            for (ObjectId other : candidates) {
                if (!other.equals(c) && isAncestor(loader, c, other)) {
                    dominated = true;
                    break;
                }
            }
            if (!dominated) {
                best.add(c);
            }
        }
        ObjectId newest = null;
        for (ObjectId c : best) {
            if (newest == null || loader.load(c).time().isAfter(loader.load(newest).time())) {
                newest = c;
            }
        }
        return Optional.ofNullable(newest);
    }
}
