package io.aether.sync;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributeView;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;

/**
 * The working directory side of a repository: staging files, computing status, and writing a
 * tree's files back (checkout, merge, rollback). Symbolic links in the working directory are
 * not tracked, and files are never written through one.
 */
final class WorkTree {

    /** A file whose mtime is this close to the index's own may have changed unseen: re-hash it. */
    private static final long RACY_MILLIS = 2000;

    private final Repository repo;
    private final Path root;

    WorkTree(Repository repo) {
        this.repo = repo;
        this.root = repo.requireWorkDir("this command");
    }

    // ------------------------------------------------------------------ add

    /** Stages {@code args}; returns how the staging area changed, sorted by path. */
    List<Status.Change> add(List<String> args) throws IOException {
        if (args.isEmpty()) {
            throw new IllegalArgumentException("nothing to add: name files or directories ('.' for everything)");
        }
        Index idx = Index.read(repo.indexFile());
        Map<String, ObjectId> before = new HashMap<>();
        idx.entries().values().forEach(e -> before.put(e.path(), e.manifest()));
        long indexTime = indexTime();
        for (String arg : args) {
            String rel = relative(arg);
            Path abs = rel.isEmpty() ? root : root.resolve(rel);
            if (rel.isEmpty() || Files.isDirectory(abs, LinkOption.NOFOLLOW_LINKS)) {
                Set<String> present = new TreeSet<>(listFiles(rel));
                for (String p : new ArrayList<>(idx.entries().keySet())) {
                    if (under(p, rel) && !present.contains(p)) {
                        idx.remove(p);
                    }
                }
                for (String p : present) {
                    stage(idx, p, indexTime);
                }
            } else if (Files.isRegularFile(abs, LinkOption.NOFOLLOW_LINKS)) {
                Paths.requireValid(rel);
                stage(idx, rel, indexTime);
            } else if (!Files.exists(abs, LinkOption.NOFOLLOW_LINKS)) {
                boolean any = false;
                for (String p : new ArrayList<>(idx.entries().keySet())) {
                    if (p.equals(rel) || under(p, rel)) {
                        idx.remove(p);
                        any = true;
                    }
                }
                if (!any) {
                    throw new RepositoryException("'" + rel + "' matches no file");
                }
            } else {
                throw new RepositoryException("'" + rel + "' is not a regular file (symbolic links and devices are not tracked)");
            }
        }
        repo.objects.sync();
        idx.write(repo.indexFile(), repo.tmpDir());
        return changes(before, idx);
    }

    /** How the staging area went from {@code before} to {@code after}. */
    private static List<Status.Change> changes(Map<String, ObjectId> before, Index after) {
        List<Status.Change> out = new ArrayList<>();
        Set<String> paths = new TreeSet<>(before.keySet());
        paths.addAll(after.entries().keySet());
        for (String p : paths) {
            ObjectId was = before.get(p);
            Index.Entry now = after.entries().get(p);
            if (now == null) {
                out.add(new Status.Change(p, Status.Kind.DELETED));
            } else if (was == null) {
                out.add(new Status.Change(p, Status.Kind.ADDED));
            } else if (!was.equals(now.manifest())) {
                out.add(new Status.Change(p, Status.Kind.MODIFIED));
            }
        }
        return out;
    }

