package io.aether.ai;

/** A deploy, switch, canary, promote or rollback was refused; what was serving keeps serving. */
public final class DeploymentException extends Exception {

    /** Why the operation was refused. */
    public enum Reason {
        /** No model of that name is deployed. */
        UNKNOWN_MODEL,
        /** The ref names nothing in the model's source. */
        UNKNOWN_REF,
        /** The source could not produce the version's bytes. */
        SOURCE_FAILED,
        /** The model bytes are not a model this runtime can serve (malformed, unsupported types). */
        INVALID_MODEL,
        /** The operation does not fit the model's state (no canary to promote, version already serving). */
        CONFLICT
    }

    private final Reason reason;

    public DeploymentException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public DeploymentException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
