package io.aether.sync;

/** A stored or received object whose bytes do not hash to its id, or do not decode. */
public final class CorruptObjectException extends RepositoryException {

    private final transient ObjectId id;

    public CorruptObjectException(ObjectId id, String message) {
        super(message);
        this.id = id;
    }

    /** The object's id (the name it was stored or requested under); may be null for anonymous input. */
    public ObjectId id() {
        return id;
    }
}
