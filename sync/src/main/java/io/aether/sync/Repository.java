package io.aether.sync;

import io.aether.security.Identity;
import io.aether.security.Signatures;
import io.aether.security.TrustStore;
import io.aether.security.UntrustedKeyException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A content-addressed, signed model repository: a working directory with its store in
 * {@code .aether/}, or a bare store (what a server holds).
 *
 * <p>Reading: {@link #resolve} a ref to a commit, {@link #commit} it (hash and ML-DSA-65 signature
 * verified, author trusted), list its {@link #files}, {@link #readFile} one (every chunk verified).
 * Writing: {@link #add}, {@link #commit(String, Identity)}, {@link #checkout}, branches and tags,
 * {@link #merge}, {@link #rollback}, {@link #gc}. Transfers between repositories are in
 * {@link RemoteRepository} and {@link RepoServer}. Formats: sync/README.md.
 *
 * <p>Instances are cheap and hold no open files; several may use one store at a time, also from
 * several processes (refs are updated by compare-and-set under a lock file; gc excludes writers).
 */
public final class Repository {

    static final String FORMAT = "aether-repo 1";

    private final Path workDir;
    private final Path storeDir;
    private final Path tmpDir;
    final ObjectStore objects;
    final ObjectStore incoming;
    final Refs refs;
    private final TrustStore trust;
    private final Set<ObjectId> verifiedCommits = ConcurrentHashMap.newKeySet();

    private Repository(Path workDir, Path storeDir, TrustStore trust) {
        this.workDir = workDir;
        this.storeDir = storeDir;
        this.tmpDir = storeDir.resolve("tmp");
        this.objects = new ObjectStore(storeDir.resolve("objects"), tmpDir);
        this.incoming = new ObjectStore(storeDir.resolve("incoming"), tmpDir);
        this.refs = new Refs(storeDir, tmpDir);
        this.trust = trust;
    }

    // ------------------------------------------------------------------ opening

    /** Creates a repository whose store is {@code workDir/.aether}. */
    public static Repository init(Path workDir, TrustStore trust) throws IOException {
        Path wd = workDir.toAbsolutePath().normalize();
        Files.createDirectories(wd);
        return create(wd, wd.resolve(Paths.STORE_DIR), trust);
    }

    /** Creates a bare repository (a store with no working directory) in {@code dir}. */
    public static Repository initBare(Path dir, TrustStore trust) throws IOException {
        Path d = dir.toAbsolutePath().normalize();
        if (Files.isDirectory(d)) {
            try (var s = Files.list(d)) {
                if (s.findAny().isPresent()) {
                    throw new FileAlreadyExistsException(d.toString(), null, "directory is not empty; a bare repository needs an empty or new one");
                }
            }
        }
        return create(null, d, trust);
    }

    private static Repository create(Path workDir, Path store, TrustStore trust) throws IOException {
        if (Files.exists(store.resolve("format"))) {
            throw new FileAlreadyExistsException(store.toString(), null, "already a repository");
        }
        for (String sub : new String[] {"objects", "incoming", "tmp", "refs/heads", "refs/tags"}) {
            Files.createDirectories(store.resolve(sub));
        }
        Repository r = new Repository(workDir, store, trust);
        r.refs.setHead(new Refs.Head.OnBranch(Refs.DEFAULT_BRANCH));
        AtomicFiles.replace(r.tmpDir, store.resolve("format"), (FORMAT + "\n").getBytes(StandardCharsets.US_ASCII));
        return r;
    }

    /**
     * Opens the repository in {@code dir} (a working directory holding {@code .aether/}, or a bare
     * store), verifying commits against {@code trust}.
     */
    public static Repository open(Path dir, TrustStore trust) throws IOException {
        Path d = dir.toAbsolutePath().normalize();
        if (Files.isRegularFile(d.resolve(Paths.STORE_DIR).resolve("format"))) {
            return checked(new Repository(d, d.resolve(Paths.STORE_DIR), trust));
        }
        if (Files.isRegularFile(d.resolve("format"))) {
            return checked(new Repository(null, d, trust));
        }
        throw new RepositoryException("not an aether repository: " + dir + " (create one with 'aether model init')");
    }

    /** Opens the repository containing {@code start} (it or its nearest ancestor with {@code .aether/}). */
    public static Repository find(Path start, TrustStore trust) throws IOException {
        Path d = start.toAbsolutePath().normalize();
        for (Path p = d; p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve(Paths.STORE_DIR).resolve("format"))) {
                return open(p, trust);
            }
        }
        return open(d, trust);
    }

    private static Repository checked(Repository r) throws IOException {
        String f = Files.readString(r.storeDir.resolve("format"), StandardCharsets.US_ASCII).strip();
        if (!f.equals(FORMAT)) {
            throw new RepositoryException("repository " + r.storeDir + " has format '" + f + "'; this version reads '" + FORMAT + "'");
        }
        return r;
    }

    /** The working directory, or null for a bare repository. */
    public Path workDir() {
        return workDir;
    }

    public boolean isBare() {
        return workDir == null;
    }

    /** The store directory ({@code .aether/} of a working directory, or the bare repository itself). */
    public Path storeDir() {
        return storeDir;
    }

    Path tmpDir() {
        return tmpDir;
    }

    Path indexFile() {
        return storeDir.resolve("index");
    }

    RepoLock.Held sharedLock() throws IOException {
        return RepoLock.of(storeDir.resolve("lock")).shared();
    }

    RepoLock.Held exclusiveLock() throws IOException {
        return RepoLock.of(storeDir.resolve("lock")).exclusive();
    }

    Path requireWorkDir(String operation) {
        if (workDir == null) {
            throw new RepositoryException(operation + " needs a working directory; " + storeDir + " is a bare repository");
        }
        return workDir;
    }

    // ------------------------------------------------------------------ refs

    /**
     * The commit {@code ref} names: {@code HEAD}, {@code FETCH_HEAD}, {@code MERGE_HEAD}, a
     * branch, a tag, a full name ({@code refs/heads/x}), a full id or a unique prefix of at least
     * 4 hex digits, each optionally followed by {@code ~N} (N first-parent steps back).
     */
    public ObjectId resolve(String ref) throws IOException {
        if (ref == null || ref.isBlank()) {
            throw new RefNotFoundException("empty ref");
        }
        int tilde = ref.lastIndexOf('~');
        if (tilde > 0) {
            String n = ref.substring(tilde + 1);
            int steps;
            try {
                steps = n.isEmpty() ? 1 : Integer.parseInt(n);
            } catch (NumberFormatException e) {
                throw new RefNotFoundException("bad ref '" + ref + "': expected REF~N with a number N");
            }
            ObjectId id = resolve(ref.substring(0, tilde));
            for (int i = 0; i < steps; i++) {
                List<ObjectId> parents = commit(id).parents();
                if (parents.isEmpty()) {
                    throw new RefNotFoundException("ref '" + ref + "': history has only " + i + " commit(s) before " + id.shortHex());
                }
                id = parents.get(0);
            }
            return id;
        }
        switch (ref) {
            case "HEAD" -> {
                Optional<ObjectId> head = refs.headCommit();
                if (head.isEmpty()) {
                    throw new RefNotFoundException("HEAD: branch '" + currentBranch().orElse("?") + "' has no commits yet");
                }
                return head.get();
            }
            case "FETCH_HEAD", "MERGE_HEAD" -> {
                return refs.readSpecial(ref).orElseThrow(() -> new RefNotFoundException(ref + " is not set"));
            }
            default -> {
            }
        }
        if (ref.startsWith("refs/")) {
            if (!ref.startsWith(Refs.HEADS) && !ref.startsWith(Refs.TAGS)) {
                throw new RefNotFoundException("unknown ref '" + ref + "'");
            }
            Refs.checkName("ref", ref.substring(ref.indexOf('/', 5) + 1));
            return refs.read(ref).orElseThrow(() -> new RefNotFoundException("unknown ref '" + ref + "'"));
        }
        if (isName(ref)) {
            Optional<ObjectId> b = refs.read(Refs.HEADS + ref);
            if (b.isPresent()) {
                return b.get();
            }
            Optional<ObjectId> t = refs.read(Refs.TAGS + ref);
            if (t.isPresent()) {
                return t.get();
            }
        }
        String lower = ref.toLowerCase(java.util.Locale.ROOT);
        if (ObjectId.isHex(lower) && lower.length() >= 4 && lower.length() <= 64) {
            List<ObjectId> found = findByPrefix(lower);
            if (found.size() == 1) {
                return found.get(0);
            }
            if (found.size() > 1) {
                throw new RefNotFoundException("ambiguous commit id prefix '" + ref + "': matches "
                        + found.stream().map(ObjectId::shortHex).toList());
            }
        }
        throw new RefNotFoundException("unknown ref '" + ref + "': no branch, tag or commit has that name");
    }

    private static boolean isName(String ref) {
        try {
            Refs.checkName("ref", ref);
            return true;
        } catch (IllegalArgumentException e) {
            // Long hex strings are not valid names but may still be commit ids.
            return false;
        }
    }

    /** Commit ids in the store starting with {@code prefix}. */
    private List<ObjectId> findByPrefix(String prefix) throws IOException {
        List<ObjectId> out = new ArrayList<>();
        Path fan = objects.dir().resolve(prefix.substring(0, 2));
        if (!Files.isDirectory(fan)) {
            return out;
        }
        String rest = prefix.substring(2);
        try (var s = Files.list(fan)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                String name = p.getFileName().toString();
                if (name.startsWith(rest) && ObjectId.isFullHex(prefix.substring(0, 2) + name)) {
                    ObjectId id = new ObjectId(prefix.substring(0, 2) + name);
                    byte[] enc = objects.read(id);
                    if (Codec.kindOf(id, enc) == ObjectKind.COMMIT) {
                        out.add(id);
                    }
                }
            }
        }
        return out;
    }

    /** The branch HEAD is on, or empty when HEAD is detached. */
    public Optional<String> currentBranch() throws IOException {
        return switch (refs.head()) {
            case Refs.Head.OnBranch b -> Optional.of(b.branch());
            case Refs.Head.Detached d -> Optional.empty();
        };
    }

    /** The commit HEAD names, or empty before the first commit. */
    public Optional<ObjectId> head() throws IOException {
        return refs.headCommit();
    }

    /** Branches by short name. */
    public Map<String, ObjectId> branches() throws IOException {
        return withPrefix(Refs.HEADS);
    }

    /** Tags by short name. */
    public Map<String, ObjectId> tags() throws IOException {
        return withPrefix(Refs.TAGS);
    }

    private Map<String, ObjectId> withPrefix(String prefix) throws IOException {
        Map<String, ObjectId> m = new LinkedHashMap<>();
        refs.all().forEach((k, v) -> {
            if (k.startsWith(prefix)) {
                m.put(k.substring(prefix.length()), v);
            }
        });
        return m;
    }

    /** Creates branch {@code name} at {@code startRef}. */
    public ObjectId createBranch(String name, String startRef) throws IOException {
        Refs.checkName("branch", name);
        ObjectId at = commit(resolve(startRef)).id();
        if (refs.read(Refs.HEADS + name).isPresent()) {
            throw new RepositoryException("branch '" + name + "' already exists");
        }
        refs.compareAndSet(Refs.HEADS + name, null, at);
        return at;
    }

    /** Deletes branch {@code name} (not the current one). */
    public void deleteBranch(String name) throws IOException {
        Refs.checkName("branch", name);
        if (currentBranch().filter(name::equals).isPresent()) {
            throw new RepositoryException("cannot delete branch '" + name + "': it is checked out");
        }
        ObjectId cur = refs.read(Refs.HEADS + name).orElseThrow(() -> new RefNotFoundException("no branch '" + name + "'"));
        refs.compareAndSet(Refs.HEADS + name, cur, null);
    }

    /** Creates tag {@code name} at {@code ref}; an existing tag is moved only with {@code force}. */
    public ObjectId createTag(String name, String ref, boolean force) throws IOException {
        Refs.checkName("tag", name);
        ObjectId at = commit(resolve(ref)).id();
        Optional<ObjectId> cur = refs.read(Refs.TAGS + name);
        if (cur.isPresent() && !force) {
            throw new RepositoryException("tag '" + name + "' already exists at " + cur.get().shortHex() + " (use --force to move it)");
        }
        refs.compareAndSet(Refs.TAGS + name, cur.orElse(null), at);
        return at;
    }

    public void deleteTag(String name) throws IOException {
        Refs.checkName("tag", name);
        ObjectId cur = refs.read(Refs.TAGS + name).orElseThrow(() -> new RefNotFoundException("no tag '" + name + "'"));
        refs.compareAndSet(Refs.TAGS + name, cur, null);
    }

    // ------------------------------------------------------------------ reading objects

    /** The commit {@code id}: hash checked, signature verified, author trusted. */
    public Commit commit(ObjectId id) throws IOException {
        return verifiedCommit(id, objects.read(id));
    }

    /** Decodes and verifies a commit's encoding (shared with transfers, which read from incoming). */
    Commit verifiedCommit(ObjectId id, byte[] enc) {
        Codec.SignedCommit sc = Codec.decodeCommit(id, enc);
        if (verifiedCommits.contains(id)) {
            return sc.commit();
        }
        PublicKey key;
        try {
            key = trust.require(sc.commit().author(), "author of commit " + id.shortHex());
        } catch (UntrustedKeyException e) {
            throw new VerificationException("commit " + id.hex() + " refused: " + e.getMessage(), e);
        }
        String bad = Signatures.problem(key, sc.signedBytes(), sc.signature());
        if (bad != null) {
            throw new VerificationException("commit " + id.hex() + " refused: " + bad + " (key "
                    + sc.commit().author().hex() + ")");
        }
        verifiedCommits.add(id);
        return sc.commit();
    }

    /** The files of a commit, sorted by path. */
    public List<FileEntry> files(ObjectId commit) throws IOException {
        return tree(commit(commit).tree());
    }

    List<FileEntry> tree(ObjectId treeId) throws IOException {
        return Codec.decodeTree(treeId, objects.read(treeId));
    }

    Codec.Manifest manifest(ObjectId id) throws IOException {
        return Codec.decodeManifest(id, objects.read(id));
    }

    /** The file at {@code path} in {@code commit}. */
    public FileEntry file(ObjectId commit, String path) throws IOException {
        for (FileEntry f : files(commit)) {
            if (f.path().equals(path)) {
                return f;
            }
        }
        throw new RepositoryException("no file '" + path + "' in commit " + commit.shortHex());
    }

    /** The bytes of {@code path} in {@code commit}, every chunk verified against its id. */
    public byte[] readFile(ObjectId commit, String path) throws IOException {
        FileEntry f = file(commit, path);
        if (f.size() > Integer.MAX_VALUE - 16) {
            throw new RepositoryException("file '" + path + "' is " + f.size() + " bytes, too large for one array; use openFile");
        }
        try (InputStream in = openManifest(f.manifest())) {
            return in.readAllBytes();
        }
    }

    /** A stream of the bytes of {@code path} in {@code commit}, each chunk verified as it is read. */
    public InputStream openFile(ObjectId commit, String path) throws IOException {
        return openManifest(file(commit, path).manifest());
    }

    InputStream openManifest(ObjectId manifestId) throws IOException {
        Codec.Manifest m = manifest(manifestId);
        return new ChunkInputStream(m);
    }

    /** Reads a file's chunks in order, checking each against its id and length. */
    private final class ChunkInputStream extends InputStream {
        private final Codec.Manifest manifest;
        private int next;
        private byte[] current = new byte[0];
        private int pos = 1;

        ChunkInputStream(Codec.Manifest manifest) {
            this.manifest = manifest;
        }

        private boolean fill() throws IOException {
            while (pos >= current.length) {
                if (next >= manifest.chunks().size()) {
                    return false;
                }
                Codec.ChunkRef c = manifest.chunks().get(next++);
                byte[] enc = objects.read(c.id());
                if (Codec.kindOf(c.id(), enc) != ObjectKind.CHUNK || enc.length - 1 != c.length()) {
                    throw new CorruptObjectException(c.id(), "object " + c.id().hex() + " is not a chunk of " + c.length() + " bytes");
                }
                current = enc;
                pos = 1;
            }
            return true;
        }

        @Override
        public int read() throws IOException {
            return fill() ? current[pos++] & 0xff : -1;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            if (!fill()) {
                return -1;
            }
            int n = Math.min(len, current.length - pos);
            System.arraycopy(current, pos, b, off, n);
            pos += n;
            return n;
        }
    }

    /** Commits reachable from {@code from}, newest first, at most {@code max}. */
    public List<Commit> log(ObjectId from, int max) throws IOException {
        List<Commit> out = new ArrayList<>();
        PriorityQueue<Commit> queue = new PriorityQueue<>(Comparator.comparing(Commit::time).reversed()
                .thenComparing(c -> c.id().hex()));
        Set<ObjectId> seen = new HashSet<>();
        queue.add(commit(from));
        seen.add(from);
        while (!queue.isEmpty() && out.size() < max) {
            Commit c = queue.poll();
            out.add(c);
            for (ObjectId p : c.parents()) {
                if (seen.add(p)) {
                    queue.add(commit(p));
                }
            }
        }
        return out;
    }

    /** Whether {@code ancestor} is {@code descendant} or reachable from it through parents. */
    boolean isAncestor(ObjectId ancestor, ObjectId descendant) throws IOException {
        return History.isAncestor(this::commit, ancestor, descendant);
    }

    // ------------------------------------------------------------------ writing

    /** Chunks written per group of overlapped fsyncs. */
    static final int WRITE_BATCH = 32;

    /** Stores {@code data} as one file: chunks and manifest. Returns the manifest's id. */
    ObjectId storeFileBytes(InputStream data, long[] sizeOut) throws IOException {
        List<Codec.ChunkRef> chunks = new ArrayList<>();
        List<byte[]> pending = new ArrayList<>();
        long[] size = {0};
        Chunker.split(data, (buf, off, len) -> {
            byte[] enc = Codec.encodeChunk(buf, off, len);
            chunks.add(new Codec.ChunkRef(ObjectId.hash(enc), len));
            pending.add(enc);
            size[0] += len;
            if (pending.size() == WRITE_BATCH) {
                objects.putAll(pending, null);
                pending.clear();
            }
        });
        objects.putAll(pending, null);
        if (sizeOut != null) {
            sizeOut[0] = size[0];
        }
        return objects.put(Codec.encodeManifest(new Codec.Manifest(size[0], chunks)));
    }

    /**
     * Stages files (paths relative to the working directory; a directory, including ".", stages
     * everything under it, and files that are gone from it are unstaged). Returns what changed in
     * the staging area, by path: files added, modified, or deleted (no longer staged).
     */
    public List<Status.Change> add(List<String> paths) throws IOException {
        try (RepoLock.Held _ = sharedLock()) {
            return new WorkTree(this).add(paths);
        }
    }

    /** What is staged, changed and untracked. */
    public Status status() throws IOException {
        return new WorkTree(this).status();
    }

    /**
     * Commits the staged tree, signed by {@code author}, and moves the current branch (or the
     * detached HEAD) to it. During a merge with every conflict resolved, the commit has two
     * parents.
     */
    public ObjectId commit(String message, Identity author) throws IOException {
        requireWorkDir("commit");
        if (message == null || message.isBlank()) {
            throw new IllegalArgumentException("empty commit message");
        }
        if (trust.find(author.keyId()).isEmpty()) {
            throw new VerificationException("your key " + author.keyId().hex() + " is not in the trust store, so its commits "
                    + "could not be read back; trust it with 'aether model trust <your .pub file>'");
        }
        try (RepoLock.Held _ = sharedLock()) {
            Index idx = Index.read(indexFile());
            Optional<ObjectId> head = refs.headCommit();
            List<ObjectId> parents = new ArrayList<>();
            head.ifPresent(parents::add);
            MergeState merge = MergeState.read(this);
            if (merge != null) {
                if (!merge.conflicts().isEmpty()) {
                    throw new RepositoryException("cannot commit: unresolved conflicts in " + merge.conflicts().keySet()
                            + " (use 'aether model resolve PATH --ours|--theirs|--file F')");
                }
                parents.add(merge.theirs());
            }
            ObjectId tree = objects.put(Codec.encodeTree(idx.tree()));
            if (merge == null && head.isPresent() && commit(head.get()).tree().equals(tree)) {
                throw new RepositoryException("nothing to commit: the staged files equal HEAD (stage changes with 'aether model add')");
            }
            ObjectId id = writeCommit(tree, parents, message, author);
            refs.advanceHead(head.orElse(null), id);
            if (merge != null) {
                MergeState.clear(this);
            }
            return id;
        }
    }

    /** Signs and stores a commit; syncs the store so a ref may point at it. */
    ObjectId writeCommit(ObjectId tree, List<ObjectId> parents, String message, Identity author) throws IOException {
        long now = Instant.now().toEpochMilli();
        byte[] body = Codec.commitBody(tree, parents, author.keyId(), now, message);
        byte[] enc = Codec.encodeCommit(body, author.sign(Codec.signedBytes(body)));
        ObjectId id = objects.put(enc);
        objects.sync();
        verifiedCommit(id, enc);
        return id;
    }

    /**
     * Switches to {@code ref}: restores its files in the working directory and points HEAD at
     * it (at the branch when {@code ref} is a branch name, else detached). Refuses when tracked
     * files have uncommitted changes or untracked files would be overwritten, unless {@code force}.
     */
    public void checkout(String ref, boolean force) throws IOException {
        requireWorkDir("checkout");
        try (RepoLock.Held _ = sharedLock()) {
            refuseDuringMerge();
            ObjectId target = resolve(ref);
            WorkTree wt = new WorkTree(this);
            wt.switchTo(tree(commit(target).tree()), force);
            boolean isBranch = isName(ref) && refs.read(Refs.HEADS + ref).isPresent();
            refs.setHead(isBranch ? new Refs.Head.OnBranch(ref) : new Refs.Head.Detached(target));
        }
    }

    private void refuseDuringMerge() throws IOException {
        if (MergeState.read(this) != null) {
            throw new RepositoryException("a merge is in progress: finish it with 'aether model commit' or 'aether model merge --abort'");
        }
    }

    /** Switches HEAD to a new branch at the current commit (the files stay as they are). */
    public void checkoutNewBranch(String name) throws IOException {
        checkoutNewBranch(name, null, false);
    }

    /**
     * Creates branch {@code name} at {@code startRef} (null: the current commit) and switches to
     * it. Starting elsewhere than HEAD restores that commit's files as {@link #checkout} does,
     * refusing to lose local changes unless {@code force}; nothing changes when it refuses.
     */
    public void checkoutNewBranch(String name, String startRef, boolean force) throws IOException {
        requireWorkDir("checkout");
        Refs.checkName("branch", name);
        try (RepoLock.Held _ = sharedLock()) {
            if (refs.read(Refs.HEADS + name).isPresent()) {
                throw new RepositoryException("branch '" + name + "' already exists");
            }
            Optional<ObjectId> head = refs.headCommit();
            ObjectId at = startRef == null ? head.orElse(null) : commit(resolve(startRef)).id();
            if (at != null && !head.equals(Optional.of(at))) {
                refuseDuringMerge();
                new WorkTree(this).switchTo(tree(commit(at).tree()), force);
            }
            if (at != null) {
                refs.compareAndSet(Refs.HEADS + name, null, at);
            }
            refs.setHead(new Refs.Head.OnBranch(name));
        }
    }

    /** The differences between two commits, or between a commit and the working directory ({@code to} null). */
    public List<FileChange> diff(ObjectId from, ObjectId to) throws IOException {
        return new Differ(this).diff(from, to);
    }

    /**
     * Merges {@code ref} into the current branch (fast-forward when possible); {@code author}
     * signs a merge commit, null on a machine without a key (then only a fast-forward succeeds).
     */
    public MergeResult merge(String ref, Identity author) throws IOException {
        requireWorkDir("merge");
        try (RepoLock.Held _ = sharedLock()) {
            return new Merger(this).merge(ref, author);
        }
    }

    /** Resolves one conflicted path of the merge in progress. */
    public void resolveConflict(String path, Resolution resolution) throws IOException {
        requireWorkDir("resolve");
        try (RepoLock.Held _ = sharedLock()) {
            new Merger(this).resolve(path, resolution);
        }
    }

    /** Abandons the merge in progress and restores HEAD's files. */
    public void abortMerge() throws IOException {
        requireWorkDir("merge --abort");
        try (RepoLock.Held _ = sharedLock()) {
            new Merger(this).abort();
        }
    }

    /** The paths of the merge in progress that still conflict, with why; empty when no merge. */
    public Map<String, String> conflicts() throws IOException {
        MergeState m = MergeState.read(this);
        return m == null ? Map.of() : m.conflicts();
    }

    /**
     * Makes a new commit on the current branch whose files are those of {@code ref} (history is
     * kept; the rollback is itself a signed commit) and restores them in the working directory.
     */
    public ObjectId rollback(String ref, Identity author) throws IOException {
        requireWorkDir("rollback");
        try (RepoLock.Held _ = sharedLock()) {
            if (MergeState.read(this) != null) {
                throw new RepositoryException("a merge is in progress: finish or abort it before a rollback");
            }
            ObjectId head = refs.headCommit().orElseThrow(() -> new RepositoryException("nothing to roll back: no commits yet"));
            Commit target = commit(resolve(ref));
            if (commit(head).tree().equals(target.tree())) {
                throw new RepositoryException("HEAD already has the files of " + target.id().shortHex());
            }
            new WorkTree(this).switchTo(tree(target.tree()), false);
            ObjectId id = writeCommit(target.tree(), List.of(head),
                    "Roll back to " + target.id().shortHex() + ": " + target.subject(), author);
            refs.advanceHead(head, id);
            return id;
        }
    }

    /**
     * Verifies the whole repository: every object re-hashed and decoded, every commit's signature
     * checked, every ref readable and everything it reaches present. Reports all problems found.
     */
    public FsckResult fsck() throws IOException {
        try (RepoLock.Held _ = sharedLock()) {
            return new Fsck(this).run();
        }
    }

    /** Removes objects no ref, index or merge state reaches, and leftover temporary and incoming files. */
    public GcResult gc() throws IOException {
        try (RepoLock.Held _ = exclusiveLock()) {
            return new Gc(this).run();
        }
    }
}
