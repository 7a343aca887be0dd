package io.aether.sync;

/** A commit whose signature does not verify, or whose author key is not trusted. */
public final class VerificationException extends RepositoryException {

    public VerificationException(String message) {
        super(message);
    }

    public VerificationException(String message, Throwable cause) {
        super(message, cause);
    }
}
