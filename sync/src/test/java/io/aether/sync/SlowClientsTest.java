package io.aether.sync;

import static io.aether.sync.Fixture.ALICE;
import static io.aether.sync.Fixture.BOB;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.http.Limits;
import io.aether.security.Identity;
import io.aether.security.ServerCredentials;
import io.aether.security.ServerTrust;
import io.aether.security.Tls;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The served repository's limits on slow and greedy clients, now the http module's {@link Limits}
 * (what {@code StallGuard} proved on the JDK's server): raw TLS clients that trickle, stall, read
 * too slowly or open too many connections are cut off or refused, and the others are served.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SlowClientsTest {

    private static final ServerCredentials CREDS = ServerCredentials.generate("slow-clients-test");
    private static final ServerTrust PIN = ServerTrust.pinned(CREDS.certificate());

    @TempDir
    static Path tmp;

    private static Repository server;
    private static byte[] chunkList;
    private static long chunkBytes;
    private RepoServer http;

    @BeforeAll
    static void pushAModel() throws IOException {
        server = Repository.initBare(tmp.resolve("server"), Fixture.trust());
        AccessList.grant(server, ALICE.publicKey(), AccessList.parseRights("write"));
        AccessList.grant(server, BOB.publicKey(), AccessList.parseRights("read"));
        Repository alice = Fixture.init(tmp.resolve("alice"));
        // 12 MB: an answer far larger than what the socket buffers of both ends hold.
        ObjectId c1 = Fixture.commitFile(alice, "model.onnx", TestModels.bytes(5, 12_000_000), "v1");
        try (RepoServer first = RepoServer.start(server, new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), CREDS)) {
            remote(first, BOB).refs(); // the server works before the tests change its limits
            remote(first, ALICE).push(alice, "main", null, false, Progress.NONE);
        }
        List<ObjectId> chunks = new ArrayList<>();
        server.manifest(server.file(c1, "model.onnx").manifest()).chunks().forEach(c -> chunks.add(c.id()));
        for (ObjectId id : chunks) {
            chunkBytes += server.objects.read(id).length;
        }
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        DataOutputStream d = new DataOutputStream(b);
        Wire.writeIds(d, chunks);
        d.flush();
        chunkList = b.toByteArray();
    }

    @AfterEach
    void stop() {
        if (http != null) {
            http.close();
        }
    }

    private void serve(Duration stallLimit, long minRate, Duration deadline, int connections, int perClient) throws IOException {
        http = RepoServer.start(server, new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), CREDS,
                RepoServer.Options.defaults().withLimits(RepoServer.limits(stallLimit, minRate, deadline, connections, perClient)));
    }

    private static RemoteRepository remote(RepoServer to, Identity who) {
        return new RemoteRepository(URI.create("https://127.0.0.1:" + to.port()), PIN, who, RemoteRepository.DEFAULT_MAX_DOWNLOAD_BYTES);
    }

    /** A TLS connection from {@code localAddress} with a small receive buffer, handshake done, nothing sent. */
    private SSLSocket connect(String localAddress) throws IOException {
        Socket raw = new Socket();
        raw.setReceiveBufferSize(4096);
        raw.bind(new InetSocketAddress(InetAddress.getByName(localAddress), 0));
        raw.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), http.port()), 10_000);
        raw.setSoTimeout(30_000);
        return Tls.handshake(Tls.clientContext(PIN), raw, "127.0.0.1", http.port());
    }

    private static void send(SSLSocket s, String text) throws IOException {
        s.getOutputStream().write(text.getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
    }

    /** A signed request's head for {@code body}, and the whole body unless told otherwise. */
    private static String head(String method, String path, byte[] body, Identity who) {
        return method + " " + path + " HTTP/1.1\r\nHost: t\r\nAuthorization: " + Signed.header(who, CREDS.fingerprint(), method, path, body)
                + "\r\n" + (body == null ? "" : "Content-Length: " + body.length + "\r\n") + "\r\n";
    }

    /** A push body: one frame of an incompressible chunk of {@code size} bytes. */
    private static byte[] onePushedChunk(int size) throws IOException {
        ByteArrayOutputStream frames = new ByteArrayOutputStream();
        try (Wire.Compressor c = new Wire.Compressor()) {
            byte[] data = TestModels.bytes(7, size);
            byte[] enc = Codec.encodeChunk(data, 0, data.length);
            Wire.writeFrame(new DataOutputStream(frames), ObjectId.hash(enc), enc, c);
        }
        return frames.toByteArray();
    }

    private static int status(SSLSocket s) throws IOException {
        return Integer.parseInt(HttpLink.readLine(s.getInputStream()).split(" ")[1]);
    }

    /** Writes {@code bytes} one every {@code everyMillis} until the server drops the connection; how long that took. */
    private static long trickle(SSLSocket s, byte[] bytes, long everyMillis) throws InterruptedException {
        long t0 = System.nanoTime();
        try {
            OutputStream out = s.getOutputStream();
            for (byte b : bytes) {
                Thread.sleep(everyMillis);
                out.write(b);
                out.flush();
            }
        } catch (IOException cut) {
            return (System.nanoTime() - t0) / 1_000_000;
        }
        throw new AssertionError("a client sending a byte every " + everyMillis + " ms was never cut off");
    }

    /** Asks for every chunk of the model (12 MB) on {@code s}, as Bob. */
    private static void askForEveryChunk(SSLSocket s) throws IOException {
        send(s, head("POST", "/v1/objects", chunkList, BOB));
        s.getOutputStream().write(chunkList);
        s.getOutputStream().flush();
    }

    /** Sends {@code head} at once, then {@code body} a byte every {@code everyMillis}; how long until the server cut it off. */
    private long trickledAfter(String head, byte[] body, long everyMillis) throws IOException, InterruptedException {
        try (SSLSocket s = connect("127.0.0.1")) {
            send(s, head);
            return trickle(s, body, everyMillis);
        }
    }

    /** Reads what the server sends until it closes the connection; the bytes read. */
    private static long drainUntilClosed(InputStream in, int chunk, long pauseMillis) throws InterruptedException {
        byte[] buf = new byte[chunk];
        long total = 0;
        try {
            for (int n; (n = in.read(buf)) > 0; ) {
                total += n;
                Thread.sleep(pauseMillis);
            }
        } catch (SocketTimeoutException e) {
            throw new AssertionError("the server never dropped the connection", e);
        } catch (IOException reset) {
            // A reset is as good as an end here.
        }
        return total;
    }

    private void awaitStalls(long n) throws InterruptedException {
        for (int i = 0; i < 300 && http.stalledConnections() < n; i++) {
            Thread.sleep(100);
        }
        assertEquals(n, http.stalledConnections(), "connections cut off as slow");
    }

    @Test
    void aClientTricklingItsRequestHeadIsCutOffWhileOthersAreServed() throws Exception {
        // Each byte comes well inside the 30 s stall limit: only the minimum rate catches it.
        serve(Duration.ofSeconds(30), 1024, Duration.ofMinutes(10), 64, 16);
        try (SSLSocket loris = connect("127.0.0.1")) {
            CompletableFuture<Long> cut = CompletableFuture.supplyAsync(() -> {
                try {
                    return trickle(loris, head("GET", "/v1/refs", null, BOB).getBytes(StandardCharsets.US_ASCII), 200);
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            });
            Thread.sleep(500);
            assertTrue(remote(http, BOB).refs().containsKey("refs/heads/main"), "another client is served meanwhile");
            long took = cut.get(60, TimeUnit.SECONDS);
            assertTrue(took >= 1_500 && took < 10_000, "cut off after " + took + " ms (2 s grace, 30 s stall limit)");
        }
        awaitStalls(1);
        assertTrue(remote(http, BOB).refs().containsKey("refs/heads/main"), "and after");
    }

    @Test
    void aPushTricklingBelowTheMinimumRateIsCutOff() throws Exception {
        serve(Duration.ofSeconds(30), 1024, Duration.ofMinutes(10), 64, 16);
        byte[] body = onePushedChunk(100_000);
        long took = trickledAfter(head("POST", "/v1/push", body, ALICE), body, 200);
        assertTrue(took < 10_000, "cut off after " + took + " ms");
        awaitStalls(1);
        assertTrue(SyncTest.staged(server, ALICE).isEmpty(), "nothing of the trickle was stored");
    }

    @Test
    void aPushStillArrivingAtTheDeadlineIsCutOff() throws Exception {
        // Ten bytes a second clear a minimum rate of one; the 1.5 s deadline ends it.
        serve(Duration.ofSeconds(30), 1, Duration.ofMillis(1500), 64, 16);
        byte[] body = onePushedChunk(100_000);
        long took = trickledAfter(head("POST", "/v1/push", body, ALICE), body, 100);
        assertTrue(took >= 1_400 && took < 10_000, "cut off after " + took + " ms");
        awaitStalls(1);
    }

    @Test
    void aRefusedPushStillArrivingAtTheDeadlineIsCutOff() throws Exception {
        // Refused at once (no key), and its body is read and dropped so that the client gets the
        // reason: within the request's deadline, not for as long as the client keeps sending.
        serve(Duration.ofSeconds(30), 1, Duration.ofMillis(1500), 64, 16);
        long took = trickledAfter("POST /v1/push HTTP/1.1\r\nHost: t\r\nContent-Length: 300\r\n\r\n", new byte[300], 100);
        assertTrue(took >= 1_400 && took < 10_000, "cut off after " + took + " ms");
        awaitStalls(1);
    }

    @Test
    void aClientThatStopsReadingItsAnswerIsCutOffAtTheStallLimit() throws Exception {
        serve(Duration.ofMillis(500), 1024, Duration.ofMinutes(10), 64, 16);
        try (SSLSocket s = connect("127.0.0.1")) {
            askForEveryChunk(s);
            awaitStalls(1); // 12 MB that nobody reads
            long read = drainUntilClosed(s.getInputStream(), 1 << 16, 0);
            assertTrue(read < chunkBytes, "the answer was cut short, after " + read + " of " + chunkBytes + " bytes");
        }
        assertTrue(remote(http, BOB).refs().containsKey("refs/heads/main"), "the server goes on serving");
    }

    @Test
    void aClientReadingItsAnswerTooSlowlyIsCutOffAtTheDeadline() throws Exception {
        // It reads often enough never to be idle for the 30 s stall limit, at about 40 KB/s: the
        // 12 MB answer would take five minutes. The deadline, 2 s after the request, ends it.
        serve(Duration.ofSeconds(30), 1024, Duration.ofSeconds(2), 64, 16);
        try (SSLSocket s = connect("127.0.0.1")) {
            askForEveryChunk(s);
            long t0 = System.nanoTime();
            Thread reader = Thread.ofVirtual().start(() -> {
                try {
                    drainUntilClosed(s.getInputStream(), 4096, 100);
                } catch (IOException | InterruptedException | AssertionError e) {
                    // Done with: what the server decided is the subject, not what its socket buffers still hold.
                }
            });
            awaitStalls(1);
            long took = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(took < 10_000, "cut off after " + took + " ms");
            reader.interrupt();
        }
    }

    @Test
    void theServersOwnWorkIsNotTheClientsStall() throws Exception {
        // A second: a post-quantum TLS handshake on a loaded machine is the client's to finish within it.
        serve(Duration.ofSeconds(1), 1024, Duration.ofMinutes(10), 64, 16);
        CompletableFuture<RepositoryException> answered;
        // gc's lock keeps the server from reading the store for three stall limits; the client waits for it, not the reverse.
        try (RepoLock.Held _ = server.exclusiveLock()) {
            answered = CompletableFuture.supplyAsync(() -> {
                try {
                    remote(http, BOB).fetch(Fixture.init(tmp.resolve("bob-" + System.nanoTime())), "main", Progress.NONE);
                    return null;
                } catch (IOException | RepositoryException e) {
                    return e instanceof RepositoryException r ? r : new RepositoryException(e.toString());
                }
            });
            Thread.sleep(3000);
        }
        assertEquals(null, answered.get(60, TimeUnit.SECONDS), "the fetch completed");
        assertEquals(0, http.stalledConnections());
    }

    @Test
    void connectionsOverTheCapsAreRefusedAndTheirPlacesComeBack() throws Exception {
        serve(Duration.ofSeconds(30), 1024, Duration.ofMinutes(10), 3, 2);
        List<SSLSocket> held = new ArrayList<>();
        try {
            held.add(connect("127.0.0.1"));
            held.add(connect("127.0.0.1"));
            // A third from the same address, as the client sees it: the http module's JSON refusal, its message shown.
            RepositoryException e = assertThrows(RepositoryException.class, () -> remote(http, BOB).refs());
            assertTrue(e.getMessage().contains("refused: too many connections from 127.0.0.1: 2 open (limit 2)"), e.getMessage());
            held.add(connect("127.0.0.2"));
            try (SSLSocket fourth = connect("127.0.0.3")) {
                send(fourth, head("GET", "/v1/refs", null, BOB));
                assertEquals(503, status(fourth), "a fourth for the server");
            }
            try (SSLSocket s = held.getFirst()) {
                send(s, head("GET", "/v1/refs", null, BOB));
                assertEquals(200, status(s), "an admitted connection is served");
            }
        } finally {
            for (SSLSocket s : held) {
                s.close();
            }
        }
        // Closed connections free their places (the server notices the close a moment later).
        for (int i = 0; ; i++) {
            try {
                remote(http, BOB).refs();
                break;
            } catch (RepositoryException stillCounted) {
                assertTrue(i < 100, "no place came back: " + stillCounted.getMessage());
                Thread.sleep(50);
            }
        }
        assertTrue(http.refusedRequests() >= 2, "refusals counted: " + http.refusedRequests());
    }
}
