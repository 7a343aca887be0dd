package io.aether.ai;

/** A {@link ModelSource} could not resolve a ref or produce a version's bytes. */
public final class ModelSourceException extends Exception {

    /** Why the source failed. */
    public enum Reason {
        /** No branch, tag or commit has that name. */
        UNKNOWN_REF,
        /** The version exists but holds no model the source can serve (e.g. no such file in it). */
        NO_MODEL,
        /** The source could not be read or its content failed verification. */
        UNREADABLE
    }

    private final Reason reason;

    public ModelSourceException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public ModelSourceException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
