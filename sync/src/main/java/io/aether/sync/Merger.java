package io.aether.sync;

import com.fasterxml.jackson.databind.JsonNode;
import io.aether.security.Identity;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Merging a commit into the current branch. Fast-forward when one history contains the other;
 * otherwise a three-way merge against the merge base, path by path:
 * <ul>
 *   <li>changed on one side only: that side (including deletion);</li>
 *   <li>changed identically on both: that version;</li>
 *   <li>changed differently on both, text: line-wise diff3, or key-wise for {@code .json};</li>
 *   <li>changed differently on both, binary (an {@code .onnx} model, say), or deleted on one side
 *       and changed on the other: a conflict, resolved explicitly with {@link Resolution}.</li>
 * </ul>
 * A clean merge commits at once (two parents); a conflicted one leaves {@link MergeState} and the
 * working directory with the merged files, conflict markers in conflicted text files and our
 * version of conflicted binaries, until every path is resolved and {@code commit} runs.
 */
final class Merger {

    /** Files larger than this are merged as binaries. */
    static final int MAX_TEXT_MERGE_BYTES = 16 << 20;

    private final Repository repo;
    private final WorkTree wt;

    Merger(Repository repo) {
        this.repo = repo;
        this.wt = new WorkTree(repo);
    }

    /** Merges {@code ref}; {@code author} signs a merge commit, null when there is no key (then only a fast-forward succeeds). */
    MergeResult merge(String ref, Identity author) throws IOException {
        if (MergeState.read(repo) != null) {
            throw new RepositoryException("a merge is already in progress: resolve and commit it, or run 'aether model merge --abort'");
        }
        ObjectId theirs = repo.commit(repo.resolve(ref)).id();
        Optional<ObjectId> headOpt = repo.head();
        // Nothing to merge touches no file, so local changes do not stand in the way.
        if (headOpt.isPresent() && repo.isAncestor(theirs, headOpt.get())) {
            return new MergeResult(MergeResult.Kind.UP_TO_DATE, headOpt.get(), List.of(), Map.of());
        }
        Status st = wt.status();
        if (!st.clean()) {
            throw new RepositoryException("commit or discard your changes before merging: " + st.describeChanges());
        }
        if (headOpt.isEmpty()) {
            wt.switchTo(repo.tree(repo.commit(theirs).tree()), false);
            repo.refs.advanceHead(null, theirs);
            return new MergeResult(MergeResult.Kind.FAST_FORWARD, theirs, List.of(), Map.of());
        }
        ObjectId head = headOpt.get();
        if (repo.isAncestor(head, theirs)) {
            wt.switchTo(repo.tree(repo.commit(theirs).tree()), false);
            repo.refs.advanceHead(head, theirs);
            return new MergeResult(MergeResult.Kind.FAST_FORWARD, theirs, List.of(), Map.of());
        }
        if (author == null) {
            // A fast-forward needs no signature; a merge commit does, and nothing has changed yet.
            throw new RepositoryException("merging " + ref + " needs a merge commit, and this machine has no signing key to"
                    + " sign it: create one with 'aether model keygen'");
        }
        Optional<ObjectId> base = History.mergeBase(repo::commit, head, theirs);
        Map<String, FileEntry> baseTree = byPath(base.isPresent() ? repo.files(base.get()) : List.of());
        Map<String, FileEntry> ours = byPath(repo.files(head));
        Map<String, FileEntry> their = byPath(repo.files(theirs));
        String oursLabel = "ours (" + repo.currentBranch().orElse(head.shortHex()) + ")";
        String theirsLabel = "theirs (" + ref + ")";

        Map<String, FileEntry> merged = new TreeMap<>();
        Map<String, String> conflicts = new TreeMap<>();
        Map<String, byte[]> conflictContent = new HashMap<>();
        List<String> autoMerged = new ArrayList<>();
        TreeSet<String> paths = new TreeSet<>();
        paths.addAll(baseTree.keySet());
        paths.addAll(ours.keySet());
        paths.addAll(their.keySet());
        for (String p : paths) {
            FileEntry b = baseTree.get(p);
            FileEntry o = ours.get(p);
            FileEntry t = their.get(p);
            if (same(o, t)) {
                putIfPresent(merged, o);
            } else if (same(b, o)) {
                putIfPresent(merged, t);
            } else if (same(b, t)) {
                putIfPresent(merged, o);
            } else if (o == null || t == null) {
                conflicts.put(p, o == null ? "deleted on our side, changed on theirs" : "changed on our side, deleted on theirs");
                putIfPresent(merged, o);
            } else {
                ContentMerge cm = mergeContent(p, b, o, t, oursLabel, theirsLabel);
                if (cm.merged != null) {
                    long[] size = new long[1];
                    ObjectId m = repo.storeFileBytes(new ByteArrayInputStream(cm.merged), size);
                    merged.put(p, new FileEntry(p, size[0], m));
                    autoMerged.add(p);
                } else {
                    conflicts.put(p, cm.reason);
                    merged.put(p, o);
                    if (cm.markers != null) {
                        conflictContent.put(p, cm.markers);
                    }
                }
            }
        }
        List<FileEntry> mergedTree = new ArrayList<>(merged.values());
        if (conflicts.isEmpty()) {
            ObjectId tree = repo.objects.put(Codec.encodeTree(mergedTree));
            repo.objects.sync();
            wt.switchTo(mergedTree, false);
            ObjectId commit = repo.writeCommit(tree, List.of(head, theirs),
                    "Merge " + ref + " into " + repo.currentBranch().orElse("HEAD"), author);
            repo.refs.advanceHead(head, commit);
            return new MergeResult(MergeResult.Kind.MERGED, commit, autoMerged, Map.of());
        }
        repo.objects.sync();
        wt.switchTo(mergedTree, false);
        for (Map.Entry<String, byte[]> e : conflictContent.entrySet()) {
            wt.writeBytes(e.getKey(), e.getValue());
        }
        new MergeState(theirs, conflicts).write(repo);
        return new MergeResult(MergeResult.Kind.CONFLICTS, head, autoMerged, conflicts);
    }

