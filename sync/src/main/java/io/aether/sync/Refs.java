package io.aether.sync;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Branches, tags and HEAD as small files under the store directory: {@code refs/heads/NAME},
 * {@code refs/tags/NAME} hold a commit id; {@code HEAD} holds {@code ref: refs/heads/NAME} or a
 * commit id (detached). Every update replaces the file atomically; a compare-and-set holds the
 * store's {@code refs.lock}.
 */
final class Refs {

    static final String HEADS = "refs/heads/";
    static final String TAGS = "refs/tags/";
    static final String DEFAULT_BRANCH = "main";

    /** What HEAD names. */
    sealed interface Head {
        /** HEAD follows a branch (which may not exist yet: an unborn branch). */
        record OnBranch(String branch) implements Head {
        }

        /** HEAD is a commit, no branch. */
        record Detached(ObjectId commit) implements Head {
        }
    }

    private final Path store;
    private final Path tmp;

    Refs(Path store, Path tmp) {
        this.store = store;
        this.tmp = tmp;
    }

    /** Checks a branch or tag name; returns it. */
    static String checkName(String kind, String name) {
        String why = null;
        if (name == null || name.isEmpty()) {
            why = "empty";
        } else if (name.length() > 200) {
            why = "longer than 200 characters";
        } else {
            for (String seg : name.split("/", -1)) {
                if (seg.isEmpty() || seg.startsWith(".") || seg.startsWith("-") || seg.endsWith(".lock")
                        || !seg.matches("[A-Za-z0-9._+-]+") || seg.contains("..")) {
                    why = "segment '" + seg + "' is not allowed (use letters, digits, '.', '_', '+', '-', and '/' between segments)";
                    break;
                }
            }
            if (why == null && (name.equals("HEAD") || ObjectId.isHex(name) && name.length() >= 7)) {
                why = "it would be mistaken for HEAD or a commit id";
            }
        }
        if (why != null) {
            throw new IllegalArgumentException("bad " + kind + " name '" + name + "': " + why);
        }
        return name;
    }

    Optional<ObjectId> read(String fullName) throws IOException {
        return readIdFile(store.resolve(fullName), fullName);
    }

    /** All branches and tags by full name, sorted. */
    Map<String, ObjectId> all() throws IOException {
        Map<String, ObjectId> m = new TreeMap<>();
        for (String prefix : new String[] {HEADS, TAGS}) {
            Path dir = store.resolve(prefix);
            if (!Files.isDirectory(dir)) {
                continue;
            }
            try (Stream<Path> s = Files.walk(dir)) {
                for (Path p : (Iterable<Path>) s.filter(Files::isRegularFile)::iterator) {
                    String rel = dir.relativize(p).toString().replace('\\', '/');
                    if (rel.contains(".tmp") || rel.endsWith(".lock")) {
                        continue;
                    }
                    readIdFile(p, prefix + rel).ifPresent(id -> m.put(prefix + rel, id));
                }
            }
        }
        return m;
    }

    Head head() throws IOException {
        String s;
        try {
            s = Files.readString(store.resolve("HEAD"), StandardCharsets.UTF_8).strip();
        } catch (NoSuchFileException e) {
            return new Head.OnBranch(DEFAULT_BRANCH);
        }
        if (s.startsWith("ref: " + HEADS)) {
            return new Head.OnBranch(checkName("branch", s.substring(("ref: " + HEADS).length())));
        }
        if (ObjectId.isFullHex(s)) {
            return new Head.Detached(new ObjectId(s));
        }
        throw new RepositoryException("HEAD file " + store.resolve("HEAD") + " is corrupt: '" + s + "'");
    }

    void setHead(Head h) throws IOException {
        String s = switch (h) {
            case Head.OnBranch b -> "ref: " + HEADS + b.branch();
            case Head.Detached d -> d.commit().hex();
        };
        AtomicFiles.replace(tmp, store.resolve("HEAD"), (s + "\n").getBytes(StandardCharsets.UTF_8));
    }

    /** The commit HEAD points at, if any (empty for an unborn branch). */
    Optional<ObjectId> headCommit() throws IOException {
        return switch (head()) {
            case Head.OnBranch b -> read(HEADS + b.branch());
            case Head.Detached d -> Optional.of(d.commit());
        };
    }

    /**
     * Sets {@code fullName} to {@code next} (null deletes it) if it currently holds
     * {@code expected} (null: must not exist). Throws if another writer got there first.
     */
    void compareAndSet(String fullName, ObjectId expected, ObjectId next) throws IOException {
        try (RepoLock.Held _ = RepoLock.of(store.resolve("refs.lock")).exclusive()) {
            Optional<ObjectId> cur = read(fullName);
            if (!cur.equals(Optional.ofNullable(expected))) {
                throw new RepositoryException("ref " + fullName + " changed meanwhile (now "
                        + cur.map(ObjectId::hex).orElse("absent") + ", expected " + (expected == null ? "absent" : expected.hex()) + ")");
            }
            Path p = store.resolve(fullName);
            if (next == null) {
                Files.deleteIfExists(p);
                AtomicFiles.syncDirectory(p.getParent());
            } else {
                AtomicFiles.replace(tmp, p, (next.hex() + "\n").getBytes(StandardCharsets.US_ASCII));
            }
        }
    }

    /** Moves whatever HEAD points at (its branch, or HEAD itself when detached). */
    void advanceHead(ObjectId expected, ObjectId next) throws IOException {
        switch (head()) {
            case Head.OnBranch b -> compareAndSet(HEADS + b.branch(), expected, next);
            case Head.Detached d -> {
                if (!d.commit().equals(expected)) {
                    throw new RepositoryException("HEAD changed meanwhile");
                }
                setHead(new Head.Detached(next));
            }
        }
    }

    /** A one-id state file such as FETCH_HEAD or MERGE_HEAD. */
    Optional<ObjectId> readSpecial(String name) throws IOException {
        return readIdFile(store.resolve(name), name);
    }

    /** Sets (or, with null, removes) a state file; either change is durable when this returns. */
    void writeSpecial(String name, ObjectId id) throws IOException {
        Path p = store.resolve(name);
        if (id == null) {
            Files.deleteIfExists(p);
            AtomicFiles.syncDirectory(p.getParent());
        } else {
            AtomicFiles.replace(tmp, p, (id.hex() + "\n").getBytes(StandardCharsets.US_ASCII));
        }
    }

    private static Optional<ObjectId> readIdFile(Path p, String name) throws IOException {
        String s;
        try {
            s = Files.readString(p, StandardCharsets.US_ASCII).strip();
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
        if (!ObjectId.isFullHex(s)) {
            throw new RepositoryException("ref " + name + " (" + p + ") is corrupt: '" + s + "'");
        }
        return Optional.of(new ObjectId(s));
    }
}
