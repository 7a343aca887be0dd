package io.aether.sync;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Differences between two versions: which files were added, deleted or modified, how many bytes
 * of a modified file sit in chunks the old version already had, and for ONNX models which
 * initializer tensors were added, removed or changed.
 */
final class Differ {

    /** Models larger than this are compared by chunks only. */
    static final long MAX_ONNX_INSPECT_BYTES = 1L << 30;

    private final Repository repo;

    Differ(Repository repo) {
        this.repo = repo;
    }

    /** One side of a comparison: a file's manifest and a way to read its bytes. */
    private interface Side {
        Codec.Manifest manifest() throws IOException;

        byte[] bytes() throws IOException;

        long size();
    }

    List<FileChange> diff(ObjectId from, ObjectId to) throws IOException {
        Map<String, Side> a = sides(from);
        Map<String, Side> b = to == null ? working() : sides(to);
        TreeSet<String> paths = new TreeSet<>(a.keySet());
        paths.addAll(b.keySet());
        List<FileChange> out = new ArrayList<>();
        for (String p : paths) {
            Side x = a.get(p);
            Side y = b.get(p);
            if (x == null) {
                out.add(new FileChange(p, Status.Kind.ADDED, 0, y.size(), 0, List.of(), null));
            } else if (y == null) {
                out.add(new FileChange(p, Status.Kind.DELETED, x.size(), 0, 0, List.of(), null));
            } else {
                Codec.Manifest mx = x.manifest();
                Codec.Manifest my = y.manifest();
                if (mx.equals(my)) {
                    continue;
                }
                Set<ObjectId> old = new HashSet<>();
                mx.chunks().forEach(c -> old.add(c.id()));
                long shared = 0;
                for (Codec.ChunkRef c : my.chunks()) {
                    if (old.contains(c.id())) {
                        shared += c.length();
                    }
                }
                List<TensorChange> tensors = List.of();
                String note = null;
                if (p.endsWith(".onnx")) {
                    if (Math.max(x.size(), y.size()) > MAX_ONNX_INSPECT_BYTES) {
                        note = "model larger than 1 GiB: tensors not compared";
                    } else {
                        try {
                            tensors = tensorChanges(OnnxInitializers.parse(x.bytes()), OnnxInitializers.parse(y.bytes()));
                        } catch (IllegalArgumentException e) {
                            note = "not a parsable ONNX model (" + e.getMessage() + ")";
                        }
                    }
                }
                out.add(new FileChange(p, Status.Kind.MODIFIED, x.size(), y.size(), shared, tensors, note));
            }
        }
        return out;
    }

    static List<TensorChange> tensorChanges(Map<String, OnnxInitializers.Tensor> before, Map<String, OnnxInitializers.Tensor> after) {
        List<TensorChange> out = new ArrayList<>();
        for (var e : before.entrySet()) {
            OnnxInitializers.Tensor n = after.get(e.getKey());
            if (n == null) {
                out.add(new TensorChange(e.getKey(), TensorChange.Kind.REMOVED, e.getValue().describe(), ""));
            } else if (!n.equals(e.getValue())) {
                out.add(new TensorChange(e.getKey(), TensorChange.Kind.CHANGED, e.getValue().describe(), n.describe()));
            }
        }
        for (var e : after.entrySet()) {
            if (!before.containsKey(e.getKey())) {
                out.add(new TensorChange(e.getKey(), TensorChange.Kind.ADDED, "", e.getValue().describe()));
            }
        }
        return out;
    }

    private Map<String, Side> sides(ObjectId commit) throws IOException {
        Map<String, Side> m = new HashMap<>();
        if (commit == null) {
            return m;
        }
        for (FileEntry f : repo.files(commit)) {
            m.put(f.path(), new Side() {
                @Override
                public Codec.Manifest manifest() throws IOException {
                    return repo.manifest(f.manifest());
                }

                @Override
                public byte[] bytes() throws IOException {
                    try (InputStream in = repo.openManifest(f.manifest())) {
                        return in.readAllBytes();
                    }
                }

                @Override
                public long size() {
                    return f.size();
                }
            });
        }
        return m;
    }

    private Map<String, Side> working() throws IOException {
        WorkTree wt = new WorkTree(repo);
        Map<String, Side> m = new HashMap<>();
        for (String p : wt.listFiles("")) {
            Path abs = repo.workDir().resolve(p);
            long size = Files.size(abs);
            m.put(p, new Side() {
                @Override
                public Codec.Manifest manifest() throws IOException {
                    return WorkTree.manifestOf(abs).manifest();
                }

                @Override
                public byte[] bytes() throws IOException {
                    return Files.readAllBytes(abs);
                }

                @Override
                public long size() {
                    return size;
                }
            });
        }
        return m;
    }
}
