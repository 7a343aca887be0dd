package io.aether.sync;

import java.nio.file.Path;
import java.util.Objects;

/** How a conflicted path of a merge is resolved. */
public sealed interface Resolution {

    /** Keep the current branch's version (which may be "deleted"). */
    record Ours() implements Resolution {
    }

    /** Take the merged-in version (which may be "deleted"). */
    record Theirs() implements Resolution {
    }

    /** Take the content of {@code file} (for example the working copy after editing the conflict markers). */
    record FromFile(Path file) implements Resolution {
        public FromFile {
            Objects.requireNonNull(file, "file");
        }
    }
}
