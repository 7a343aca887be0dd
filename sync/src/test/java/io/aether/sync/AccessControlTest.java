package io.aether.sync;

import static io.aether.sync.Fixture.ALICE;
import static io.aether.sync.Fixture.BOB;
import static io.aether.sync.Fixture.MALLORY;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.security.Identity;
import io.aether.security.ServerCredentials;
import io.aether.security.ServerTrust;
import io.aether.security.TrustStore;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Who may move what on a served repository (issue 10, item 1): the attacks of the review, each
 * refused with nothing changed, and the paths that must still work.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class AccessControlTest {

    private static final ServerCredentials CREDS = ServerCredentials.generate("access-test");
    private static final ServerTrust PIN = ServerTrust.pinned(CREDS.certificate());
    /** Read only. */
    private static final Identity CAROL = Identity.generate();

    @TempDir
    Path tmp;

    private Repository server;
    private RepoServer http;
    private Repository alice;
    private ObjectId v1;
    private ObjectId v2;

    /**
     * A server whose main is at v2 with tag v1.0 at v1. Alice may do anything, Bob write only,
     * Carol read only; Mallory's key is not on the list (and neither is anyone without a key).
     */
    @BeforeEach
    void setUp() throws IOException {
        server = Repository.initBare(tmp.resolve("server"), Fixture.trust());
        AccessList.grant(server, ALICE.publicKey(), AccessList.parseRights("force,tag"));
        AccessList.grant(server, BOB.publicKey(), AccessList.parseRights("write"));
        AccessList.grant(server, CAROL.publicKey(), AccessList.parseRights("read"));
        http = RepoServer.start(server, new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), CREDS);
        alice = Fixture.init(tmp.resolve("alice"));
        v1 = Fixture.commitFile(alice, "model.onnx", "weights v1\n", "v1");
        alice.createTag("v1.0", "HEAD", false);
        v2 = Fixture.commitFile(alice, "model.onnx", "weights v2\n", "v2");
        as(ALICE).push(alice, "main", null, false, Progress.NONE);
        as(ALICE).push(alice, "v1.0", null, false, Progress.NONE);
        assertEquals(Map.of("refs/heads/main", v2, "refs/tags/v1.0", v1), server.refs.all());
    }

    @AfterEach
    void tearDown() {
        http.close();
    }

    private RemoteRepository as(Identity who) {
        return new RemoteRepository(URI.create("https://127.0.0.1:" + http.port()), PIN, who, RemoteRepository.DEFAULT_MAX_DOWNLOAD_BYTES);
    }

    /** A history unrelated to the served one, every commit signed by a key the server trusts. */
    private Repository unrelated() throws IOException {
        Repository other = Fixture.init(tmp.resolve("other"));
        Fixture.commitFile(other, "model.onnx", "someone else's model\n", "another project");
        return other;
    }

    /** The refs, and every object file the store holds anywhere (objects, incoming, staging). */
    private record State(Map<String, ObjectId> refs, Set<ObjectId> objects, Set<ObjectId> held) {
    }

    private State state() throws IOException {
        Set<ObjectId> held = new HashSet<>(server.incoming.list());
        for (Identity who : List.of(ALICE, BOB, CAROL, MALLORY)) {
            held.addAll(SyncTest.staged(server, who));
        }
        return new State(server.refs.all(), new HashSet<>(server.objects.list()), held);
    }

    private static void refused(int status, String reason, ThrowingRunnable attack) {
        RepositoryException e = assertThrows(RepositoryException.class, attack::run);
        assertTrue(e.getMessage().contains(reason), e.getMessage());
        assertTrue(e.getMessage().lines().count() == 1, "one line: " + e.getMessage());
        if (status == 403) {
            assertTrue(e instanceof VerificationException, "403 reads as a refusal to verify: " + e);
        }
    }

    @FunctionalInterface
    private interface ThrowingRunnable {
        void run() throws IOException;
    }

    @Test
    void clientsWithoutAKeyOrWithAnUnlistedKeyMoveNothing() throws IOException {
        Repository other = unrelated();
        alice.createTag("evil", v1.hex(), false);
        State before = state();
        for (Identity who : new Identity[] {null, MALLORY}) {
            String reason = who == null ? "authentication required" : "is not on this server's access list";
            // Rewind main to an older signed commit.
            refused(401, reason, () -> as(who).push(alice, v1.hex(), "refs/heads/main", true, Progress.NONE));
            // Move the release tag.
            refused(401, reason, () -> as(who).push(alice, v2.hex(), "refs/tags/v1.0", true, Progress.NONE));
            // Create a tag.
            refused(401, reason, () -> as(who).push(alice, "evil", null, false, Progress.NONE));
            // Publish an unrelated repository's signed history as main.
            refused(401, reason, () -> as(who).push(other, "main", null, true, Progress.NONE));
            // Not even reading.
            refused(401, reason, () -> as(who).refs());
            // The raw update, without the client's preliminaries.
            byte[] rewind = ("refs/heads/main " + v2.hex() + " " + v1.hex() + " 1 " + http.repositoryId()).getBytes(StandardCharsets.UTF_8);
            String auth = who == null ? null : Signed.header(who, CREDS.fingerprint(), "POST", "/v1/update-ref", rewind);
            assertTrue(text(send(http.port(), "POST", "/v1/update-ref", rewind, auth)).startsWith("401 "));
            assertEquals(before, state(), "nothing changed after the attacks of " + who);
        }
    }

    @Test
    void aWriterCanNeitherRewindNorTagNorReplaceMain() throws IOException {
        Repository other = unrelated();
        alice.createTag("evil", v1.hex(), false);
        State before = state();
        refused(403, "may not force-update refs/heads/main", () -> as(BOB).push(alice, v1.hex(), "refs/heads/main", true, Progress.NONE));
        refused(403, "may not create or move tags", () -> as(BOB).push(alice, v2.hex(), "refs/tags/v1.0", true, Progress.NONE));
        refused(403, "may not create or move tags", () -> as(BOB).push(alice, "evil", null, false, Progress.NONE));
        refused(409, "non-fast-forward", () -> as(BOB).push(other, "main", null, false, Progress.NONE));
        refused(403, "may not force-update refs/heads/main", () -> as(BOB).push(other, "main", null, true, Progress.NONE));
        // A reader may read, not push.
        assertEquals(v2.hex(), as(CAROL).refs().get("refs/heads/main"));
        refused(403, "may not write", () -> as(CAROL).push(other, "main", null, true, Progress.NONE));
        State after = state();
        assertEquals(before.refs(), after.refs(), "no ref moved");
        assertEquals(before.objects(), after.objects(), "nothing entered the store");
    }

    @Test
    void grantedRightsStillWork() throws IOException {
        // Write: fast-forward, and a new branch.
        ObjectId v3 = Fixture.commitFile(alice, "model.onnx", "weights v3\n", "v3");
        as(BOB).push(alice, "main", null, false, Progress.NONE);
        assertEquals(v3, server.resolve("main"));
        as(BOB).push(alice, "main", "refs/heads/experiment", false, Progress.NONE);
        assertEquals(v3, server.resolve("refs/heads/experiment"));
        // Tag: create; tag and force: move.
        alice.createTag("v3.0", "HEAD", false);
        as(ALICE).push(alice, "v3.0", null, false, Progress.NONE);
        assertEquals(v3, server.resolve("refs/tags/v3.0"));
        as(ALICE).push(alice, v2.hex(), "refs/tags/v1.0", true, Progress.NONE);
        assertEquals(v2, server.resolve("refs/tags/v1.0"));
        // Force: rewind main.
        as(ALICE).push(alice, v1.hex(), "refs/heads/main", true, Progress.NONE);
        assertEquals(v1, server.resolve("main"));
        // Read.
        Repository carols = Repository.init(tmp.resolve("carol"), Fixture.trust());
        assertEquals(v3, as(CAROL).fetch(carols, "experiment", Progress.NONE).after());
        // Nothing pushed waits in a staging area once its ref update was accepted.
        assertTrue(SyncTest.staged(server, ALICE).isEmpty() && SyncTest.staged(server, BOB).isEmpty());
    }

    @Test
    void readingWithoutAKeyNeedsPublicRead() throws IOException {
        refused(401, "authentication required", () -> as(null).refs());
        try (RepoServer open = RepoServer.start(server, new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), CREDS,
                RepoServer.Options.defaults().withPublicRead(true))) {
            RemoteRepository anonymous = new RemoteRepository(URI.create("https://127.0.0.1:" + open.port()), PIN);
            Repository reader = Repository.init(tmp.resolve("reader"), Fixture.trust());
            assertEquals(v2, anonymous.fetch(reader, "main", Progress.NONE).after());
            // So may a client whose key is not on the list; it still may not write.
            RemoteRepository unlisted = new RemoteRepository(URI.create("https://127.0.0.1:" + open.port()), PIN, MALLORY,
                    RemoteRepository.DEFAULT_MAX_DOWNLOAD_BYTES);
            assertEquals(v2.hex(), unlisted.refs().get("refs/heads/main"));
            refused(401, "is not on this server's access list", () -> unlisted.push(alice, v1.hex(), "refs/heads/main", true, Progress.NONE));
            State before = state();
            RepositoryException e = assertThrows(RepositoryException.class,
                    () -> anonymous.push(unrelated(), "main", null, true, Progress.NONE));
            assertTrue(e.getMessage().contains("authentication required"), e.getMessage());
            assertEquals(before, state());
        }
    }

    /** Sends {@code body} to {@code path} on {@code port} with exactly the header {@code authorization}. */
    private static HttpLink.Response send(int port, String method, String path, byte[] body, String authorization) throws IOException {
        HttpLink.Signer signer = authorization == null ? null : (server, m, p, b) -> authorization;
        return Signed.link(port, PIN, signer).send(method, path, "text/plain", body);
    }

    private static String text(HttpLink.Response r) throws IOException {
        try (r) {
            return r.status + " " + r.text();
        }
    }

    @Test
    void staleReplayedMisdirectedAndTamperedRequestsAreRefused() throws IOException {
        int port = http.port();
        String fp = CREDS.fingerprint();
        String good = Signed.header(BOB, fp, "GET", "/v1/refs", null);
        assertTrue(text(send(port, "GET", "/v1/refs", null, good)).startsWith("200 "));
        assertTrue(text(send(port, "GET", "/v1/refs", null, good)).startsWith("401 replayed request"), "the same request again");

        java.security.SecureRandom random = new java.security.SecureRandom();
        long stale = System.currentTimeMillis() - RequestAuth.MAX_SKEW.toMillis() - 60_000;
        String old = RequestAuth.sign(BOB, fp, "GET", "/v1/refs", null, stale, random).header();
        assertTrue(text(send(port, "GET", "/v1/refs", null, old)).startsWith("401 request signed at"));

        String otherServer = Signed.header(BOB, "ab".repeat(32), "GET", "/v1/refs", null);
        assertTrue(text(send(port, "GET", "/v1/refs", null, otherServer)).startsWith("401 bad request signature"));

        String otherPath = Signed.header(BOB, fp, "POST", "/v1/missing", null);
        assertTrue(text(send(port, "GET", "/v1/refs", null, otherPath)).startsWith("401 bad request signature"));

        // Mallory signs with her key but claims Bob's key id.
        RequestAuth.Claim forged = RequestAuth.sign(MALLORY, fp, "GET", "/v1/refs", null, System.currentTimeMillis(), random);
        String claimsBob = new RequestAuth.Claim(BOB.keyId(), forged.timeMillis(), forged.nonce(), forged.bodySha256(),
                forged.signature()).header();
        assertTrue(text(send(port, "GET", "/v1/refs", null, claimsBob)).startsWith("401 bad request signature"));

        // A signed body swapped for another.
        byte[] ids = new byte[4];
        String forEmpty = Signed.header(BOB, fp, "POST", "/v1/missing", ids);
        byte[] other = {0, 0, 0, 1};
        assertTrue(text(send(port, "POST", "/v1/missing", other, forEmpty)).startsWith("401 the request body is not"));

        assertTrue(text(send(port, "GET", "/v1/refs", null, "Aether-ML-DSA-65 key=zz")).startsWith("401 malformed Authorization"));
        assertTrue(http.refusedRequests() >= 7, "refusals are counted: " + http.refusedRequests());
    }

    @Test
    void aSignedRefUpdateIsGoodForItsRepositoryRefAndOldCommitOnly() throws IOException {
        ObjectId v3 = Fixture.commitFile(alice, "model.onnx", "weights v3\n", "v3");
        // Stage v3's objects the ordinary way, by pushing it to another branch name first.
        as(ALICE).push(alice, "main", "refs/heads/staging", false, Progress.NONE);
        byte[] update = ("refs/heads/main " + v2.hex() + " " + v3.hex() + " 0 " + http.repositoryId()).getBytes(StandardCharsets.UTF_8);
        String signed = Signed.header(ALICE, CREDS.fingerprint(), "POST", "/v1/update-ref", update);

        // Another repository behind the same certificate refuses it: it names this repository.
        Repository second = Repository.initBare(tmp.resolve("second"), Fixture.trust());
        AccessList.grant(second, ALICE.publicKey(), AccessList.parseRights("force,tag"));
        try (RepoServer secondHttp = RepoServer.start(second, new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), CREDS)) {
            String answer = text(send(secondHttp.port(), "POST", "/v1/update-ref", update, signed));
            assertTrue(answer.startsWith("403 this update is signed for repository " + http.repositoryId()), answer);
            assertTrue(second.refs.all().isEmpty());
        }

        assertTrue(text(send(http.port(), "POST", "/v1/update-ref", update, signed)).startsWith("200 updated refs/heads/main"));
        assertEquals(v3, server.resolve("main"));
        // The same update again: a replay, and (signed afresh) stale, since main moved on.
        assertTrue(text(send(http.port(), "POST", "/v1/update-ref", update, signed)).startsWith("401 replayed request"));
        Fixture.commitFile(alice, "model.onnx", "weights v4\n", "v4");
        as(ALICE).push(alice, "main", null, false, Progress.NONE);
        String again = Signed.header(ALICE, CREDS.fingerprint(), "POST", "/v1/update-ref", update);
        assertTrue(text(send(http.port(), "POST", "/v1/update-ref", update, again)).startsWith("409 refs/heads/main is at"));
    }

    @Test
    void accessChangesApplyToARunningServer() throws IOException {
        refused(401, "is not on this server's access list", () -> as(MALLORY).refs());
        AccessList.grant(server, MALLORY.publicKey(), AccessList.parseRights("read"));
        assertEquals(v2.hex(), as(MALLORY).refs().get("refs/heads/main"));
        assertTrue(AccessList.revoke(server, MALLORY.keyId()));
        refused(401, "is not on this server's access list", () -> as(MALLORY).refs());
        // A history by an author the server does not trust stays refused whoever pushes it.
        Repository mallorys = Repository.init(tmp.resolve("m"), TrustStore.of(MALLORY.publicKey()));
        Fixture.write(mallorys.workDir().resolve("model.onnx"), "mallory's\n");
        mallorys.add(List.of("."));
        mallorys.commit("evil", MALLORY);
        State before = state();
        refused(403, "unknown key", () -> as(ALICE).push(mallorys, "main", "refs/heads/other", false, Progress.NONE));
        assertEquals(before.refs(), state().refs());
        assertEquals(before.objects(), state().objects());
    }
}
