package io.aether.sync;

/** A ref (branch, tag, id or id prefix) that names no commit, or more than one. */
public final class RefNotFoundException extends RepositoryException {

    public RefNotFoundException(String message) {
        super(message);
    }
}
