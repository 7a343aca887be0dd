package io.aether.sync;

import static io.aether.sync.Fixture.ALICE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.security.ServerCredentials;
import io.aether.security.ServerTrust;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A client fetching from a hostile server (issue 10, item 3): whatever the server lists or
 * sends, nothing that verified objects do not refer to is asked for or stored, and a fetch
 * stays within its download limit.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class HostileServerTest {

    private static final ServerCredentials CREDS = ServerCredentials.generate("hostile-server");
    private static final ServerTrust PIN = ServerTrust.pinned(CREDS.certificate());

    /** How the fake server lies. */
    private enum Lie {
        NONE, JUNK_AFTER_THE_COMMITS, UNRELATED_SIGNED_COMMIT, JUNK_WITH_THE_OBJECTS
    }

    @TempDir
    Path tmp;

    private Repository source;
    private Repository client;
    private FakeServer fake;
    private volatile Lie lie = Lie.NONE;
    private volatile ObjectId tip;
    private final List<ObjectId> junk = new ArrayList<>();
    private final List<byte[]> junkBytes = new ArrayList<>();
    /** Every id the client asked for, in order, with the request it came in. */
    private final List<String> asked = new CopyOnWriteArrayList<>();

    @BeforeEach
    void setUp() throws IOException {
        source = Fixture.init(tmp.resolve("source"));
        Fixture.commitFile(source, "model.onnx", TestModels.bytes(1, 300_000), "v1");
        tip = Fixture.commitFile(source, "model.onnx", TestModels.bytes(2, 300_000), "v2");
        client = Fixture.init(tmp.resolve("client"));
        for (int i = 0; i < 64; i++) {
            byte[] data = TestModels.bytes(100 + i, 100_000);
            junkBytes.add(Codec.encodeChunk(data, 0, data.length));
            junk.add(ObjectId.hash(junkBytes.getLast()));
        }
        fake = FakeServer.start(CREDS, this::answer);
    }

    @AfterEach
    void tearDown() {
        fake.close();
    }

    private void answer(String path, DataInputStream in, DataOutputStream out) {
        try (Wire.Compressor c = new Wire.Compressor()) {
            if (path.equals("/v1/refs")) {
                out.write((tip.hex() + " refs/heads/main\nREPOSITORY " + "0".repeat(32) + "\n").getBytes(StandardCharsets.UTF_8));
            } else if (path.equals("/v1/history")) {
                List<ObjectId> wants = Wire.readIds(in);
                wants.forEach(id -> asked.add("history " + id.hex()));
                List<ObjectId> haves = Wire.readIds(in);
                for (ObjectId id : Transfer.newCommits(source, wants, haves)) {
                    Wire.writeFrame(out, id, source.objects.read(id), c);
                }
                if (lie == Lie.JUNK_AFTER_THE_COMMITS) {
                    for (int i = 0; i < junk.size(); i++) {
                        Wire.writeFrame(out, junk.get(i), junkBytes.get(i), c);
                    }
                } else if (lie == Lie.UNRELATED_SIGNED_COMMIT) {
                    Repository other = Fixture.init(tmp.resolve("other-" + System.nanoTime()));
                    ObjectId stray = Fixture.commitFile(other, "x.txt", "x\n", "signed by a trusted key, part of nothing here");
                    junk.add(stray);
                    Wire.writeFrame(out, stray, other.objects.read(stray), c);
                }
                out.flush();
            } else {
                List<ObjectId> ids = Wire.readIds(in);
                ids.forEach(id -> asked.add("objects " + id.hex()));
                for (ObjectId id : ids) {
                    Wire.writeFrame(out, id, source.objects.read(id), c);
                }
                if (lie == Lie.JUNK_WITH_THE_OBJECTS) {
                    Wire.writeFrame(out, junk.getFirst(), junkBytes.getFirst(), c);
                }
                out.flush();
            }
        } catch (IOException | RuntimeException e) {
            // The client hung up on a lie: that is what the tests want.
        }
    }

    private RemoteRepository remote(long maxDownload) {
        return new RemoteRepository(URI.create("https://127.0.0.1:" + fake.port()), PIN, null, maxDownload);
    }

    /** What the client's store holds outside objects/ that the fetched tip does not reach. */
    private Set<ObjectId> strays() throws IOException {
        Set<ObjectId> reachable = new HashSet<>(Transfer.closure(source, List.of(tip), List.of()));
        Set<ObjectId> held = new HashSet<>(client.incoming.list());
        held.addAll(client.objects.list());
        held.removeAll(reachable);
        return held;
    }

    private void assertAskedOnlyForReachableIds() throws IOException {
        Set<ObjectId> reachable = new HashSet<>(Transfer.closure(source, List.of(tip), List.of()));
        for (String a : asked) {
            assertTrue(reachable.contains(new ObjectId(a.substring(a.indexOf(' ') + 1))), "asked for an unreachable id: " + a);
        }
    }

    @Test
    void anHonestServerIsReadTopDown() throws IOException {
        SyncResult r = remote(RemoteRepository.DEFAULT_MAX_DOWNLOAD_BYTES).fetch(client, "main", Progress.NONE);
        assertEquals(tip, r.after());
        assertTrue(strays().isEmpty());
        assertAskedOnlyForReachableIds();
        // Commits, then trees, then manifests, then chunks: the kind never goes back up.
        int last = -1;
        for (String a : asked) {
            ObjectId id = new ObjectId(a.substring(a.indexOf(' ') + 1));
            int rank = List.of(ObjectKind.COMMIT, ObjectKind.TREE, ObjectKind.FILE, ObjectKind.CHUNK)
                    .indexOf(Codec.kindOf(id, source.objects.read(id)));
            assertTrue(rank >= last, "asked for a " + Codec.kindOf(id, source.objects.read(id)) + " after a lower kind: " + asked);
            last = rank;
        }
    }

    @Test
    void framesNoVerifiedObjectRefersToAreRefusedAndNotStored() throws IOException {
        for (Lie l : List.of(Lie.JUNK_AFTER_THE_COMMITS, Lie.UNRELATED_SIGNED_COMMIT, Lie.JUNK_WITH_THE_OBJECTS)) {
            lie = l;
            client = Fixture.init(tmp.resolve("client-" + l));
            CorruptObjectException e = assertThrows(CorruptObjectException.class,
                    () -> remote(RemoteRepository.DEFAULT_MAX_DOWNLOAD_BYTES).fetch(client, "main", Progress.NONE), l.name());
            assertTrue(e.getMessage().contains("refused"), e.getMessage());
            assertEquals(Set.of(), strays(), l + ": nothing unreachable is stored");
            assertTrue(client.refs.readSpecial("FETCH_HEAD").isEmpty());
            assertAskedOnlyForReachableIds();
        }
        // An honest answer completes the fetch, from what the refused attempts kept.
        lie = Lie.NONE;
        asked.clear();
        assertEquals(tip, remote(RemoteRepository.DEFAULT_MAX_DOWNLOAD_BYTES).fetch(client, "main", Progress.NONE).after());
        assertTrue(asked.stream().noneMatch(a -> a.startsWith("history")), "the commits were kept: " + asked);
        assertTrue(strays().isEmpty());
    }

    @Test
    void aFetchStaysWithinItsDownloadLimit() throws IOException {
        // A signed commit whose one file claims a gigabyte of chunks.
        List<Codec.ChunkRef> chunks = new ArrayList<>();
        for (int i = 0; i < 4096; i++) {
            chunks.add(new Codec.ChunkRef(ObjectId.hash(new byte[] {(byte) i, (byte) (i >> 8)}), 256 << 10));
        }
        Repository big = Fixture.init(tmp.resolve("big"));
        ObjectId manifest = big.objects.put(Codec.encodeManifest(new Codec.Manifest(1L << 30, chunks)));
        ObjectId tree = big.objects.put(Codec.encodeTree(List.of(new FileEntry("model.onnx", 1L << 30, manifest))));
        ObjectId commit = big.writeCommit(tree, List.of(), "a gigabyte, supposedly", ALICE);
        source = big;
        tip = commit;
        long limit = 8L << 20;
        RepositoryException e = assertThrows(RepositoryException.class, () -> remote(limit).fetch(client, "main", Progress.NONE));
        assertTrue(e.getMessage().contains("over its limit of " + limit + " bytes"), e.getMessage());
        assertTrue(asked.stream().noneMatch(a -> chunks.stream().anyMatch(c -> a.endsWith(c.id().hex()))),
                "no chunk was asked for");
        long held = 0;
        for (ObjectId id : client.incoming.list()) {
            held += client.incoming.read(id).length;
        }
        assertTrue(held <= limit, "incoming/ holds " + held + " bytes");
        assertEquals(Set.of(commit, tree, manifest), new HashSet<>(client.incoming.list()));
    }
}
