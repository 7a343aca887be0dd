package io.aether.sync;

import java.nio.file.Path;
import java.util.Objects;

/**
 * A {@code DIR@REF} argument: a repository directory and a ref in it.
 *
 * @param repository the repository's directory (a working directory or a bare repository)
 * @param ref        a branch, tag, {@code HEAD}, commit id or unique id prefix
 */
public record RepoRef(Path repository, String ref) {

    public RepoRef {
        Objects.requireNonNull(repository, "repository");
        Objects.requireNonNull(ref, "ref");
        if (ref.isBlank()) {
            throw new IllegalArgumentException("empty ref in repository reference");
        }
    }

    /**
     * Parses {@code DIR@REF}; the last '@' splits, so a directory may contain '@'. Without '@'
     * the ref is {@code HEAD}.
     */
    public static RepoRef parse(String spec) {
        Objects.requireNonNull(spec, "spec");
        int at = spec.lastIndexOf('@');
        if (at < 0) {
            return new RepoRef(Path.of(spec.isEmpty() ? "." : spec), "HEAD");
        }
        String dir = spec.substring(0, at);
        String ref = spec.substring(at + 1);
        if (ref.isEmpty()) {
            throw new IllegalArgumentException("'" + spec + "': nothing after '@' (expected DIR@REF, e.g. models/demo@main)");
        }
        return new RepoRef(Path.of(dir.isEmpty() ? "." : dir), ref);
    }

    @Override
    public String toString() {
        return repository + "@" + ref;
    }
}
