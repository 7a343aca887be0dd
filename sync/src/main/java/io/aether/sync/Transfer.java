package io.aether.sync;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The two halves of moving history between stores, shared by the server and the client.
 *
 * <p>{@link #closure}: which objects a receiver needs for some commits given commits it already
 * has; {@link #newCommits}: the commits alone, children before parents. {@link #validate} and
 * {@link #promote}: on the receiving side, objects arrive in a holding area (a client's
 * {@code incoming/}, a server's per-client {@code staging/} area; kept across interrupted
 * transfers, so a retry moves only what is still missing); before any ref moves, everything a
 * new commit reaches must be present, well-formed, hash-correct and signed by trusted keys, and
 * only then are the held objects moved into {@code objects/}, leaves first, so {@code objects/}
 * never holds an object whose references are absent.
 */
final class Transfer {

    private Transfer() {
    }

    /**
     * Ids reachable from {@code wants} that are not reachable from {@code haves} (haves this store
     * does not know are ignored), commits first, chunks last. Chunks are listed from manifests,
     * not read.
     */
    static List<ObjectId> closure(Repository repo, Collection<ObjectId> wants, Collection<ObjectId> haves) throws IOException {
        Set<ObjectId> excluded = new HashSet<>();
        List<ObjectId> knownHaves = new ArrayList<>();
        for (ObjectId h : haves) {
            if (repo.objects.has(h)) {
                knownHaves.add(h);
            }
        }
        walk(repo, knownHaves, Set.of(), excluded, true);
        Set<ObjectId> out = new LinkedHashSet<>();
        walk(repo, wants, excluded, out, false);
        return new ArrayList<>(out);
    }

    /** Adds to {@code into} everything reachable from {@code tips} and not in {@code stop}. */
    private static void walk(Repository repo, Collection<ObjectId> tips, Set<ObjectId> stop, Set<ObjectId> into,
                             boolean stopAtMissingParents) throws IOException {
        List<ObjectId> commits = new ArrayList<>();
        List<ObjectId> trees = new ArrayList<>();
        List<ObjectId> files = new ArrayList<>();
        List<ObjectId> chunks = new ArrayList<>();
        Set<ObjectId> seen = new HashSet<>();
        Deque<ObjectId> todo = new ArrayDeque<>(tips);
        while (!todo.isEmpty()) {
            ObjectId c = todo.poll();
            if (stop.contains(c) || !seen.add(c)) {
                continue;
            }
            if (stopAtMissingParents && !repo.objects.has(c)) {
                continue;
            }
            Commit commit = Codec.decodeCommit(c, repo.objects.read(c)).commit();
            commits.add(c);
            todo.addAll(commit.parents());
            if (!stop.contains(commit.tree()) && seen.add(commit.tree())) {
                trees.add(commit.tree());
                for (FileEntry f : repo.tree(commit.tree())) {
                    if (!stop.contains(f.manifest()) && seen.add(f.manifest())) {
                        files.add(f.manifest());
                        for (Codec.ChunkRef ch : repo.manifest(f.manifest()).chunks()) {
                            if (!stop.contains(ch.id()) && seen.add(ch.id())) {
                                chunks.add(ch.id());
                            }
                        }
                    }
                }
            }
        }
        into.addAll(commits);
        into.addAll(trees);
        into.addAll(files);
        into.addAll(chunks);
    }

    /**
     * The commits reachable from {@code wants} and not from the {@code haves} this store knows,
     * in breadth-first order from the wants: every commit comes after one of its children.
     */
    static List<ObjectId> newCommits(Repository repo, Collection<ObjectId> wants, Collection<ObjectId> haves) throws IOException {
        Set<ObjectId> known = new HashSet<>();
        Deque<ObjectId> todo = new ArrayDeque<>();
        for (ObjectId h : haves) {
            if (repo.objects.has(h)) {
                todo.add(h);
            }
        }
        while (!todo.isEmpty()) {
            ObjectId c = todo.poll();
            if (known.add(c)) {
                todo.addAll(repo.commit(c).parents());
            }
        }
        List<ObjectId> out = new ArrayList<>();
        Set<ObjectId> seen = new HashSet<>(known);
        todo.addAll(wants);
        while (!todo.isEmpty()) {
            ObjectId c = todo.poll();
            if (seen.add(c)) {
                out.add(c);
                todo.addAll(repo.commit(c).parents());
            }
        }
        return out;
    }

    /**
     * What {@link #validate} found: the held objects a new tip needs, by kind, and the parents of
     * its new commits.
     */
    record Validated(ObjectStore source, Map<ObjectKind, List<ObjectId>> found, Map<ObjectId, List<ObjectId>> commitParents) {

        /** Loads commits of this history, new or already in the store, for ancestry questions. */
        History.Loader loader(Repository repo) {
            return id -> {
                List<ObjectId> parents = commitParents.get(id);
                return parents == null ? repo.commit(id) : repo.verifiedCommit(id, source.read(id));
            };
        }
    }

    /** Checks everything {@code tip} reaches in {@code incoming/} and promotes it; see {@link #validate}. */
    static int validateAndPromote(Repository repo, ObjectId tip, Progress progress) throws IOException {
        return promote(repo, validate(repo, repo.incoming, tip, progress));
    }

    /**
     * Checks everything {@code tip} reaches that {@code objects/} lacks: present in
     * {@code source}, of the kind and size its referrer says, well-formed, and every commit
     * signed by a trusted key (see the class comment). Throws, changing nothing, on a missing,
     * corrupt or unverifiable object.
     */
    static Validated validate(Repository repo, ObjectStore source, ObjectId tip, Progress progress) throws IOException {
        record Want(ObjectId id, ObjectKind kind, long size, String where) {
        }
        Map<ObjectKind, List<ObjectId>> found = new HashMap<>();
        for (ObjectKind k : ObjectKind.values()) {
            found.put(k, new ArrayList<>());
        }
        Map<ObjectId, List<ObjectId>> commitParents = new HashMap<>();
        Set<ObjectId> seen = new HashSet<>();
        Deque<Want> todo = new ArrayDeque<>();
        todo.add(new Want(tip, ObjectKind.COMMIT, -1, "the new tip"));
        long checked = 0;
        while (!todo.isEmpty()) {
            Want w = todo.poll();
            if (!seen.add(w.id)) {
                continue;
            }
            // Everything in objects/ arrived complete and verified (this method's invariant).
            if (repo.objects.has(w.id)) {
                continue;
            }
            byte[] enc = source.readIfPresent(w.id);
            if (enc == null) {
                throw new RepositoryException("incomplete transfer: object " + w.id.hex() + " (" + w.kind.label() + " of "
                        + w.where + ") is missing; run the command again to resume");
            }
            ObjectKind kind = Codec.kindOf(w.id, enc);
            if (kind != w.kind) {
                throw new CorruptObjectException(w.id, "object " + w.id.hex() + " is a " + kind.label() + " but "
                        + w.where + " needs a " + w.kind.label());
            }
            switch (kind) {
                case COMMIT -> {
                    Commit c = repo.verifiedCommit(w.id, enc);
                    commitParents.put(w.id, c.parents());
                    todo.add(new Want(c.tree(), ObjectKind.TREE, -1, "commit " + w.id.shortHex()));
                    for (ObjectId p : c.parents()) {
                        todo.add(new Want(p, ObjectKind.COMMIT, -1, "commit " + w.id.shortHex()));
                    }
                }
                case TREE -> {
                    for (FileEntry f : Codec.decodeTree(w.id, enc)) {
                        todo.add(new Want(f.manifest(), ObjectKind.FILE, f.size(), "file '" + f.path() + "'"));
                    }
                }
                case FILE -> {
                    Codec.Manifest m = Codec.decodeManifest(w.id, enc);
                    if (w.size >= 0 && m.size() != w.size) {
                        throw new CorruptObjectException(w.id, "manifest " + w.id.hex() + " of " + w.where + " describes "
                                + m.size() + " bytes, the tree says " + w.size);
                    }
                    for (Codec.ChunkRef ch : m.chunks()) {
                        todo.add(new Want(ch.id(), ObjectKind.CHUNK, ch.length(), w.where));
                    }
                }
                case CHUNK -> {
                    if (enc.length - 1 != w.size) {
                        throw new CorruptObjectException(w.id, "chunk " + w.id.hex() + " of " + w.where + " has "
                                + (enc.length - 1) + " bytes, the manifest says " + w.size);
                    }
                }
            }
            found.get(kind).add(w.id);
            if (++checked % 256 == 0) {
                progress.update("verifying", checked, checked + todo.size(), 0);
            }
        }
        return new Validated(source, found, commitParents);
    }

    /** Moves what {@link #validate} found into {@code objects/}, leaves first; returns how many objects moved. */
    static int promote(Repository repo, Validated v) throws IOException {
        int moved = 0;
        for (ObjectKind k : List.of(ObjectKind.CHUNK, ObjectKind.FILE, ObjectKind.TREE)) {
            for (ObjectId id : v.found().get(k)) {
                v.source().moveTo(id, repo.objects);
                moved++;
            }
        }
        for (ObjectId c : parentsFirst(v.commitParents())) {
            v.source().moveTo(c, repo.objects);
            moved++;
        }
        repo.objects.sync();
        return moved;
    }

    /** The new commits ordered so that each comes after its new parents. */
    private static List<ObjectId> parentsFirst(Map<ObjectId, List<ObjectId>> parents) {
        List<ObjectId> order = new ArrayList<>();
        Set<ObjectId> done = new HashSet<>();
        for (ObjectId start : parents.keySet()) {
            Deque<ObjectId> stack = new ArrayDeque<>();
            Deque<Boolean> expanded = new ArrayDeque<>();
            stack.push(start);
            expanded.push(false);
            while (!stack.isEmpty()) {
                ObjectId c = stack.pop();
                boolean ex = expanded.pop();
                if (done.contains(c)) {
                    continue;
                }
                if (ex) {
                    done.add(c);
                    order.add(c);
                    continue;
                }
                stack.push(c);
                expanded.push(true);
                for (ObjectId p : parents.get(c)) {
                    if (parents.containsKey(p) && !done.contains(p)) {
                        stack.push(p);
                        expanded.push(false);
                    }
                }
            }
        }
        return order;
    }

    /** The ids held neither in {@code objects/} nor in {@code held}. */
    static List<ObjectId> missing(Repository repo, ObjectStore held, Collection<ObjectId> ids) {
        List<ObjectId> out = new ArrayList<>();
        for (ObjectId id : new LinkedHashSet<>(ids)) {
            if (!repo.objects.has(id) && !held.has(id)) {
                out.add(id);
            }
        }
        return out;
    }

}
