package io.aether.sync;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Objects received from a peer on their way into the store's {@code incoming/} area, written
 * (each checked against its id) in groups of {@link Repository#WRITE_BATCH} objects or
 * {@link #MAX_BYTES} bytes, whichever comes first, so that what a peer sends is held in memory
 * only briefly and a cut transfer keeps every object that arrived whole.
 */
final class IncomingBatch {

    /** Bytes held before they are written: the objects a peer sends can be up to 64 MiB each. */
    static final long MAX_BYTES = 16L << 20;

    private final Repository repo;
    private final List<ObjectId> ids = new ArrayList<>();
    private final List<byte[]> encoded = new ArrayList<>();
    private long bytes;

    IncomingBatch(Repository repo) {
        this.repo = repo;
    }

    void add(ObjectId id, byte[] enc) throws IOException {
        ids.add(id);
        encoded.add(enc);
        bytes += enc.length;
        if (ids.size() == Repository.WRITE_BATCH || bytes >= MAX_BYTES) {
            write();
        }
    }

    /** Writes what is held and makes every object written so far durable. */
    void finish() throws IOException {
        write();
        repo.incoming.sync();
    }

    private void write() throws IOException {
        List<byte[]> e = List.copyOf(encoded);
        List<ObjectId> i = List.copyOf(ids);
        encoded.clear();
        ids.clear();
        bytes = 0;
        repo.incoming.putAll(e, i);
    }
}
