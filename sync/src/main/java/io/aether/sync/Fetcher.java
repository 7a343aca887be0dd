package io.aether.sync;

import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A client's download of a new tip, top-down: the commits first (each signature verified before
 * anything it names is asked for), then their trees, then the file manifests the trees name,
 * then the chunks the manifests name. Only ids that an object already checked refers to are
 * asked for, and an object the server sends is kept only if it is one of them, of the kind and
 * size its referrer says; so nothing a hostile server makes up reaches {@code incoming/}. Before
 * the chunks, their declared total must fit the fetch's byte limit and the free disk space.
 * Objects already in {@code incoming/} from an interrupted attempt are checked the same way and
 * not asked for again.
 */
final class Fetcher {

    /** Sends one request whose body is id lists and hands every frame of the answer to {@code frames}. */
    @FunctionalInterface
    interface Source {
        void request(String path, List<List<ObjectId>> idLists, FrameHandler frames) throws IOException;
    }

    @FunctionalInterface
    interface FrameHandler {
        void accept(Wire.Frame frame) throws IOException;
    }

    /** Objects asked for per request, and the chunk bytes they may add up to (as their manifests declare). */
    static final int BATCH_OBJECTS = 256;
    static final long BATCH_BYTES = 16L << 20;

    /** What a referrer says an object is. */
    private record Expected(ObjectId id, ObjectKind kind, long size, String where) {
    }

    private final Repository local;
    private final Source source;
    private final long maxBytes;
    private final Progress progress;
    private final Map<ObjectKind, Map<ObjectId, Expected>> pending = new EnumMap<>(ObjectKind.class);
    /** Ids checked in this fetch (received, or found in incoming/). */
    private final Set<ObjectId> checked = new HashSet<>();
    /** Found in incoming/, to be checked (a queue, not recursion: a history may be long). */
    private final Deque<Expected> held = new ArrayDeque<>();
    private IncomingBatch batch;
    long objects;
    long bytes;
    private long wireBytes;

    Fetcher(Repository local, Source source, long maxBytes, Progress progress) {
        this.local = local;
        this.source = source;
        this.maxBytes = maxBytes;
        this.progress = progress;
        for (ObjectKind k : ObjectKind.values()) {
            pending.put(k, new LinkedHashMap<>());
        }
    }

    /** Downloads what {@code tip} needs into incoming/; {@code localCommits} tells the server where to stop. */
    void fetch(ObjectId tip, Set<ObjectId> localCommits) throws IOException {
        batch = new IncomingBatch(local);
        try {
            offer(new Expected(tip, ObjectKind.COMMIT, -1, "the fetched ref"));
            settle();
            while (!pending.get(ObjectKind.COMMIT).isEmpty()) {
                long before = objects;
                List<ObjectId> wants = new ArrayList<>(pending.get(ObjectKind.COMMIT).keySet());
                Set<ObjectId> inThisAnswer = new HashSet<>();
                source.request("/v1/history", List.of(wants, new ArrayList<>(localCommits)), f -> {
                    if (!inThisAnswer.add(f.id())) {
                        throw new CorruptObjectException(f.id(), "the remote sent object " + f.id().hex() + " twice; refused");
                    }
                    // A resumed fetch may be sent a commit it already holds again (a merge reaches it twice).
                    if (!checked.contains(f.id()) && !local.objects.has(f.id())) {
                        receive(f, ObjectKind.COMMIT);
                    }
                });
                if (objects == before) {
                    throw new RepositoryException("the remote did not send commit " + wants.getFirst().hex());
                }
            }
            for (ObjectKind kind : List.of(ObjectKind.TREE, ObjectKind.FILE, ObjectKind.CHUNK)) {
                if (kind == ObjectKind.CHUNK) {
                    checkRoomForChunks();
                }
                Map<ObjectId, Expected> wanted = pending.get(kind);
                while (!wanted.isEmpty()) {
                    List<ObjectId> ask = nextBatch(wanted);
                    Set<ObjectId> asked = new HashSet<>(ask);
                    long before = objects;
                    source.request("/v1/objects", List.of(ask), f -> {
                        if (!asked.remove(f.id())) {
                            throw new CorruptObjectException(f.id(), "the remote sent object " + f.id().hex()
                                    + ", which was not asked for (or twice); refused");
                        }
                        receive(f, kind);
                    });
                    if (objects == before) {
                        throw new RepositoryException("the remote sent none of the " + ask.size() + " objects asked for (first: "
                                + ask.getFirst().hex() + ")");
                    }
                }
            }
        } finally {
            // Everything in the batch was checked: keep it, also when the transfer broke off.
            batch.finish();
        }
    }

    private static List<ObjectId> nextBatch(Map<ObjectId, Expected> wanted) {
        List<ObjectId> ask = new ArrayList<>();
        long declared = 0;
        for (Iterator<Expected> it = wanted.values().iterator(); it.hasNext() && ask.size() < BATCH_OBJECTS; ) {
            Expected e = it.next();
            long size = Math.max(0, e.size());
            if (!ask.isEmpty() && declared + size > BATCH_BYTES) {
                break;
            }
            declared += size;
            ask.add(e.id());
        }
        return ask;
    }

