package io.aether.snapshot;

import java.io.IOException;

/** A state file or section that cannot be used: truncated, corrupt, of another format version, or invalid. */
public final class SnapshotException extends IOException {

    public SnapshotException(String message) {
        super(message);
    }

    public SnapshotException(String message, Throwable cause) {
        super(message, cause);
    }
}