    private void stage(Index idx, String rel, long indexTime) throws IOException {
        Path abs = root.resolve(rel);
        BasicFileAttributes a = Files.readAttributes(abs, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        Index.Entry e = idx.entries().get(rel);
        if (e != null && statClean(e, a, indexTime)) {
            return;
        }
        long[] size = new long[1];
        ObjectId m;
        try (InputStream in = Files.newInputStream(abs)) {
            m = repo.storeFileBytes(in, size);
        }
        idx.put(new Index.Entry(rel, m, size[0], a.lastModifiedTime().toMillis()));
    }

    private long indexTime() throws IOException {
        try {
            return Files.getLastModifiedTime(repo.indexFile()).toMillis();
        } catch (NoSuchFileException e) {
            return Long.MIN_VALUE;
        }
    }

    private static boolean statClean(Index.Entry e, BasicFileAttributes a, long indexTime) {
        long mtime = a.lastModifiedTime().toMillis();
        return e.size() == a.size() && e.mtimeMillis() == mtime && indexTime != Long.MIN_VALUE
                && mtime < indexTime - RACY_MILLIS;
    }

    /** A user's path argument as a repository path ("" for the root). */
    String relative(String arg) {
        Path p = Path.of(arg);
        Path abs = (p.isAbsolute() ? p : root.resolve(p)).normalize();
        if (!abs.startsWith(root)) {
            throw new RepositoryException("'" + arg + "' is outside the repository " + root);
        }
        String rel = root.relativize(abs).toString().replace(java.io.File.separatorChar, '/');
        if (rel.equals(Paths.STORE_DIR) || rel.startsWith(Paths.STORE_DIR + "/")) {
            throw new RepositoryException("'" + arg + "' is inside the repository's own " + Paths.STORE_DIR + " directory");
        }
        return rel;
    }

    private static boolean under(String path, String dir) {
        return dir.isEmpty() || path.startsWith(dir + "/");
    }

    /** Regular files under {@code rel} (the whole tree for ""), skipping the store and symlinks. */
    List<String> listFiles(String rel) throws IOException {
        List<String> out = new ArrayList<>();
        Path start = rel.isEmpty() ? root : root.resolve(rel);
        if (!Files.isDirectory(start, LinkOption.NOFOLLOW_LINKS)) {
            return out;
        }
        Files.walkFileTree(start, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
                return dir.equals(root.resolve(Paths.STORE_DIR)) ? FileVisitResult.SKIP_SUBTREE : FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                if (attrs.isRegularFile()) {
                    String p = root.relativize(file).toString().replace(java.io.File.separatorChar, '/');
                    if (Paths.problem(p) == null) {
                        out.add(p);
                    }
                }
                return FileVisitResult.CONTINUE;
            }
        });
        out.sort(null);
        return out;
    }

    // ------------------------------------------------------------------ status

    Status status() throws IOException {
        Optional<ObjectId> head = repo.head();
        Map<String, ObjectId> headTree = new HashMap<>();
        if (head.isPresent()) {
            for (FileEntry f : repo.files(head.get())) {
                headTree.put(f.path(), f.manifest());
            }
        }
        Index idx = Index.read(repo.indexFile());
        long indexTime = indexTime();
        List<Status.Change> staged = new ArrayList<>();
        for (Index.Entry e : idx.entries().values()) {
            ObjectId h = headTree.get(e.path());
            if (h == null) {
                staged.add(new Status.Change(e.path(), Status.Kind.ADDED));
            } else if (!h.equals(e.manifest())) {
                staged.add(new Status.Change(e.path(), Status.Kind.MODIFIED));
            }
        }
        for (String p : new TreeSet<>(headTree.keySet())) {
            if (!idx.entries().containsKey(p)) {
                staged.add(new Status.Change(p, Status.Kind.DELETED));
            }
        }
        staged.sort((a, b) -> a.path().compareTo(b.path()));
        List<Status.Change> unstaged = new ArrayList<>();
        List<String> untracked = new ArrayList<>();
        Set<String> working = new HashSet<>(listFiles(""));
        for (Index.Entry e : idx.entries().values()) {
            if (!working.contains(e.path())) {
                unstaged.add(new Status.Change(e.path(), Status.Kind.DELETED));
            } else if (!sameContent(e, indexTime)) {
                unstaged.add(new Status.Change(e.path(), Status.Kind.MODIFIED));
            }
        }
        for (String p : new TreeSet<>(working)) {
            if (!idx.entries().containsKey(p)) {
                untracked.add(p);
            }
        }
        MergeState ms = MergeState.read(repo);
        return new Status(repo.currentBranch().orElse(null), head.orElse(null), staged, unstaged, untracked,
                ms == null ? Map.of() : ms.conflicts(), ms != null);
    }

    private boolean sameContent(Index.Entry e, long indexTime) throws IOException {
        Path abs = root.resolve(e.path());
        BasicFileAttributes a = Files.readAttributes(abs, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        if (statClean(e, a, indexTime)) {
            return true;
        }
        return a.size() == e.size() && hashFile(abs).equals(e.manifest());
    }

    /** The manifest id a file would get, computed without storing anything. */
    static ObjectId hashFile(Path file) throws IOException {
        return manifestOf(file).id;
    }

    /** A file's manifest computed in memory: its id and chunk list. */
    record Hashed(ObjectId id, Codec.Manifest manifest) {
    }

    static Hashed manifestOf(Path file) throws IOException {
        List<Codec.ChunkRef> chunks = new ArrayList<>();
        long[] size = {0};
        MessageDigest md = ObjectId.sha256();
        byte[] tag = {(byte) ObjectKind.CHUNK.tag};
        try (InputStream in = Files.newInputStream(file)) {
            Chunker.split(in, (buf, off, len) -> {
                md.update(tag);
                md.update(buf, off, len);
                chunks.add(new Codec.ChunkRef(ObjectId.ofBytes(md.digest(), 0), len));
                size[0] += len;
            });
        }
        Codec.Manifest m = new Codec.Manifest(size[0], chunks);
        return new Hashed(ObjectId.hash(Codec.encodeManifest(m)), m);
    }

    // ------------------------------------------------------------------ writing trees back

    /**
     * Makes the working directory and the index hold {@code target}. Unless {@code force}, refuses
     * when tracked files have changes or an untracked file would be overwritten.
     */
    void switchTo(List<FileEntry> target, boolean force) throws IOException {
        if (!force) {
            Status st = status();
            if (!st.clean()) {
                throw new RepositoryException("uncommitted changes: " + st.describeChanges()
                        + "; commit them first (or use --force to discard them)");
            }
            Set<String> untracked = new HashSet<>(st.untracked());
            for (FileEntry f : target) {
                if (untracked.contains(f.path()) && !hashFile(root.resolve(f.path())).equals(f.manifest())) {
                    throw new RepositoryException("untracked file '" + f.path() + "' would be overwritten; move it away first (or use --force)");
                }
            }
        }
        materialize(Index.read(repo.indexFile()), target);
    }

    /** Writes {@code target}'s files (those that differ), deletes the old index's files that are gone, rewrites the index. */
    void materialize(Index old, List<FileEntry> target) throws IOException {
        Map<String, FileEntry> want = new HashMap<>();
        for (FileEntry f : target) {
            want.put(f.path(), f);
        }
        for (String p : old.entries().keySet()) {
            if (!want.containsKey(p)) {
                Path abs = safePath(p);
                Files.deleteIfExists(abs);
                pruneEmptyParents(abs.getParent());
            }
        }
        long indexTime = indexTime();
        Index fresh = new Index();
        for (FileEntry f : target) {
            Path abs = safePath(f.path());
            Index.Entry prev = old.entries().get(f.path());
            boolean same = false;
            if (Files.isRegularFile(abs, LinkOption.NOFOLLOW_LINKS)) {
                BasicFileAttributes a = Files.readAttributes(abs, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                if (prev != null && prev.manifest().equals(f.manifest()) && statClean(prev, a, indexTime)) {
                    same = true;
                } else if (a.size() == f.size()) {
                    same = hashFile(abs).equals(f.manifest());
                }
            }
            if (!same) {
                writeFile(f.path(), f.manifest());
            }
            BasicFileAttributes a = Files.readAttributes(abs, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            fresh.put(new Index.Entry(f.path(), f.manifest(), a.size(), a.lastModifiedTime().toMillis()));
        }
        fresh.write(repo.indexFile(), repo.tmpDir());
    }

    /** Writes the file with manifest {@code manifest} to {@code path}: temp file, sync, rename. */
    void writeFile(String path, ObjectId manifest) throws IOException {
        publish(path, ch -> {
            try (InputStream in = repo.openManifest(manifest)) {
                byte[] buf = new byte[1 << 16];
                int n;
                while ((n = in.read(buf)) > 0) {
                    writeFully(ch, ByteBuffer.wrap(buf, 0, n));
                }
            }
        });
    }

    /** Writes raw bytes (merge results with conflict markers) to {@code path}. */
    void writeBytes(String path, byte[] data) throws IOException {
        publish(path, ch -> writeFully(ch, ByteBuffer.wrap(data)));
    }

    private static void writeFully(FileChannel ch, ByteBuffer bb) throws IOException {
        while (bb.hasRemaining()) {
            ch.write(bb);
        }
    }

    /** Fills a working file's new content. */
    @FunctionalInterface
    private interface Content {
        void writeTo(FileChannel ch) throws IOException;
    }

    /**
     * Writes {@code path} through a temp file: filled, synced, then renamed over it. Trees record
     * no file modes, so the file gets the mode the user's umask gives a new file (0644 under the
     * usual 022), or keeps the mode of the file it replaces (an executable stays executable).
     */
    private void publish(String path, Content content) throws IOException {
        Path abs = safePath(path);
        makeDirectories(abs.getParent(), path);
        // Not Files.createTempFile: it makes files 0600 whatever the umask.
        Path tmp = repo.tmpDir().resolve("co-" + UUID.randomUUID() + ".tmp");
        Files.createDirectories(tmp.getParent());
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                content.writeTo(ch);
                ch.force(true);
            }
            if (Files.isDirectory(abs, LinkOption.NOFOLLOW_LINKS)) {
                throw new RepositoryException("cannot write '" + path + "': a directory is in the way");
            }
            keepMode(abs, tmp);
            AtomicFiles.publish(tmp, abs);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Gives {@code replacement} the permissions of the regular file {@code existing}, if there is one. */
    private static void keepMode(Path existing, Path replacement) throws IOException {
        PosixFileAttributeView view = Files.getFileAttributeView(existing, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
        if (view == null || !Files.isRegularFile(existing, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try {
            Files.setPosixFilePermissions(replacement, view.readAttributes().permissions());
        } catch (NoSuchFileException e) {
            // Deleted meanwhile: the new file keeps the umask's mode.
        }
    }

    void deleteFile(String path) throws IOException {
        Path abs = safePath(path);
        Files.deleteIfExists(abs);
        pruneEmptyParents(abs.getParent());
    }

    private void makeDirectories(Path dir, String path) throws IOException {
        for (Path p = dir; p != null && p.startsWith(root) && !p.equals(root); p = p.getParent()) {
            if (Files.exists(p, LinkOption.NOFOLLOW_LINKS) && !Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                throw new RepositoryException("cannot write '" + path + "': '" + root.relativize(p) + "' is a file, not a directory");
            }
        }
        Files.createDirectories(dir);
    }

    /** The absolute path of {@code rel}, refusing to go through a symbolic link. */
    Path safePath(String rel) {
        Paths.requireValid(rel);
        Path abs = root.resolve(rel).normalize();
        if (!abs.startsWith(root) || abs.equals(root)) {
            throw new RepositoryException("path '" + rel + "' escapes the working directory");
        }
        for (Path p = abs.getParent(); p != null && !p.equals(root); p = p.getParent()) {
            if (Files.isSymbolicLink(p)) {
                throw new RepositoryException("refusing to write '" + rel + "': '" + root.relativize(p) + "' is a symbolic link");
            }
        }
        return abs;
    }

    private void pruneEmptyParents(Path dir) throws IOException {
        for (Path p = dir; p != null && p.startsWith(root) && !p.equals(root); p = p.getParent()) {
            try {
                Files.deleteIfExists(p);
            } catch (DirectoryNotEmptyException e) {
                return;
            }
        }
    }
}
