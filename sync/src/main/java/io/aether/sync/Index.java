package io.aether.sync;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The staging area: what the next commit's tree will be. A text file, one line per file,
 * sorted by path: {@code <manifest-id> <size> <mtime-millis> <path>}. The size and modification
 * time of the working file when it was staged let status skip re-hashing unchanged files.
 */
final class Index {

    static final String HEADER = "aether-index 1";

    /** A staged file. */
    record Entry(String path, ObjectId manifest, long size, long mtimeMillis) {
        FileEntry toFileEntry() {
            return new FileEntry(path, size, manifest);
        }
    }

    private final Map<String, Entry> entries = new TreeMap<>();

    Map<String, Entry> entries() {
        return entries;
    }

    void put(Entry e) {
        entries.put(e.path(), e);
    }

    void remove(String path) {
        entries.remove(path);
    }

    /** The tree this index describes, sorted as trees are. */
    List<FileEntry> tree() {
        List<FileEntry> t = new ArrayList<>(entries.size());
        for (Entry e : entries.values()) {
            t.add(e.toFileEntry());
        }
        t.sort((a, b) -> a.path().compareTo(b.path()));
        return t;
    }

    static Index read(Path file) throws IOException {
        Index idx = new Index();
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return idx;
        }
        if (lines.isEmpty() || !lines.get(0).equals(HEADER)) {
            throw new RepositoryException("index " + file + " is corrupt: missing '" + HEADER + "' header");
        }
        for (int i = 1; i < lines.size(); i++) {
            String[] f = lines.get(i).split(" ", 4);
            try {
                if (f.length != 4) {
                    throw new IllegalArgumentException("expected 4 fields");
                }
                idx.put(new Entry(Paths.requireValid(f[3]), new ObjectId(f[0]), Long.parseLong(f[1]), Long.parseLong(f[2])));
            } catch (IllegalArgumentException e) {
                throw new RepositoryException("index " + file + " line " + (i + 1) + " is corrupt: " + e.getMessage());
            }
        }
        return idx;
    }

    void write(Path file, Path tmpDir) throws IOException {
        StringBuilder sb = new StringBuilder(HEADER).append('\n');
        for (Entry e : entries.values()) {
            sb.append(e.manifest().hex()).append(' ').append(e.size()).append(' ').append(e.mtimeMillis())
                    .append(' ').append(e.path()).append('\n');
        }
        AtomicFiles.replace(tmpDir, file, sb.toString().getBytes(StandardCharsets.UTF_8));
    }
}