    /** Result of merging one file's content: merged bytes, or a reason (and marker text for text files). */
    private record ContentMerge(byte[] merged, String reason, byte[] markers) {
    }

    private ContentMerge mergeContent(String path, FileEntry b, FileEntry o, FileEntry t, String oursLabel, String theirsLabel)
            throws IOException {
        long max = Math.max(o.size(), Math.max(t.size(), b == null ? 0 : b.size()));
        if (max > MAX_TEXT_MERGE_BYTES) {
            return new ContentMerge(null, "changed on both sides (file over " + (MAX_TEXT_MERGE_BYTES >> 20) + " MiB, merged as binary)", null);
        }
        byte[] bb = b == null ? new byte[0] : read(b);
        byte[] ob = read(o);
        byte[] tb = read(t);
        String bs = text(bb);
        String os = text(ob);
        String ts = text(tb);
        if (bs == null || os == null || ts == null) {
            return new ContentMerge(null, "binary file changed on both sides", null);
        }
        String jsonConflict = null;
        if (path.endsWith(".json")) {
            JsonNode jb = b == null ? null : JsonMerge.parse(bb);
            JsonNode jo = JsonMerge.parse(ob);
            JsonNode jt = JsonMerge.parse(tb);
            if (jo != null && jt != null && (b == null || jb != null)) {
                JsonMerge.Result r = JsonMerge.merge(jb, jo, jt);
                if (r.clean()) {
                    return new ContentMerge(r.merged(), null, null);
                }
                jsonConflict = "both sides changed JSON key(s) " + String.join(", ", r.conflicts());
            }
        }
        Diff3.Result r = Diff3.merge(bs, os, ts, oursLabel, theirsLabel);
        if (r.clean()) {
            return new ContentMerge(r.text().getBytes(StandardCharsets.UTF_8), null, null);
        }
        String reason = jsonConflict != null ? jsonConflict : "conflicting text changes (" + r.conflicts() + " region(s) marked in the file)";
        return new ContentMerge(null, reason, r.text().getBytes(StandardCharsets.UTF_8));
    }

    private byte[] read(FileEntry f) throws IOException {
        try (InputStream in = repo.openManifest(f.manifest())) {
            return in.readAllBytes();
        }
    }

    /** The text of {@code bytes} if it is UTF-8 with no NUL byte, else null. */
    static String text(byte[] bytes) {
        for (byte x : bytes) {
            if (x == 0) {
                return null;
            }
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    void resolve(String path, Resolution resolution) throws IOException {
        MergeState ms = MergeState.read(repo);
        if (ms == null) {
            throw new RepositoryException("no merge in progress");
        }
        String rel = wt.relative(path);
        if (!ms.conflicts().containsKey(rel)) {
            throw new RepositoryException("'" + path + "' is not conflicted (conflicts: " + ms.conflicts().keySet() + ")");
        }
        Optional<FileEntry> chosen = switch (resolution) {
            case Resolution.Ours o -> find(repo.files(repo.head().orElseThrow()), rel);
            case Resolution.Theirs t -> find(repo.files(ms.theirs()), rel);
            case Resolution.FromFile f -> {
                if (!Files.isRegularFile(f.file())) {
                    throw new RepositoryException("--file " + f.file() + ": no such file");
                }
                long[] size = new long[1];
                ObjectId m;
                try (InputStream in = Files.newInputStream(f.file())) {
                    m = repo.storeFileBytes(in, size);
                }
                repo.objects.sync();
                yield Optional.of(new FileEntry(rel, size[0], m));
            }
        };
        Index idx = Index.read(repo.indexFile());
        if (chosen.isPresent()) {
            FileEntry e = chosen.get();
            wt.writeFile(rel, e.manifest());
            var a = Files.readAttributes(wt.safePath(rel), java.nio.file.attribute.BasicFileAttributes.class);
            idx.put(new Index.Entry(rel, e.manifest(), e.size(), a.lastModifiedTime().toMillis()));
        } else {
            wt.deleteFile(rel);
            idx.remove(rel);
        }
        idx.write(repo.indexFile(), repo.tmpDir());
        Map<String, String> left = new TreeMap<>(ms.conflicts());
        left.remove(rel);
        new MergeState(ms.theirs(), left).write(repo);
    }

    void abort() throws IOException {
        if (MergeState.read(repo) == null) {
            throw new RepositoryException("no merge in progress");
        }
        ObjectId head = repo.head().orElseThrow();
        wt.switchTo(repo.files(head), true);
        MergeState.clear(repo);
    }

    private static Optional<FileEntry> find(List<FileEntry> tree, String path) {
        return tree.stream().filter(f -> f.path().equals(path)).findFirst();
    }

    private static Map<String, FileEntry> byPath(List<FileEntry> tree) {
        Map<String, FileEntry> m = new HashMap<>();
        tree.forEach(f -> m.put(f.path(), f));
        return m;
    }

    private static boolean same(FileEntry a, FileEntry b) {
        return Objects.equals(a == null ? null : a.manifest(), b == null ? null : b.manifest());
    }

    private static void putIfPresent(Map<String, FileEntry> m, FileEntry f) {
        if (f != null) {
            m.put(f.path(), f);
        }
    }
}
