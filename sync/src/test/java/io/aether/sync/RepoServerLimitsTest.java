package io.aether.sync;

import static io.aether.sync.Fixture.ALICE;
import static io.aether.sync.Fixture.BOB;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.http.Limits;
import io.aether.security.ServerCredentials;
import io.aether.security.ServerTrust;
import io.aether.security.Tls;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.zip.Inflater;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a served repository costs its server per client (issue 10, items 6, 7 and 8): a slow
 * client does not hold the repository's lock, an object list does not multiply the answer, and
 * errors name objects, never files of the server.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RepoServerLimitsTest {

    private static final ServerCredentials CREDS = ServerCredentials.generate("limits-test");
    private static final ServerTrust PIN = ServerTrust.pinned(CREDS.certificate());
    /** Generous per exchange, so that slow clients are not cut off while the tests watch them. */
    private static final Limits PATIENT = RepoServer.limits(Duration.ofSeconds(60), 1, Duration.ofMinutes(10), 64, 16);

    @TempDir
    Path tmp;

    private Repository server;
    private RepoServer http;
    private ObjectId c1;
    private byte[] model;

    @BeforeEach
    void setUp() throws IOException {
        server = Repository.initBare(tmp.resolve("server"), Fixture.trust());
        AccessList.grant(server, ALICE.publicKey(), AccessList.parseRights("write"));
        AccessList.grant(server, BOB.publicKey(), AccessList.parseRights("read"));
        Repository alice = Fixture.init(tmp.resolve("alice"));
        model = TestModels.bytes(5, 12_000_000);
        c1 = Fixture.commitFile(alice, "model.onnx", model, "v1");
        http = serve(RepoServer.Options.defaults().withLimits(PATIENT));
        remote(http, ALICE).push(alice, "main", null, false, Progress.NONE);
    }

    @AfterEach
    void tearDown() {
        http.close();
    }

    private RepoServer serve(RepoServer.Options options) throws IOException {
        return RepoServer.start(server, new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), CREDS, options);
    }

    private static RemoteRepository remote(RepoServer to, io.aether.security.Identity who) {
        return new RemoteRepository(URI.create("https://127.0.0.1:" + to.port()), PIN, who, RemoteRepository.DEFAULT_MAX_DOWNLOAD_BYTES);
    }

    private List<ObjectId> chunks() throws IOException {
        List<ObjectId> ids = new ArrayList<>();
        server.manifest(server.file(c1, "model.onnx").manifest()).chunks().forEach(c -> ids.add(c.id()));
        return ids;
    }

    private static byte[] idList(List<ObjectId> ids) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        DataOutputStream d = new DataOutputStream(b);
        Wire.writeIds(d, ids);
        d.flush();
        return b.toByteArray();
    }

    /**
     * Opens a signed request with its head and the first {@code sent} bytes of {@code body}; the
     * caller goes on, or not. The socket's receive buffer is small, so the server soon waits on
     * a client that does not read.
     */
    private SSLSocket begin(String path, byte[] body, int sent, io.aether.security.Identity who) throws IOException {
        java.net.Socket raw = new java.net.Socket();
        raw.setReceiveBufferSize(4096);
        raw.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), http.port()), 10_000);
        SSLSocket s = Tls.handshake(Tls.clientContext(PIN), raw, "127.0.0.1", http.port());
        String auth = Signed.header(who, CREDS.fingerprint(), "POST", path, body);
        OutputStream out = s.getOutputStream();
        out.write(("POST " + path + " HTTP/1.1\r\nHost: t\r\nAuthorization: " + auth + "\r\nContent-Length: " + body.length
                + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(body, 0, sent);
        out.flush();
        return s;
    }

    private void assertGcDoesNotWait() throws Exception {
        CompletableFuture<GcResult> gc = CompletableFuture.supplyAsync(() -> {
            try {
                return server.gc();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        assertTrue(gc.get(10, TimeUnit.SECONDS) != null, "gc ran while the slow client was still connected");
    }

    @Test
    void aPushThatTricklesInDoesNotKeepGcWaiting() throws Exception {
        ByteArrayOutputStream frames = new ByteArrayOutputStream();
        try (Wire.Compressor c = new Wire.Compressor()) {
            byte[] data = TestModels.bytes(7, 1000); // incompressible: the trickle lasts minutes
            byte[] enc = Codec.encodeChunk(data, 0, data.length);
            Wire.writeFrame(new DataOutputStream(frames), ObjectId.hash(enc), enc, c);
        }
        byte[] body = frames.toByteArray();
        try (SSLSocket s = begin("/v1/push", body, 10, ALICE)) {
            Thread trickler = Thread.ofVirtual().start(() -> {
                try {
                    for (int i = 10; i < body.length; i++) {
                        Thread.sleep(200);
                        s.getOutputStream().write(body[i]);
                        s.getOutputStream().flush();
                    }
                } catch (IOException | InterruptedException e) {
                    // The test is over.
                }
            });
            Thread.sleep(1000);
            assertGcDoesNotWait();
            trickler.interrupt();
        }
        assertEquals(0, http.stalledConnections(), "the trickle was within this server's limits");
    }

    @Test
    void aClientThatDoesNotReadItsObjectsDoesNotKeepGcWaiting() throws Exception {
        byte[] body = idList(chunks());
        try (SSLSocket s = begin("/v1/objects", body, body.length, BOB)) {
            // The answer (12 MB) is more than the socket buffers hold, and nobody reads it.
            Thread.sleep(1000);
            assertGcDoesNotWait();
        }
    }

    /** The frames of a {@code /v1/objects} answer to {@code ids}, and its payload bytes. */
    private List<Wire.Frame> objects(RepoServer to, List<ObjectId> ids, long[] payload) throws IOException {
        List<Wire.Frame> frames = new ArrayList<>();
        Inflater inflater = new Inflater(true);
        HttpLink link = Signed.link(to.port(), PIN, BOB);
        try (HttpLink.Response r = link.send("POST", "/v1/objects", "application/x-aether-ids", idList(ids))) {
            assertEquals(200, r.status);
            DataInputStream in = new DataInputStream(r.body);
            for (Wire.Frame f; (f = Wire.readFrame(in, inflater)) != null; ) {
                frames.add(f);
            }
        } finally {
            inflater.end();
        }
        payload[0] = link.payloadReceived;
        return frames;
    }

    @Test
    void repeatedIdsAreServedOnce() throws IOException {
        ObjectId chunk = chunks().getFirst();
        long one = server.objects.read(chunk).length;
        long[] payload = new long[1];
        List<Wire.Frame> frames = objects(http, Collections.nCopies(2000, chunk), payload);
        assertEquals(1, frames.size(), "frames for 2000 copies of one id");
        assertTrue(payload[0] <= one + 64, "answered " + payload[0] + " bytes for a " + one + "-byte object");
    }

    @Test
    void eachAnswerIsCappedAndAFetchAsksAgainForTheRest() throws IOException {
        long cap = 256 << 10;
        try (RepoServer capped = serve(RepoServer.Options.defaults().withLimits(PATIENT).withMaxResponseBytes(cap))) {
            List<ObjectId> all = chunks();
            assertTrue(all.size() > 20, "chunks: " + all.size());
            long[] payload = new long[1];
            List<Wire.Frame> frames = objects(capped, all, payload);
            long bytes = frames.stream().mapToLong(f -> f.encoded().length).sum();
            long largest = frames.stream().mapToLong(f -> f.encoded().length).max().orElseThrow();
            assertTrue(frames.size() < all.size() && bytes <= cap + largest, frames.size() + " frames, " + bytes + " bytes");
            Repository bob = Fixture.init(tmp.resolve("bob"));
            assertEquals(c1, remote(capped, BOB).fetch(bob, "main", Progress.NONE).after());
            assertArrayEquals(model, bob.readFile(c1, "model.onnx"));
        }
    }

    private void assertNamesNoPathOfTheServer(String message) {
        assertFalse(message.contains(tmp.toString()), message);
        assertFalse(message.contains(server.storeDir().getFileName() + "/"), message);
        assertFalse(message.matches("(?s).*(^|\\s)/\\w.*"), message);
    }

    @Test
    void errorsNameObjectsNotFilesOfTheServer() throws IOException {
        ObjectId chunk = chunks().get(3);
        IntegrityTest.flipByte(server.objects.path(chunk), 500);
        Repository bob = Fixture.init(tmp.resolve("bob"));
        RepositoryException e = assertThrows(RepositoryException.class, () -> remote(http, BOB).fetch(bob, "main", Progress.NONE));
        assertTrue(e.getMessage().contains("object " + chunk.hex() + " is corrupt on the server"), e.getMessage());
        assertNamesNoPathOfTheServer(e.getMessage());

        // A damaged commit, read while the server works out a history.
        IntegrityTest.flipByte(server.objects.path(c1), 40);
        Repository carol = Fixture.init(tmp.resolve("carol"));
        e = assertThrows(RepositoryException.class, () -> remote(http, BOB).fetch(carol, "main", Progress.NONE));
        assertTrue(e.getMessage().contains(c1.hex()) && e.getMessage().contains("corrupt"), e.getMessage());
        assertNamesNoPathOfTheServer(e.getMessage());

        // A damaged ref file.
        Files.writeString(server.storeDir().resolve("refs/heads/main"), "not an id\n");
        e = assertThrows(RepositoryException.class, () -> remote(http, BOB).refs());
        assertTrue(e.getMessage().contains("refs/heads/main") && e.getMessage().contains("corrupt"), e.getMessage());
        assertNamesNoPathOfTheServer(e.getMessage());
    }
}
