package io.aether.sync;

import static io.aether.sync.Fixture.ALICE;
import static io.aether.sync.Fixture.BOB;
import static io.aether.sync.Fixture.MALLORY;
import static io.aether.sync.Fixture.write;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.security.ServerCredentials;
import io.aether.security.ServerTrust;
import io.aether.security.Tls;
import io.aether.security.TrustStore;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Two (or three) repositories syncing through a real HTTPS server on loopback. */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class SyncTest {

    private static final ServerCredentials CREDS = ServerCredentials.generate("sync-test");
    private static final ServerTrust PIN = ServerTrust.pinned(CREDS.certificate());

    @TempDir
    Path tmp;

    private Repository server;
    private RepoServer http;
    private Repository alice;
    private Repository bob;

    @BeforeEach
    void setUp() throws IOException {
        // The server accepts Alice's and Bob's signatures only; Alice may do anything, Bob read and write.
        server = Repository.initBare(tmp.resolve("server"), Fixture.trust());
        AccessList.grant(server, ALICE.publicKey(), AccessList.parseRights("force,tag"));
        AccessList.grant(server, BOB.publicKey(), AccessList.parseRights("write"));
        http = RepoServer.start(server, new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), CREDS);
        alice = Fixture.init(tmp.resolve("alice"));
        bob = Fixture.init(tmp.resolve("bob"));
    }

    @AfterEach
    void tearDown() {
        http.close();
    }

    private RemoteRepository remote(io.aether.security.Identity client) {
        return remote(http.port(), client);
    }

    private static RemoteRepository remote(int port, io.aether.security.Identity client) {
        return new RemoteRepository(URI.create("https://127.0.0.1:" + port), PIN, client, RemoteRepository.DEFAULT_MAX_DOWNLOAD_BYTES);
    }

    /** A ~4 MB model: body weights shared across versions, plus a small head. */
    private static byte[] model(float[] body, long headSeed) {
        Map<String, float[]> t = new LinkedHashMap<>();
        t.put("body", body);
        t.put("head", TestModels.weights(headSeed, 2000));
        return TestModels.onnx(t);
    }

    private static final float[] BODY = TestModels.weights(42, 1_000_000);

    /** What {@code who} pushed to {@code server} that no ref update has accepted (yet). */
    /** What {@code who} has staged on {@code server}; empty once the server has dropped the client's staging area. */
    static List<ObjectId> staged(Repository server, io.aether.security.Identity who) throws IOException {
        java.nio.file.Path dir = server.storeDir().resolve(Staging.DIR).resolve(who.keyId().hex());
        try {
            return new ObjectStore(dir, server.tmpDir()).list();
        } catch (java.nio.file.NoSuchFileException e) {
            // The expiry removes the area while this lists it: it is gone, so nothing is staged.
            return List.of();
        }
    }

    private ObjectId commitModel(Repository repo, byte[] model, String msg, io.aether.security.Identity who) throws IOException {
        write(repo.workDir().resolve("model.onnx"), model);
        repo.add(List.of("."));
        return repo.commit(msg, who);
    }

    @Test
    void pushThenFetchAndMergeCarriesTheModelAndThenOnlyTheChangedChunks() throws IOException {
        byte[] v1 = model(BODY, 1);
        ObjectId c1 = commitModel(alice, v1, "v1", ALICE);
        SyncResult push1 = remote(ALICE).push(alice, "main", null, false, Progress.NONE);
        assertEquals("refs/heads/main", push1.ref());
        assertEquals(c1, push1.after());
        assertEquals(c1, server.resolve("main"));
        assertTrue(push1.objectBytes() >= v1.length, push1.toString());

        SyncResult fetch1 = remote(BOB).fetch(bob, "main", Progress.NONE);
        assertEquals(c1, fetch1.after());
        assertEquals(c1, bob.resolve("FETCH_HEAD"));
        assertEquals(MergeResult.Kind.FAST_FORWARD, bob.merge("FETCH_HEAD", BOB).kind());
        assertArrayEquals(v1, Files.readAllBytes(bob.workDir().resolve("model.onnx")));

        // Fine-tune about 1% of the weights (one contiguous block) and sync again.
        float[] tuned = BODY.clone();
        for (int i = 300_000; i < 310_000; i++) {
            tuned[i] *= 1.01f;
        }
        byte[] v2 = model(tuned, 1);
        ObjectId c2 = commitModel(alice, v2, "fine-tune", ALICE);
        SyncResult push2 = remote(ALICE).push(alice, "main", null, false, Progress.NONE);
        assertTrue(push2.bytesSent() < v2.length / 10, "push of a 1% change sent " + push2.bytesSent() + " of " + v2.length);
        assertTrue(push2.objects() <= 8, "objects sent: " + push2.objects());
        SyncResult fetch2 = remote(BOB).fetch(bob, "main", Progress.NONE);
        assertTrue(fetch2.bytesReceived() < v2.length / 10, "fetch received " + fetch2.bytesReceived());
        assertEquals(MergeResult.Kind.FAST_FORWARD, bob.merge("FETCH_HEAD", BOB).kind());
        assertEquals(c2, bob.resolve("main"));
        assertArrayEquals(v2, bob.readFile(c2, "model.onnx"));

        SyncResult again = remote(BOB).fetch(bob, "main", Progress.NONE);
        assertTrue(again.upToDate());
        assertEquals(0, again.objects());
    }

    @Test
    void anInterruptedFetchResumesAndMovesOnlyWhatIsStillMissing() throws IOException {
        byte[] v1 = model(TestModels.weights(7, 1_500_000), 1);
        ObjectId c1 = commitModel(alice, v1, "v1", ALICE);
        remote(ALICE).push(alice, "main", null, false, Progress.NONE);

        long fullPlanBytes;
        try (CuttingProxy proxy = new CuttingProxy(http.port(), v1.length / 2, true)) {
            IOException e = assertThrows(IOException.class, () -> remote(proxy.port(), BOB).fetch(bob, "main", Progress.NONE));
            assertTrue(proxy.didCut());
            assertTrue(e.getMessage().contains("run the command again to resume"), e.getMessage());
        }
        // Nothing visible changed: no FETCH_HEAD, no objects promoted; some objects wait in incoming/.
        assertTrue(bob.refs.readSpecial("FETCH_HEAD").isEmpty());
        assertTrue(bob.objects.list().isEmpty());
        long kept = bob.incoming.list().size();
        assertTrue(kept > 0, "objects received before the cut are kept");
        fullPlanBytes = v1.length;

        SyncResult resumed = remote(BOB).fetch(bob, "main", Progress.NONE);
        assertEquals(c1, resumed.after());
        assertTrue(resumed.objectBytes() < fullPlanBytes * 0.75, "resumed transfer moved " + resumed.objectBytes() + " of " + fullPlanBytes);
        assertTrue(resumed.bytesReceived() < fullPlanBytes * 0.75, "resumed transfer received " + resumed.bytesReceived());
        assertTrue(bob.incoming.list().isEmpty(), "everything was verified and moved into the store");
        assertArrayEquals(v1, bob.readFile(c1, "model.onnx"));
    }

    @Test
    void anInterruptedPushResumesAndTheServerKeepsWhatArrived() throws IOException {
        byte[] v1 = model(TestModels.weights(8, 1_500_000), 1);
        ObjectId c1 = commitModel(alice, v1, "v1", ALICE);
        try (CuttingProxy proxy = new CuttingProxy(http.port(), v1.length / 2, false)) {
            assertThrows(IOException.class, () -> remote(proxy.port(), ALICE).push(alice, "main", null, false, Progress.NONE));
            assertTrue(proxy.didCut());
        }
        // Closing the proxy waited for the server to finish the cut upload: the client sees the cut at
        // once, but the server may still be reading and storing what arrived before it.
        assertTrue(server.refs.read("refs/heads/main").isEmpty(), "the remote ref did not move");
        assertTrue(server.objects.list().isEmpty(), "nothing unverified reached the server's store");
        assertFalse(staged(server, ALICE).isEmpty(), "the objects received before the cut are kept");
        SyncResult resumed = remote(ALICE).push(alice, "main", null, false, Progress.NONE);
        assertEquals(c1, server.resolve("main"));
        assertTrue(resumed.objectBytes() < v1.length * 0.75, "resumed push moved " + resumed.objectBytes() + " of " + v1.length);
        assertArrayEquals(v1, server.readFile(c1, "model.onnx"));
    }

    @Test
    void theServerRefusesHistorySignedByAnUnknownKeyAndChangesNothing() throws IOException {
        Repository mallory = Repository.init(tmp.resolve("mallory"), TrustStore.of(MALLORY.publicKey()));
        commitModel(mallory, model(BODY, 3), "evil", MALLORY);
        VerificationException e = assertThrows(VerificationException.class,
                () -> remote(ALICE).push(mallory, "main", null, false, Progress.NONE));
        assertTrue(e.getMessage().contains(MALLORY.keyId().hex()), e.getMessage());
        assertTrue(server.refs.all().isEmpty(), "no ref moved");
        assertTrue(server.objects.list().isEmpty(), "no object entered the store");
    }

    @Test
    void theServerRefusesACommitWithABadSignature() throws IOException {
        ObjectId c1 = commitModel(alice, "x".getBytes(StandardCharsets.UTF_8), "v1", ALICE);
        Commit good = alice.commit(c1);
        byte[] body = Codec.commitBody(good.tree(), List.of(), ALICE.keyId(), 5, "forged");
        byte[] forged = Codec.encodeCommit(body, ALICE.sign(Codec.signedBytes(Codec.commitBody(good.tree(), List.of(), ALICE.keyId(), 6, "x"))));
        ObjectId forgedId = ObjectId.hash(forged);
        // Upload the forged commit and its tree with the raw protocol (a normal client refuses to push it).
        List<ObjectId> ids = List.of(forgedId, good.tree());
        HttpLink link = Signed.link(http.port(), PIN, ALICE);
        List<ObjectId> all = new java.util.ArrayList<>(ids);
        for (FileEntry f : alice.tree(good.tree())) {
            all.add(f.manifest());
            alice.manifest(f.manifest()).chunks().forEach(c -> all.add(c.id()));
        }
        java.io.ByteArrayOutputStream frames = new java.io.ByteArrayOutputStream();
        try (Wire.Compressor compressor = new Wire.Compressor()) {
            DataOutputStream o = new DataOutputStream(frames);
            for (ObjectId id : all) {
                Wire.writeFrame(o, id, id.equals(forgedId) ? forged : alice.objects.read(id), compressor);
            }
            o.flush();
        }
        try (HttpLink.Response r = link.send("POST", "/v1/push", "application/x-aether-objects", frames.toByteArray())) {
            assertEquals(200, r.status, r.text());
        }
        try (HttpLink.Response r = link.send("POST", "/v1/update-ref", "text/plain",
                ("refs/heads/main - " + forgedId.hex() + " 0 " + http.repositoryId()).getBytes(StandardCharsets.UTF_8))) {
            String text = r.text();
            assertEquals(403, r.status, text);
            assertTrue(text.contains("bad signature"), text);
        }
        assertTrue(server.refs.all().isEmpty());
        assertFalse(server.objects.has(forgedId));
    }

    @Test
    void nonFastForwardPushesAreRejectedUnlessForced() throws IOException {
        commitModel(alice, model(BODY, 1), "v1", ALICE);
        remote(ALICE).push(alice, "main", null, false, Progress.NONE);
        remote(BOB).fetch(bob, "main", Progress.NONE);
        bob.merge("FETCH_HEAD", BOB);
        ObjectId bobs = Fixture.commitFile(bob, "notes.txt", "bob\n", "bob's change");
        ObjectId alices = commitModel(alice, model(BODY, 2), "v2", ALICE);
        remote(ALICE).push(alice, "main", null, false, Progress.NONE);

        RepositoryException e = assertThrows(RepositoryException.class, () -> remote(BOB).push(bob, "main", null, false, Progress.NONE));
        assertTrue(e.getMessage().contains("non-fast-forward"), e.getMessage());
        assertEquals(alices, server.resolve("main"));

        // Bob pulls (fetch + merge), then his push is a fast-forward.
        remote(BOB).fetch(bob, "main", Progress.NONE);
        MergeResult m = bob.merge("FETCH_HEAD", BOB);
        assertEquals(MergeResult.Kind.MERGED, m.kind());
        remote(BOB).push(bob, "main", null, false, Progress.NONE);
        assertEquals(m.commit(), server.resolve("main"));
        assertTrue(server.isAncestor(bobs, m.commit()) && server.isAncestor(alices, m.commit()));

        // A forced push may rewind the branch.
        remote(ALICE).push(alice, alices.hex(), "refs/heads/main", true, Progress.NONE);
        assertEquals(alices, server.resolve("main"));
    }

    @Test
    void tagsArePushedAndNotMovedWithoutForce() throws IOException {
        ObjectId c1 = commitModel(alice, model(BODY, 1), "v1", ALICE);
        alice.createTag("v1.0", "HEAD", false);
        SyncResult r = remote(ALICE).push(alice, "v1.0", null, false, Progress.NONE);
        assertEquals("refs/tags/v1.0", r.ref());
        assertEquals(c1, server.resolve("v1.0"));
        ObjectId c2 = commitModel(alice, model(BODY, 2), "v2", ALICE);
        alice.createTag("v1.0", "HEAD", true);
        RepositoryException e = assertThrows(RepositoryException.class, () -> remote(ALICE).push(alice, "v1.0", null, false, Progress.NONE));
        assertTrue(e.getMessage().contains("already exists"), e.getMessage());
        remote(ALICE).push(alice, "v1.0", null, true, Progress.NONE);
        assertEquals(c2, server.resolve("v1.0"));
        // Fetching a tag by its short name.
        assertEquals(c2, remote(BOB).fetch(bob, "v1.0", Progress.NONE).after());
        assertEquals(Optional.of(c2), bob.refs.readSpecial("FETCH_HEAD"));
    }

    @Test
    void aCorruptObjectOnTheServerIsNotServedAndTheReasonArrives() throws IOException {
        ObjectId c1 = commitModel(alice, model(BODY, 1), "v1", ALICE);
        remote(ALICE).push(alice, "main", null, false, Progress.NONE);
        ObjectId chunk = server.manifest(server.file(c1, "model.onnx").manifest()).chunks().get(3).id();
        IntegrityTest.flipByte(server.objects.path(chunk), 500);
        RepositoryException e = assertThrows(RepositoryException.class, () -> remote(BOB).fetch(bob, "main", Progress.NONE));
        assertTrue(e.getMessage().contains(chunk.hex()) && e.getMessage().contains("corrupt"), e.getMessage());
        assertTrue(bob.refs.readSpecial("FETCH_HEAD").isEmpty());
        assertTrue(bob.objects.list().isEmpty());
    }

    /** A lying server: advertises a commit and sends other bytes under its id. */
    @Test
    void bytesThatDoNotMatchTheirIdAreRefusedByTheClient() throws IOException {
        ObjectId claimed = ObjectId.hash("what the server claims".getBytes(StandardCharsets.UTF_8));
        try (FakeServer liar = FakeServer.start(CREDS, (path, body, out) -> {
            if (path.equals("/v1/refs")) {
                out.write((claimed.hex() + " refs/heads/main\n").getBytes(StandardCharsets.UTF_8));
            } else {
                try (Wire.Compressor c = new Wire.Compressor()) {
                    Wire.writeFrame(out, claimed, Codec.encodeChunk(new byte[] {6, 6, 6}, 0, 3), c);
                }
            }
        })) {
            CorruptObjectException e = assertThrows(CorruptObjectException.class,
                    () -> remote(liar.port(), BOB).fetch(bob, "main", Progress.NONE));
            assertTrue(e.getMessage().contains(claimed.hex()) && e.getMessage().contains("refused"), e.getMessage());
            assertFalse(bob.incoming.has(claimed));
            assertTrue(bob.refs.readSpecial("FETCH_HEAD").isEmpty());
        }
    }

    @Test
    void aClientThatStallsMidPushIsCutOffAndReleasesTheRepositoryForGc() throws Exception {
        try (RepoServer guarded = RepoServer.start(server, new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), CREDS,
                RepoServer.Options.defaults().withLimits(RepoServer.limits(java.time.Duration.ofSeconds(1),
                        RepoServer.DEFAULT_MIN_BYTES_PER_SECOND, RepoServer.DEFAULT_IO_DEADLINE, 64, 16)));
             javax.net.ssl.SSLSocket s = Tls.connect(Tls.clientContext(PIN), "127.0.0.1", guarded.port(), 10_000)) {
            // Half a push, signed by a client that may push: the handler waits for a body that never comes.
            String auth = Signed.header(ALICE, CREDS.fingerprint(), "POST", "/v1/push", new byte[1_000_000]);
            s.getOutputStream().write(("POST /v1/push HTTP/1.1\r\nHost: t\r\nAuthorization: " + auth
                    + "\r\nContent-Length: 1000000\r\n\r\n" + "x".repeat(20)).getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            for (int i = 0; i < 300 && guarded.stalledConnections() == 0; i++) {
                Thread.sleep(100);
            }
            assertEquals(1, guarded.stalledConnections(), "the stalled push was cut off");
            // gc needs the lock exclusively; it would wait for ever if the stalled handler still held it.
            var gc = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try {
                    return server.gc();
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            assertTrue(gc.get(30, java.util.concurrent.TimeUnit.SECONDS) != null);
            // The server goes on serving.
            ObjectId c = commitModel(alice, model(BODY, 7), "after the stall", ALICE);
            remote(guarded.port(), ALICE).push(alice, "main", null, false, Progress.NONE);
            assertEquals(c, server.resolve("main"));
        }
    }

    @Test
    void theClientRefusesAnImpostorServer() throws IOException {
        ServerCredentials other = ServerCredentials.generate("impostor");
        try (RepoServer impostor = RepoServer.start(server, new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), other)) {
            IOException e = assertThrows(IOException.class, () -> remote(impostor.port(), ALICE).refs());
            assertTrue(e.getMessage().contains("is not the pinned"), e.getMessage());
        }
    }

    @Test
    void aPulledCommitFromAnUntrustedAuthorIsRefusedByTheClient() throws IOException {
        commitModel(alice, model(BODY, 1), "v1", ALICE);
        remote(ALICE).push(alice, "main", null, false, Progress.NONE);
        Repository carol = Repository.init(tmp.resolve("carol"), TrustStore.of(BOB.publicKey()));
        VerificationException e = assertThrows(VerificationException.class, () -> remote(BOB).fetch(carol, "main", Progress.NONE));
        assertTrue(e.getMessage().contains(ALICE.keyId().hex()), e.getMessage());
        assertTrue(carol.refs.readSpecial("FETCH_HEAD").isEmpty());
        assertTrue(carol.objects.list().isEmpty());
    }
}
