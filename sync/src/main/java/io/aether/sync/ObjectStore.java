package io.aether.sync;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Objects as files named by their id: {@code <dir>/ab/cdef...} (the first two hex digits are a
 * fan-out directory). Each object is written through {@link AtomicFiles} and verified against
 * its id every time it is read. Messages name objects by id, never by file: they reach peers of
 * a server, and the id says where the file is.
 *
 * <p>Directory entries of new objects are made durable by {@link #sync()}, which callers run
 * before any ref can point at those objects.
 */
final class ObjectStore {

    private final Path dir;
    private final Path tmpDir;
    private final Set<Path> dirtyDirs = new HashSet<>();

    ObjectStore(Path dir, Path tmpDir) {
        this.dir = dir;
        this.tmpDir = tmpDir;
    }

    Path dir() {
        return dir;
    }

    Path path(ObjectId id) {
        return dir.resolve(id.hex().substring(0, 2)).resolve(id.hex().substring(2));
    }

    boolean has(ObjectId id) {
        return Files.isRegularFile(path(id));
    }

    /** Stores an encoded object under its hash; a no-op if present. Returns the id. */
    ObjectId put(byte[] encoded) throws IOException {
        ObjectId id = ObjectId.hash(encoded);
        putVerified(id, encoded);
        return id;
    }

    private void putVerified(ObjectId id, byte[] encoded) throws IOException {
        if (encoded.length > Codec.MAX_OBJECT_BYTES) {
            throw new CorruptObjectException(id, "object " + id.hex() + " is larger than " + Codec.MAX_OBJECT_BYTES + " bytes");
        }
        Path target = path(id);
        if (Files.isRegularFile(target)) {
            return;
        }
        AtomicFiles.publish(AtomicFiles.stage(tmpDir, encoded, 0, encoded.length), target);
        synchronized (dirtyDirs) {
            dirtyDirs.add(target.getParent());
            dirtyDirs.add(dir);
        }
    }

    /**
     * Stores many encoded objects (their ids computed here, or checked against {@code ids} when
     * given): each is written to a temp file, all are forced to disk together, then renamed into
     * place. Same guarantee as {@link #put}, a fraction of the waiting.
     */
    List<ObjectId> putAll(List<byte[]> encoded, List<ObjectId> ids) throws IOException {
        List<ObjectId> out = new ArrayList<>(encoded.size());
        List<Path> staged = new ArrayList<>();
        List<Path> targets = new ArrayList<>();
        try {
            for (int i = 0; i < encoded.size(); i++) {
                byte[] enc = encoded.get(i);
                ObjectId id = ObjectId.hash(enc);
                if (ids != null && !id.equals(ids.get(i))) {
                    throw new CorruptObjectException(ids.get(i), "object " + ids.get(i).hex() + ": content hashes to " + id.hex() + "; refused");
                }
                if (enc.length > Codec.MAX_OBJECT_BYTES) {
                    throw new CorruptObjectException(id, "object " + id.hex() + " is larger than " + Codec.MAX_OBJECT_BYTES + " bytes");
                }
                out.add(id);
                Path target = path(id);
                if (!Files.isRegularFile(target) && !targets.contains(target)) {
                    staged.add(AtomicFiles.stageUnsynced(tmpDir, enc, 0, enc.length));
                    targets.add(target);
                }
            }
            AtomicFiles.forceAll(staged, false);
            for (int i = 0; i < staged.size(); i++) {
                AtomicFiles.publish(staged.get(i), targets.get(i));
                synchronized (dirtyDirs) {
                    dirtyDirs.add(targets.get(i).getParent());
                    dirtyDirs.add(dir);
                }
            }
        } finally {
            for (Path p : staged) {
                Files.deleteIfExists(p);
            }
        }
        return out;
    }

    /** Makes the names of objects written since the last call durable. */
    void sync() throws IOException {
        List<Path> dirs;
        synchronized (dirtyDirs) {
            dirs = new ArrayList<>();
            for (Path d : dirtyDirs) {
                // gc may have removed an emptied fan-out directory: nothing in it needs to be durable.
                if (Files.isDirectory(d)) {
                    dirs.add(d);
                }
            }
            dirtyDirs.clear();
        }
        AtomicFiles.forceAll(dirs, true);
    }

    /** The object's bytes, verified against its id; {@link RepositoryException} if absent. */
    byte[] read(ObjectId id) throws IOException {
        byte[] enc = readIfPresent(id);
        if (enc == null) {
            throw new RepositoryException("object " + id.hex() + " is missing");
        }
        return enc;
    }

    /** The object's bytes, verified, or null if this store does not hold it. */
    byte[] readIfPresent(ObjectId id) throws IOException {
        Path p = path(id);
        byte[] enc;
        try {
            long size = Files.size(p);
            if (size > Codec.MAX_OBJECT_BYTES) {
                throw new CorruptObjectException(id, "object " + id.hex() + " is " + size + " bytes, over the limit");
            }
            enc = Files.readAllBytes(p);
        } catch (NoSuchFileException e) {
            return null;
        }
        ObjectId actual = ObjectId.hash(enc);
        if (!actual.equals(id)) {
            throw new CorruptObjectException(id, "object " + id.hex() + " is corrupt: its bytes hash to " + actual.hex());
        }
        return enc;
    }

    /** Every object id in the store (names that are not ids are skipped). */
    List<ObjectId> list() throws IOException {
        List<ObjectId> ids = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return ids;
        }
        try (DirectoryStream<Path> fans = Files.newDirectoryStream(dir)) {
            for (Path fan : fans) {
                String f = fan.getFileName().toString();
                if (f.length() != 2 || !Files.isDirectory(fan)) {
                    continue;
                }
                try (DirectoryStream<Path> objs = Files.newDirectoryStream(fan)) {
                    for (Path o : objs) {
                        String hex = f + o.getFileName();
                        if (ObjectId.isFullHex(hex)) {
                            ids.add(new ObjectId(hex));
                        }
                    }
                }
            }
        }
        return ids;
    }

    void delete(ObjectId id) throws IOException {
        Files.deleteIfExists(path(id));
    }

    /** Moves an object from this store into {@code target} (a rename: both live in one store directory). */
    void moveTo(ObjectId id, ObjectStore target) throws IOException {
        Path to = target.path(id);
        if (Files.isRegularFile(to)) {
            Files.deleteIfExists(path(id));
            return;
        }
        try {
            AtomicFiles.publish(path(id), to);
        } catch (NoSuchFileException e) {
            // A concurrent promotion of the same object moved it first.
            if (!Files.isRegularFile(to)) {
                throw e;
            }
        }
        synchronized (target.dirtyDirs) {
            target.dirtyDirs.add(to.getParent());
            target.dirtyDirs.add(target.dir);
        }
    }
}