    /** The chunks still to download must fit the byte limit and the disk, before any is asked for. */
    private void checkRoomForChunks() throws IOException {
        long need = 0;
        for (Expected e : pending.get(ObjectKind.CHUNK).values()) {
            need += e.size() + 1;
        }
        if (bytes + need > maxBytes) {
            throw new RepositoryException("the fetch needs " + need + " more bytes of chunks (" + bytes + " received so far),"
                    + " over its limit of " + maxBytes + " bytes; raise it with --max-download if the model is that large");
        }
        long free = Files.getFileStore(local.storeDir()).getUsableSpace();
        if (need > free) {
            throw new RepositoryException("the fetch needs " + need + " bytes of chunks, but the disk holding "
                    + local.storeDir() + " has " + free + " bytes free");
        }
    }

    /** Checks a frame the server sent against what refers to it, then keeps it. */
    private void receive(Wire.Frame f, ObjectKind kind) throws IOException {
        Expected e = pending.get(kind).remove(f.id());
        if (e == null) {
            throw new CorruptObjectException(f.id(), "the remote sent object " + f.id().hex()
                    + ", which no verified object here refers to; refused");
        }
        if (bytes + f.encoded().length > maxBytes) {
            throw new RepositoryException("the fetch would store more than its limit of " + maxBytes
                    + " bytes in incoming/; raise it with --max-download if the model is that large");
        }
        check(e, f.encoded());
        batch.add(f.id(), f.encoded());
        objects++;
        bytes += f.encoded().length;
        wireBytes += f.wireBytes();
        progress.update("receiving objects", objects, objects + remaining(), wireBytes);
        settle();
    }

    private long remaining() {
        long n = 0;
        for (Map<ObjectId, Expected> m : pending.values()) {
            n += m.size();
        }
        return n;
    }

    /** Notes that something checked refers to {@code e}: held already, found in incoming/, or to ask for. */
    private void offer(Expected e) {
        if (checked.contains(e.id()) || local.objects.has(e.id()) || pending.get(e.kind()).containsKey(e.id())) {
            return;
        }
        if (local.incoming.has(e.id())) {
            held.add(e);
        } else {
            pending.get(e.kind()).put(e.id(), e);
        }
    }

    /** Checks what an earlier attempt left in incoming/ (and what it refers to); a damaged file is fetched again. */
    private void settle() throws IOException {
        while (!held.isEmpty()) {
            Expected e = held.poll();
            if (checked.contains(e.id())) {
                continue;
            }
            byte[] enc;
            try {
                enc = local.incoming.readIfPresent(e.id());
            } catch (CorruptObjectException damaged) {
                local.incoming.delete(e.id());
                enc = null;
            }
            if (enc == null) {
                pending.get(e.kind()).put(e.id(), e);
            } else {
                check(e, enc);
            }
        }
    }

    /** Whether {@code enc} is the object {@code e} describes; adds what it refers to. */
    private void check(Expected e, byte[] enc) {
        ObjectId id = e.id();
        if (e.kind() != ObjectKind.CHUNK) {
            // Hashed before anything it names is asked for (chunks name nothing; the store hashes them).
            ObjectId actual = ObjectId.hash(enc);
            if (!actual.equals(id)) {
                throw new CorruptObjectException(id, "object " + id.hex() + ": content hashes to " + actual.hex() + "; refused");
            }
        }
        ObjectKind kind = Codec.kindOf(id, enc);
        if (kind != e.kind()) {
            throw new CorruptObjectException(id, "object " + id.hex() + " is a " + kind.label() + " but " + e.where()
                    + " needs a " + e.kind().label() + "; refused");
        }
        switch (kind) {
            case COMMIT -> {
                Commit c = local.verifiedCommit(id, enc);
                String where = "commit " + id.shortHex();
                offer(new Expected(c.tree(), ObjectKind.TREE, -1, where));
                for (ObjectId p : c.parents()) {
                    offer(new Expected(p, ObjectKind.COMMIT, -1, where));
                }
            }
            case TREE -> {
                for (FileEntry f : Codec.decodeTree(id, enc)) {
                    offer(new Expected(f.manifest(), ObjectKind.FILE, f.size(), "file '" + f.path() + "'"));
                }
            }
            case FILE -> {
                Codec.Manifest m = Codec.decodeManifest(id, enc);
                if (m.size() != e.size()) {
                    throw new CorruptObjectException(id, "manifest " + id.hex() + " of " + e.where() + " describes " + m.size()
                            + " bytes, the tree says " + e.size() + "; refused");
                }
                for (Codec.ChunkRef ch : m.chunks()) {
                    offer(new Expected(ch.id(), ObjectKind.CHUNK, ch.length(), e.where()));
                }
            }
            case CHUNK -> {
                if (enc.length - 1 != e.size()) {
                    throw new CorruptObjectException(id, "chunk " + id.hex() + " of " + e.where() + " has " + (enc.length - 1)
                            + " bytes, the manifest says " + e.size() + "; refused");
                }
            }
        }
        checked.add(id);
    }
}
