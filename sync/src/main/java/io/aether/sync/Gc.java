package io.aether.sync;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashSet;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Garbage collection, run under the store's exclusive lock (no other writer, in this process or
 * another, is between writing an object and referencing it). Marks everything reachable from
 * branches, tags, HEAD, FETCH_HEAD, MERGE_HEAD and the index; deletes the rest, leftover
 * temporary files, and objects of unfinished transfers (incoming/ and a server's staging/). A corrupt reachable object stops gc
 * before anything is deleted.
 */
final class Gc {

    private final Repository repo;

    Gc(Repository repo) {
        this.repo = repo;
    }

    GcResult run() throws IOException {
        Set<ObjectId> live = new HashSet<>();
        Deque<ObjectId> todo = new ArrayDeque<>(repo.refs.all().values());
        repo.refs.headCommit().ifPresent(todo::add);
        repo.refs.readSpecial("FETCH_HEAD").ifPresent(todo::add);
        repo.refs.readSpecial("MERGE_HEAD").ifPresent(todo::add);
        if (Files.exists(repo.indexFile())) {
            for (Index.Entry e : Index.read(repo.indexFile()).entries().values()) {
                todo.add(e.manifest());
            }
        }
        while (!todo.isEmpty()) {
            ObjectId id = todo.poll();
            if (!live.add(id)) {
                continue;
            }
            if (!repo.objects.has(id)) {
                // A ref to an object this store lacks cannot be fixed by deleting more: report it.
                throw new RepositoryException("gc stopped, nothing deleted: reachable object " + id.hex() + " is missing");
            }
            byte[] enc = readNonChunk(id);
            if (enc != null) {
                todo.addAll(Codec.references(id, enc));
            }
        }
        long removed = 0;
        long bytes = 0;
        for (ObjectId id : repo.objects.list()) {
            if (!live.contains(id)) {
                bytes += Files.size(repo.objects.path(id));
                repo.objects.delete(id);
                removed++;
            }
        }
        long incoming = 0;
        for (ObjectId id : repo.incoming.list()) {
            repo.incoming.delete(id);
            incoming++;
        }
        // A server's per-client staging areas: pushes no ref update has accepted (yet).
        Path staging = repo.storeDir().resolve(Staging.DIR);
        if (Files.isDirectory(staging)) {
            try (DirectoryStream<Path> areas = Files.newDirectoryStream(staging)) {
                for (Path area : areas) {
                    ObjectStore held = new ObjectStore(area, repo.tmpDir());
                    for (ObjectId id : held.list()) {
                        held.delete(id);
                        incoming++;
                    }
                    pruneEmptyFanouts(area);
                }
            }
        }
        long temps = 0;
        if (Files.isDirectory(repo.tmpDir())) {
            try (DirectoryStream<Path> s = Files.newDirectoryStream(repo.tmpDir())) {
                for (Path p : s) {
                    Files.deleteIfExists(p);
                    temps++;
                }
            }
        }
        pruneEmptyFanouts(repo.objects.dir());
        pruneEmptyFanouts(repo.incoming.dir());
        return new GcResult(live.size(), removed, bytes, temps, incoming);
    }

    /** The object's verified bytes, or null for a chunk (a leaf: only its hash is checked). */
    private byte[] readNonChunk(ObjectId id) throws IOException {
        byte[] enc = repo.objects.read(id);
        return Codec.kindOf(id, enc) == ObjectKind.CHUNK ? null : enc;
    }

    private static void pruneEmptyFanouts(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return;
        }
        try (Stream<Path> s = Files.list(dir)) {
            for (Path fan : (Iterable<Path>) s::iterator) {
                if (Files.isDirectory(fan)) {
                    try (Stream<Path> inner = Files.list(fan)) {
                        if (inner.findAny().isEmpty()) {
                            Files.deleteIfExists(fan);
                        }
                    }
                }
            }
        }
    }
}
