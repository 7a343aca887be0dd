package io.aether.sync;

import static io.aether.sync.Fixture.ALICE;
import static io.aether.sync.Fixture.BOB;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.security.Identity;
import io.aether.security.ServerCredentials;
import io.aether.security.ServerTrust;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The "fill the server's disk" attack (issue 10, item 2): objects pushed without a ref update
 * that reaches them cost the server bounded disk, for a bounded time, and only for clients with
 * the write right.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class StagingTest {

    private static final ServerCredentials CREDS = ServerCredentials.generate("staging-test");
    private static final ServerTrust PIN = ServerTrust.pinned(CREDS.certificate());
    private static final Identity READER = Identity.generate();
    private static final int JUNK_BYTES = 200_000;
    private static final long PER_CLIENT = 1L << 20;
    private static final long ALL_CLIENTS = 1_200_000;

    @TempDir
    Path tmp;

    private RepoServer http;
    private Repository server;

    @AfterEach
    void tearDown() {
        if (http != null) {
            http.close();
        }
    }

    private void serve(Duration ttl) throws IOException {
        server = Repository.initBare(tmp.resolve("server"), Fixture.trust());
        AccessList.grant(server, ALICE.publicKey(), AccessList.parseRights("write"));
        AccessList.grant(server, BOB.publicKey(), AccessList.parseRights("write"));
        AccessList.grant(server, READER.publicKey(), AccessList.parseRights("read"));
        http = RepoServer.start(server, new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), CREDS,
                RepoServer.Options.defaults().withStaging(PER_CLIENT, ALL_CLIENTS, ttl));
    }

    /** Object frames of {@code n} chunks of random bytes that nothing refers to. */
    private static byte[] junk(int seed, int n, List<ObjectId> ids) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        DataOutputStream d = new DataOutputStream(out);
        try (Wire.Compressor c = new Wire.Compressor()) {
            for (int i = 0; i < n; i++) {
                byte[] data = TestModels.bytes(seed * 1000 + i, JUNK_BYTES);
                byte[] enc = Codec.encodeChunk(data, 0, data.length);
                ids.add(ObjectId.hash(enc));
                Wire.writeFrame(d, ids.getLast(), enc, c);
            }
        }
        d.flush();
        return out.toByteArray();
    }

    private String push(Identity who, byte[] frames) throws IOException {
        try (HttpLink.Response r = Signed.link(http.port(), PIN, who).send("POST", "/v1/push", "application/x-aether-objects", frames)) {
            return r.status + " " + r.text();
        }
    }

    /** The names of every file in the store that could hold an object (objects, incoming, staging, tmp). */
    private Set<String> files() throws IOException {
        Set<String> names = new HashSet<>();
        for (String dir : List.of("objects", "incoming", Staging.DIR, "tmp")) {
            Path d = server.storeDir().resolve(dir);
            if (Files.isDirectory(d)) {
                try (Stream<Path> s = Files.walk(d)) {
                    s.filter(Files::isRegularFile).forEach(p -> names.add(p.getParent().getFileName() + "" + p.getFileName()));
                }
            }
        }
        return names;
    }

    private void assertNoneStored(List<ObjectId> ids) throws IOException {
        Set<String> files = files();
        for (ObjectId id : ids) {
            assertTrue(!files.contains(id.hex()), "object " + id.hex() + " is still on the server's disk");
        }
    }

    @Test
    void clientsWithoutTheWriteRightStoreNothing() throws IOException {
        serve(RepoServer.Options.DEFAULT_STAGING_TTL);
        List<ObjectId> ids = new ArrayList<>();
        byte[] frames = junk(1, 4, ids);
        assertTrue(push(null, frames).startsWith("401 authentication required"));
        assertTrue(push(Fixture.MALLORY, frames).startsWith("401 key"));
        assertTrue(push(READER, frames).startsWith("403 key " + READER.keyId().hex() + " may not write"));
        assertNoneStored(ids);
    }

    @Test
    void aMalformedPushIsRefusedAndKeepsNothing() throws IOException {
        serve(RepoServer.Options.DEFAULT_STAGING_TTL);
        List<ObjectId> ids = new ArrayList<>();
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.write(junk(3, 3, ids));
        // Then a frame header claiming an empty object: the body does not parse, the valid frames before it go too.
        body.write(new byte[ObjectId.LENGTH + 9]);
        String answer = push(BOB, body.toByteArray());
        assertTrue(answer.startsWith("400 malformed push: frame for " + "0".repeat(64) + " has bad lengths 0/0"), answer);
        assertNoneStored(ids);
        // An id list that claims more ids than it holds is the client's mistake too, not the server's.
        byte[] list = {0, 0, 0, 5};
        try (HttpLink.Response r = Signed.link(http.port(), PIN, BOB).send("POST", "/v1/missing", "application/x-aether-ids", list)) {
            String text = r.status + " " + r.text();
            assertTrue(text.startsWith("400 malformed id list: "), text);
        }
    }

    @Test
    void unreferencedObjectsAreBoundedAndGoneOnceARefUpdateIsAccepted() throws IOException {
        serve(RepoServer.Options.DEFAULT_STAGING_TTL);
        List<ObjectId> junk = new ArrayList<>();
        // Bob pushes junk, a request at a time, until the server refuses.
        String answer = "";
        int requests = 0;
        while (!answer.startsWith("413")) {
            List<ObjectId> batch = new ArrayList<>();
            byte[] frames = junk(2 + requests, 2, batch);
            Set<ObjectId> before = new HashSet<>(SyncTest.staged(server, BOB));
            answer = push(BOB, frames);
            if (answer.startsWith("200")) {
                junk.addAll(batch);
            } else {
                assertEquals(before, new HashSet<>(SyncTest.staged(server, BOB)), "the refused request left nothing");
                assertNoneStored(batch);
            }
            assertTrue(++requests < 20, "the server went on accepting junk: " + answer);
        }
        assertTrue(answer.contains("push refused: it would hold more than " + PER_CLIENT + " bytes for this client"), answer);
        assertTrue(bytes(SyncTest.staged(server, BOB)) <= PER_CLIENT);
        // All clients together are bounded too: Alice gets what Bob left of the total.
        List<ObjectId> alices = new ArrayList<>();
        assertTrue(push(ALICE, junk(50, 1, alices)).startsWith("200"));
        assertTrue(push(ALICE, junk(51, 2, new ArrayList<>())).startsWith("413"));
        assertTrue(bytes(SyncTest.staged(server, BOB)) + bytes(SyncTest.staged(server, ALICE)) <= ALL_CLIENTS);

        // Bob pushes a real commit: once its ref update is accepted, his junk is gone.
        Repository bobs = Fixture.init(tmp.resolve("bob"));
        ObjectId c = Fixture.commitFile(bobs, "model.onnx", TestModels.bytes(9, 100_000), "v1");
        new RemoteRepository(URI.create("https://127.0.0.1:" + http.port()), PIN, BOB, RemoteRepository.DEFAULT_MAX_DOWNLOAD_BYTES)
                .push(bobs, "main", null, false, Progress.NONE);
        assertEquals(c, server.resolve("main"));
        assertNoneStored(junk);
        assertTrue(SyncTest.staged(server, BOB).isEmpty());
        // What is left in objects/ is exactly what main reaches.
        assertEquals(new HashSet<>(Transfer.closure(server, List.of(c), List.of())), new HashSet<>(server.objects.list()));
        // Alice's junk waits for her own ref update, its time to live, or gc.
        assertEquals(new HashSet<>(alices), new HashSet<>(SyncTest.staged(server, ALICE)));
        server.gc();
        assertNoneStored(alices);
    }

    @Test
    void unreferencedObjectsExpire() throws Exception {
        serve(Duration.ofSeconds(2));
        List<ObjectId> junk = new ArrayList<>();
        assertTrue(push(BOB, junk(3, 2, junk)).startsWith("200"));
        assertEquals(new HashSet<>(junk), new HashSet<>(SyncTest.staged(server, BOB)));
        for (int i = 0; i < 150 && !SyncTest.staged(server, BOB).isEmpty(); i++) {
            Thread.sleep(100);
        }
        assertNoneStored(junk);
        // And the room they took is free again.
        assertTrue(push(BOB, junk(4, 4, new ArrayList<>())).startsWith("200"));
    }

    private long bytes(List<ObjectId> ids) {
        return ids.size() * (long) (JUNK_BYTES + 1);
    }
}
