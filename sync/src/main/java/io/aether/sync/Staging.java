package io.aether.sync;

import io.aether.security.KeyId;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import java.util.stream.Stream;

/**
 * Where a server keeps pushed objects until a ref update reaches them: one area per client key,
 * {@code staging/KEYID/ab/cdef...} in the store. An accepted ref update moves what it reaches
 * into {@code objects/} and discards the rest of the pusher's area; an area no push has written
 * to for the time to live is discarded; {@code gc} discards them all. A push that would hold
 * more than {@code maxPerKey} bytes in its area, or all areas together more than
 * {@code maxTotal}, is refused (413) and what that request stored is removed. So objects that no
 * accepted ref update follows cost the server bounded disk, for a bounded time, and only for
 * clients with the write right.
 */
final class Staging {

    static final String DIR = "staging";

    private final Repository repo;
    private final Path root;
    private final long maxPerKey;
    private final long maxTotal;
    private final Duration ttl;
    private final LongSupplier clock;
    private final Map<KeyId, Area> areas = new ConcurrentHashMap<>();
    /** Bytes in all areas; it and each area's count are guarded by this object. */
    private long total;

    Staging(Repository repo, long maxPerKey, long maxTotal, Duration ttl, LongSupplier clock) throws IOException {
        this.repo = repo;
        this.root = repo.storeDir().resolve(DIR);
        this.maxPerKey = maxPerKey;
        this.maxTotal = maxTotal;
        this.ttl = ttl;
        this.clock = clock;
        Files.createDirectories(root);
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(root)) {
            for (Path d : dirs) {
                String name = d.getFileName().toString();
                if (Files.isDirectory(d) && name.matches("[0-9a-f]{64}")) {
                    area(new KeyId(name));
                }
            }
        }
    }

    /** The area of {@code key} (made when first written). */
    Area area(KeyId key) {
        return areas.computeIfAbsent(key, Area::new);
    }

    /** Bytes held by every area. */
    synchronized long totalBytes() {
        return total;
    }

    private synchronized boolean reserve(Area a, long add) {
        if (a.bytes + add > maxPerKey || total + add > maxTotal) {
            return false;
        }
        a.bytes += add;
        total += add;
        return true;
    }

    private synchronized void release(Area a, long n) {
        a.bytes -= n;
        total -= n;
    }

    /** Counts again what the areas hold: gc, or a discard, may have removed files since they were counted. */
    private synchronized void remeasure() {
        total = 0;
        for (Area a : areas.values()) {
            a.bytes = a.measure()[0];
            total += a.bytes;
        }
    }

    /** Discards the areas no push has written to for the time to live. */
    void expire() throws IOException {
        long now = clock.getAsLong();
        for (Area a : areas.values()) {
            a.discardIfIdle(now);
        }
    }

    /** One client's pushed objects. */
    final class Area {
        final ObjectStore store;
        private final Path dir;
        /** Guarded by the enclosing {@link Staging}. */
        private long bytes;
        private long lastWriteMillis;

        private Area(KeyId key) {
            this.dir = root.resolve(key.hex());
            this.store = new ObjectStore(dir, repo.tmpDir());
            long[] measured = measure();
            this.lastWriteMillis = measured[1] == 0 ? clock.getAsLong() : measured[1];
            synchronized (Staging.this) {
                this.bytes = measured[0];
                total += measured[0];
            }
        }

        /** {bytes, newest modification time} of what the directory holds now. */
        private long[] measure() {
            long[] out = {0, 0};
            if (!Files.isDirectory(dir)) {
                return out;
            }
            try (Stream<Path> files = Files.walk(dir)) {
                files.forEach(p -> {
                    try {
                        BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
                        if (a.isRegularFile()) {
                            out[0] += a.size();
                            out[1] = Math.max(out[1], a.lastModifiedTime().toMillis());
                        }
                    } catch (IOException e) {
                        // Removed meanwhile (gc, or a discard): it holds nothing.
                    }
                });
            } catch (IOException | UncheckedIOException e) {
                // The directory went away while being walked: count what was seen.
            }
            return out;
        }

        boolean has(ObjectId id) {
            return store.has(id);
        }

        /**
         * Stores objects (each checked against its id) that neither the repository nor this area
         * holds; returns their ids. Refuses (413), storing nothing, when that would go over a limit.
         */
        synchronized List<ObjectId> put(List<ObjectId> ids, List<byte[]> encoded) throws IOException, Refusal {
            List<ObjectId> newIds = new ArrayList<>();
            List<byte[]> newEnc = new ArrayList<>();
            Set<ObjectId> seen = new HashSet<>();
            long add = 0;
            for (int i = 0; i < ids.size(); i++) {
                ObjectId id = ids.get(i);
                if (seen.add(id) && !repo.objects.has(id) && !store.has(id)) {
                    newIds.add(id);
                    newEnc.add(encoded.get(i));
                    add += encoded.get(i).length;
                }
            }
            if (newIds.isEmpty()) {
                return newIds;
            }
            if (!reserve(this, add)) {
                remeasure();
                if (!reserve(this, add)) {
                    throw new Refusal(413, "push refused: it would hold more than " + maxPerKey + " bytes for this client or "
                            + maxTotal + " for all clients of objects that no ref update has accepted yet (the server's"
                            + " --max-push and --max-staged); push less at a time, or update a ref between pushes");
                }
            }
            try (RepoLock.Held _ = repo.sharedLock()) {
                store.putAll(newEnc, newIds);
                store.sync();
            } catch (IOException | RuntimeException e) {
                release(this, add);
                throw e;
            }
            lastWriteMillis = clock.getAsLong();
            return newIds;
        }

        /** Removes objects this area holds (those a refused request stored). */
        synchronized void remove(Collection<ObjectId> ids) throws IOException {
            try (RepoLock.Held _ = repo.sharedLock()) {
                for (ObjectId id : ids) {
                    Path p = store.path(id);
                    try {
                        long size = Files.size(p);
                        Files.delete(p);
                        release(this, size);
                    } catch (NoSuchFileException e) {
                        // Already gone (gc, expiry).
                    }
                }
            }
        }

        /** Removes everything in the area. */
        synchronized void discard() throws IOException {
            try (RepoLock.Held _ = repo.sharedLock()) {
                if (Files.isDirectory(dir)) {
                    try (Stream<Path> s = Files.walk(dir)) {
                        for (Path p : (Iterable<Path>) s.sorted(Comparator.reverseOrder())::iterator) {
                            Files.deleteIfExists(p);
                        }
                    } catch (UncheckedIOException e) {
                        throw e.getCause();
                    }
                }
            }
            synchronized (Staging.this) {
                release(this, bytes);
            }
        }

        private synchronized void discardIfIdle(long now) throws IOException {
            if (now - lastWriteMillis > ttl.toMillis() && Files.isDirectory(dir)) {
                discard();
            }
        }
    }
}
