package io.aether.sync;

/** A repository operation refused or failed; the message names the bad ref, path or object. */
public class RepositoryException extends RuntimeException {

    public RepositoryException(String message) {
        super(message);
    }

    public RepositoryException(String message, Throwable cause) {
        super(message, cause);
    }
}
