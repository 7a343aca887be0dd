package io.aether.sync;

import java.util.Objects;

/**
 * One file of a commit's tree.
 *
 * @param path     the file's path, '/'-separated, relative to the repository root
 * @param size     its size in bytes
 * @param manifest the id of its file manifest (the list of its chunks)
 */
public record FileEntry(String path, long size, ObjectId manifest) {

    public FileEntry {
        Paths.requireValid(path);
        Objects.requireNonNull(manifest, "manifest");
        if (size < 0) {
            throw new IllegalArgumentException("negative size for " + path);
        }
    }
}
