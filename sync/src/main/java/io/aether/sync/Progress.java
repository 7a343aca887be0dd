package io.aether.sync;

/** Receives progress of a long transfer (called from the transferring thread). */
@FunctionalInterface
public interface Progress {

    /** Ignores progress. */
    Progress NONE = (phase, done, total, bytes) -> { };

    /**
     * @param phase what is happening ("receiving objects", "sending objects", "verifying")
     * @param done  objects done so far
     * @param total objects in this phase
     * @param bytes bytes moved so far in this phase
     */
    void update(String phase, long done, long total, long bytes);
}
