package io.aether.sync;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Verifies a whole repository and reports every problem rather than the first: each object in
 * {@code objects/} is read back, re-hashed and decoded, each commit's signature is verified
 * against the trust store, each ref must be readable, and everything a ref (or the index)
 * reaches must be present and of the kind and size that what names it says. Reading a file or
 * fetching checks only what it touches; this is the check of everything at rest.
 */
final class Fsck {

    /**
     * A reference to an object, with what the referrer says it is.
     *
     * @param size     the size the referrer gives it (chunk length, file size), or -1 for none
     * @param referrer who names it, for messages: "tree 1a2b3c4d5e6f7a8b", "refs/heads/main"
     * @param as       what the referrer names it as: "the file 'a.txt'", "a parent", "its commit"
     */
    private record Edge(ObjectId target, ObjectKind kind, long size, String referrer, String as) {
    }

    /** An object as found in the store: its kind and size, what it names, or why it is unusable. */
    private record Found(ObjectKind kind, long size, List<Edge> edges, String problem) {
    }

    private final Repository repo;
    private final Map<ObjectId, Found> found = new HashMap<>();
    private final List<FsckResult.Problem> problems = new ArrayList<>();
    private final Set<ObjectId> reported = new HashSet<>();
    private long commits;

    Fsck(Repository repo) {
        this.repo = repo;
    }

    FsckResult run() throws IOException {
        for (ObjectId id : repo.objects.list()) {
            found.put(id, check(id));
        }
        Map<String, List<Edge>> roots = roots();
        Set<ObjectId> reached = new HashSet<>();
        roots.forEach((ref, edges) -> walk(ref, edges, reached));
        found.forEach((id, f) -> {
            if (f.problem() != null && !reached.contains(id)) {
                report(id, null, f.problem());
            }
        });
        return new FsckResult(found.size(), commits, roots.size(), problems);
    }

    /** Reads, re-hashes and decodes one stored object; a commit's signature is verified. */
    private Found check(ObjectId id) {
        try {
            byte[] enc = repo.objects.read(id);
            ObjectKind kind = Codec.kindOf(id, enc);
            String self = label(kind) + " " + id.shortHex();
            List<Edge> edges = new ArrayList<>();
            long size = 0;
            switch (kind) {
                case CHUNK -> size = enc.length - 1;
                case FILE -> {
                    Codec.Manifest m = Codec.decodeManifest(id, enc);
                    size = m.size();
                    m.chunks().forEach(c -> edges.add(new Edge(c.id(), ObjectKind.CHUNK, c.length(), self, "a chunk")));
                }
                case TREE -> Codec.decodeTree(id, enc).forEach(f ->
                        edges.add(new Edge(f.manifest(), ObjectKind.FILE, f.size(), self, "the file '" + f.path() + "'")));
                case COMMIT -> {
                    Commit c = repo.verifiedCommit(id, enc);
                    commits++;
                    edges.add(new Edge(c.tree(), ObjectKind.TREE, -1, self, "its tree"));
                    c.parents().forEach(p -> edges.add(new Edge(p, ObjectKind.COMMIT, -1, self, "a parent")));
                }
            }
            return new Found(kind, size, edges, null);
        } catch (RepositoryException e) {
            return new Found(null, -1, List.of(), e.getMessage());
        } catch (IOException e) {
            return new Found(null, -1, List.of(), "object " + id.hex() + " cannot be read: " + e.getMessage());
        }
    }

