package io.aether.sync;

import static io.aether.sync.Fixture.ALICE;
import static io.aether.sync.Fixture.commitFile;
import static io.aether.sync.IntegrityTest.flipByte;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.security.TrustStore;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** fsck finds each kind of damage, names the object and the ref, and passes a sound repository. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class FsckTest {

    @TempDir
    Path tmp;

    private Repository repo;
    private ObjectId first;
    private ObjectId second;

    /** Two commits on main (a model and a config), tag v1 on the first, one file staged but not committed. */
    @BeforeEach
    void twoCommits() throws IOException {
        repo = Fixture.init(tmp);
        Fixture.write(tmp.resolve("config.json"), "{\"lr\": 0.1}\n");
        first = commitFile(repo, "model.bin", TestModels.bytes(1, 300_000), "first");
        repo.createTag("v1", "HEAD", false);
        second = commitFile(repo, "model.bin", TestModels.bytes(2, 300_000), "second");
        Fixture.write(tmp.resolve("notes.txt"), "staged only\n");
        repo.add(List.of("notes.txt"));
    }

    private static List<String> lines(FsckResult r) {
        return r.problems().stream().map(FsckResult.Problem::line).toList();
    }

    @Test
    void aSoundRepositoryPasses() throws IOException {
        FsckResult r = repo.fsck();
        assertEquals(List.of(), lines(r));
        assertTrue(r.ok());
        assertEquals(repo.objects.list().size(), r.objects());
        assertEquals(2, r.commits());
        // refs/heads/main, refs/tags/v1 and the index.
        assertEquals(3, r.refs());
    }

    @Test
    void aFlippedByteInAChunkIsReportedWithTheRefThatReachesIt() throws IOException {
        ObjectId chunk = repo.manifest(repo.file(second, "model.bin").manifest()).chunks().get(1).id();
        flipByte(repo.objects.path(chunk), 5000);
        FsckResult r = Repository.open(tmp, Fixture.trust()).fsck();
        assertEquals(1, r.problems().size(), lines(r).toString());
        FsckResult.Problem p = r.problems().get(0);
        assertEquals(chunk, p.object());
        assertEquals("refs/heads/main", p.ref());
        assertTrue(p.line().startsWith("object " + chunk.hex() + " is corrupt"), p.line());
        assertTrue(p.line().endsWith("(reachable from refs/heads/main)"), p.line());
    }

    @Test
    void aMissingObjectIsReportedWithWhatNamesIt() throws IOException {
        ObjectId manifest = repo.file(first, "model.bin").manifest();
        ObjectId tree = repo.commit(first).tree();
        Files.delete(repo.objects.path(manifest));
        FsckResult r = repo.fsck();
        assertEquals(List.of("object " + manifest.hex() + " is missing: tree " + tree.shortHex()
                + " names it as the file 'model.bin' (reachable from refs/heads/main)"), lines(r));
    }

    @Test
    void aCommitWhoseAuthorIsNotTrustedIsReported() throws IOException {
        FsckResult r = Repository.open(tmp, TrustStore.of(Fixture.BOB.publicKey())).fsck();
        assertEquals(2, r.problems().size(), lines(r).toString());
        assertEquals(second, r.problems().get(0).object());
        assertTrue(r.problems().get(0).line().contains("unknown key " + ALICE.keyId().hex()), r.problems().get(0).line());
        assertEquals(0, r.commits());
    }

    @Test
    void aCommitWithABadSignatureIsReported() throws IOException {
        Commit good = repo.commit(second);
        byte[] body = Codec.commitBody(good.tree(), good.parents(), ALICE.keyId(), good.time().toEpochMilli(), "forged");
        byte[] otherSignature = ALICE.sign(Codec.signedBytes(Codec.commitBody(good.tree(), good.parents(), ALICE.keyId(), 0, "x")));
        ObjectId forged = repo.objects.put(Codec.encodeCommit(body, otherSignature));
        repo.refs.compareAndSet(Refs.HEADS + "forged", null, forged);
        FsckResult r = Repository.open(tmp, Fixture.trust()).fsck();
        assertEquals(List.of("commit " + forged.hex() + " refused: bad signature (key " + ALICE.keyId().hex()
                + ") (reachable from refs/heads/forged)"), lines(r));
    }

    @Test
    void anUnreadableRefAndARefToATreeAreReported() throws IOException {
        Files.writeString(repo.storeDir().resolve("refs/tags/broken"), "not an id\n", StandardCharsets.US_ASCII);
        ObjectId tree = repo.commit(first).tree();
        Files.writeString(repo.storeDir().resolve("refs/heads/odd"), tree.hex() + "\n", StandardCharsets.US_ASCII);
        FsckResult r = repo.fsck();
        List<String> lines = lines(r);
        assertEquals(2, lines.size(), lines.toString());
        assertEquals("refs/tags/broken", r.problems().get(0).ref());
        assertTrue(lines.get(0).startsWith("ref refs/tags/broken (") && lines.get(0).endsWith(") is corrupt: 'not an id'"), lines.get(0));
        assertEquals("object " + tree.hex() + " is a tree, but refs/heads/odd names it as its commit (reachable from refs/heads/odd)",
                lines.get(1));
    }

    @Test
    void aManifestThatMisstatesAChunkLengthIsReported() throws IOException {
        // A manifest that lists a real 1,000-byte chunk as 999 bytes long (and the file as 999 bytes).
        ObjectId chunk = repo.objects.put(Codec.encodeChunk(new byte[1000], 0, 1000));
        ObjectId manifest = repo.objects.put(Codec.encodeManifest(new Codec.Manifest(999, List.of(new Codec.ChunkRef(chunk, 999)))));
        ObjectId tree = repo.objects.put(Codec.encodeTree(List.of(new FileEntry("short.bin", 999, manifest))));
        ObjectId commit = repo.writeCommit(tree, List.of(second), "lies about a length", ALICE);
        repo.refs.compareAndSet(Refs.HEADS + "liar", null, commit);
        FsckResult r = repo.fsck();
        assertEquals(List.of("object " + chunk.hex() + " holds 1000 bytes, but file manifest " + manifest.shortHex()
                + " names it as a chunk of 999 bytes (reachable from refs/heads/liar)"), lines(r));
    }

    @Test
    void aCorruptObjectNoRefReachesIsStillReported() throws IOException {
        ObjectId stray = repo.objects.put(Codec.encodeChunk(new byte[] {1, 2, 3}, 0, 3));
        flipByte(repo.objects.path(stray), 2);
        FsckResult r = repo.fsck();
        assertEquals(1, r.problems().size(), lines(r).toString());
        assertEquals(stray, r.problems().get(0).object());
        assertTrue(r.problems().get(0).line().endsWith("(not reachable from any ref)"), r.problems().get(0).line());
    }
}