    /** What each ref names, by ref; an unreadable ref is reported and left out. */
    private Map<String, List<Edge>> roots() {
        Map<String, List<Edge>> roots = new LinkedHashMap<>();
        try {
            switch (repo.refs.head()) {
                case Refs.Head.Detached d -> roots.put("HEAD", commitEdge(d.commit(), "HEAD"));
                case Refs.Head.OnBranch b -> {
                    // An unborn branch (no commits yet) is fine; an existing one is checked below.
                }
            }
        } catch (IOException | RepositoryException | IllegalArgumentException e) {
            reportRef("HEAD", e);
        }
        for (String name : refNames()) {
            readRef(roots, name, () -> repo.refs.read(name));
        }
        for (String special : List.of("FETCH_HEAD", "MERGE_HEAD")) {
            readRef(roots, special, () -> repo.refs.readSpecial(special));
        }
        if (Files.exists(repo.indexFile())) {
            try {
                List<Edge> staged = new ArrayList<>();
                for (Index.Entry e : Index.read(repo.indexFile()).entries().values()) {
                    staged.add(new Edge(e.manifest(), ObjectKind.FILE, e.size(), "the index", "the file '" + e.path() + "'"));
                }
                roots.put("the index", staged);
            } catch (IOException | RepositoryException e) {
                reportRef("the index", e);
            }
        }
        return roots;
    }

    @FunctionalInterface
    private interface RefReader {
        Optional<ObjectId> read() throws IOException;
    }

    private void readRef(Map<String, List<Edge>> roots, String name, RefReader reader) {
        try {
            reader.read().ifPresent(id -> roots.put(name, commitEdge(id, name)));
        } catch (IOException | RepositoryException e) {
            reportRef(name, e);
        }
    }

    private static List<Edge> commitEdge(ObjectId id, String ref) {
        return List.of(new Edge(id, ObjectKind.COMMIT, -1, ref, "its commit"));
    }

    private void reportRef(String ref, Exception e) {
        String m = e.getMessage() != null ? e.getMessage() : e.toString();
        problems.add(new FsckResult.Problem(null, ref, m.contains(ref) ? m : ref + " is unreadable: " + m));
    }

    /** Full names of the files under refs/heads and refs/tags (lock and temp files aside). */
    private List<String> refNames() {
        List<String> names = new ArrayList<>();
        for (String prefix : List.of(Refs.HEADS, Refs.TAGS)) {
            Path dir = repo.storeDir().resolve(prefix);
            if (!Files.isDirectory(dir)) {
                continue;
            }
            try (Stream<Path> s = Files.walk(dir)) {
                s.filter(Files::isRegularFile).map(p -> prefix + dir.relativize(p).toString().replace('\\', '/'))
                        .filter(n -> !n.contains(".tmp") && !n.endsWith(".lock")).sorted().forEach(names::add);
            } catch (IOException e) {
                reportRef(prefix, e);
            }
        }
        return names;
    }

    /** Follows everything {@code ref} reaches, checking each reference against its target. */
    private void walk(String ref, List<Edge> start, Set<ObjectId> reached) {
        Deque<Edge> todo = new ArrayDeque<>(start);
        while (!todo.isEmpty()) {
            Edge e = todo.pop();
            Found f = found.get(e.target());
            if (f == null) {
                report(e.target(), ref, "object " + e.target().hex() + " is missing: " + e.referrer() + " names it as " + e.as());
                continue;
            }
            if (f.problem() != null) {
                reached.add(e.target());
                report(e.target(), ref, f.problem());
                continue;
            }
            if (f.kind() != e.kind()) {
                report(e.target(), ref, "object " + e.target().hex() + " is a " + label(f.kind()) + ", but "
                        + e.referrer() + " names it as " + e.as());
                continue;
            }
            if (e.size() >= 0 && f.size() != e.size()) {
                report(e.target(), ref, "object " + e.target().hex() + " holds " + f.size() + " bytes, but "
                        + e.referrer() + " names it as " + e.as() + " of " + e.size() + " bytes");
            }
            if (reached.add(e.target())) {
                f.edges().forEach(todo::push);
            }
        }
    }

    private static String label(ObjectKind kind) {
        return kind == ObjectKind.FILE ? "file manifest" : kind.label();
    }

    /** Records a problem once per object, with the first ref found to reach it. */
    private void report(ObjectId id, String ref, String message) {
        if (reported.add(id)) {
            problems.add(new FsckResult.Problem(id, ref, message));
        }
    }
}
