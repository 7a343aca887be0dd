package io.aether.sync;

import static io.aether.sync.Fixture.ALICE;
import static io.aether.sync.Fixture.commitFile;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tampering, torn writes and garbage collection. */
class IntegrityTest {

    @TempDir
    Path tmp;

    static void flipByte(Path file, long at) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.seek(at);
            int b = f.read();
            f.seek(at);
            f.write(b ^ 0x01);
        }
    }

    @Test
    void aFlippedByteInAStoredChunkIsRefusedWithTheObjectId() throws IOException {
        Repository repo = Fixture.init(tmp);
        byte[] data = TestModels.bytes(1, 200_000);
        ObjectId c = commitFile(repo, "m.bin", data, "m");
        ObjectId chunk = repo.manifest(repo.file(c, "m.bin").manifest()).chunks().get(1).id();
        flipByte(repo.objects.path(chunk), 1000);
        CorruptObjectException e = assertThrows(CorruptObjectException.class, () -> repo.readFile(c, "m.bin"));
        assertEquals(chunk, e.id());
        assertTrue(e.getMessage().contains(chunk.hex()) && e.getMessage().contains("corrupt"), e.getMessage());
        // Checkout refuses too, and leaves the working file alone.
        Files.delete(tmp.resolve("m.bin"));
        assertThrows(CorruptObjectException.class, () -> repo.checkout("HEAD", true));
        assertFalse(Files.exists(tmp.resolve("m.bin")), "no half-written file appears");
    }

    @Test
    void aFlippedByteInACommitIsRefused() throws IOException {
        Repository repo = Fixture.init(tmp);
        ObjectId c = commitFile(repo, "a.txt", "a\n", "a");
        flipByte(repo.objects.path(c), 40);
        Repository fresh = Repository.open(tmp, Fixture.trust());
        CorruptObjectException e = assertThrows(CorruptObjectException.class, () -> fresh.commit(c));
        assertTrue(e.getMessage().contains(c.hex()), e.getMessage());
    }

    @Test
    void aCommitWithABadSignatureIsRefusedEvenWhenStoredUnderItsOwnHash() throws IOException {
        Repository repo = Fixture.init(tmp);
        ObjectId c1 = commitFile(repo, "a.txt", "a\n", "a");
        Commit good = repo.commit(c1);
        // Re-sign a different message with the same author id but a signature over other bytes.
        byte[] body = Codec.commitBody(good.tree(), List.of(), ALICE.keyId(), good.time().toEpochMilli(), "forged");
        byte[] sig = ALICE.sign(Codec.signedBytes(Codec.commitBody(good.tree(), List.of(), ALICE.keyId(), 0, "other")));
        ObjectId forged = repo.objects.put(Codec.encodeCommit(body, sig));
        VerificationException e = assertThrows(VerificationException.class, () -> repo.commit(forged));
        assertTrue(e.getMessage().contains("bad signature"), e.getMessage());
        assertTrue(e.getMessage().contains(forged.hex()), e.getMessage());
    }

    @Test
    void aTornWriteIsNeverVisibleAndGcCleansTheLeftovers() throws IOException {
        Repository repo = Fixture.init(tmp);
        ObjectId c = commitFile(repo, "a.txt", "a\n", "a");
        byte[] enc = Codec.encodeChunk(new byte[] {1, 2, 3}, 0, 3);
        ObjectId id = ObjectId.hash(enc);
        // Crash between writing the temp file and renaming it: the object does not exist.
        Path staged = AtomicFiles.stage(repo.tmpDir(), enc, 0, enc.length);
        assertTrue(Files.exists(staged));
        assertFalse(repo.objects.has(id));
        // A torn temp file (half the bytes) is equally invisible.
        Path torn = AtomicFiles.stage(repo.tmpDir(), enc, 0, 2);
        assertEquals(2, Files.size(torn));
        // The store works as before.
        assertEquals("a\n", Fixture.text(repo, c, "a.txt"));
        assertTrue(repo.status().clean());
        GcResult r = repo.gc();
        assertTrue(r.tempFilesRemoved() >= 2, r.toString());
        assertFalse(Files.exists(staged));
        assertFalse(Files.exists(torn));
        assertEquals("a\n", Fixture.text(repo, c, "a.txt"));
    }

    @Test
    void gcRemovesOnlyUnreachableObjects() throws IOException {
        Repository repo = Fixture.init(tmp);
        ObjectId c1 = commitFile(repo, "a.bin", TestModels.bytes(1, 100_000), "one");
        ObjectId c2 = commitFile(repo, "a.bin", TestModels.bytes(2, 100_000), "two");
        // Staged but never committed: kept (the index refers to it).
        Fixture.write(tmp.resolve("staged.bin"), TestModels.bytes(3, 50_000));
        repo.add(List.of("staged.bin"));
        // Stored and then dropped: garbage.
        ObjectId orphan = repo.objects.put(Codec.encodeChunk(new byte[] {42}, 0, 1));
        long before = repo.objects.list().size();
        GcResult r = repo.gc();
        assertEquals(1, r.removed(), r.toString());
        assertFalse(repo.objects.has(orphan));
        assertEquals(before - 1, repo.objects.list().size());
        assertArrayEquals(TestModels.bytes(1, 100_000), repo.readFile(c1, "a.bin"));
        assertArrayEquals(TestModels.bytes(2, 100_000), repo.readFile(c2, "a.bin"));
        repo.commit("three", ALICE);

        // A side branch with a unique file; dropping the branch makes its objects unreachable.
        repo.checkoutNewBranch("side");
        ObjectId side = commitFile(repo, "side.bin", TestModels.bytes(4, 20_000), "side");
        repo.checkout("main", false);
        repo.deleteBranch("side");
        GcResult r2 = repo.gc();
        assertEquals(4, r2.removed(), "commit, tree, manifest and chunk of the side branch: " + r2);
        assertFalse(repo.objects.has(side));
        assertArrayEquals(TestModels.bytes(1, 100_000), repo.readFile(c1, "a.bin"));
        assertArrayEquals(TestModels.bytes(2, 100_000), repo.readFile(c2, "a.bin"));
    }

    @Test
    void gcStopsBeforeDeletingAnythingWhenAReachableObjectIsMissing() throws IOException {
        Repository repo = Fixture.init(tmp);
        ObjectId c = commitFile(repo, "a.txt", "a\n", "a");
        ObjectId orphan = repo.objects.put(Codec.encodeChunk(new byte[] {7}, 0, 1));
        Files.delete(repo.objects.path(repo.commit(c).tree()));
        RepositoryException e = assertThrows(RepositoryException.class, repo::gc);
        assertTrue(e.getMessage().contains("nothing deleted"), e.getMessage());
        assertTrue(repo.objects.has(orphan));
    }

    @Test
    void refsAreReplacedAtomicallyAndCompareAndSetRefusesAStaleValue() throws IOException {
        Repository repo = Fixture.init(tmp);
        ObjectId c1 = commitFile(repo, "a.txt", "a\n", "a");
        ObjectId c2 = commitFile(repo, "a.txt", "b\n", "b");
        RepositoryException e = assertThrows(RepositoryException.class,
                () -> repo.refs.compareAndSet("refs/heads/main", c1, c1));
        assertTrue(e.getMessage().contains("changed meanwhile"), e.getMessage());
        assertEquals(c2, repo.resolve("main"));
        Files.writeString(tmp.resolve(".aether/refs/heads/main"), "garbage\n");
        RepositoryException bad = assertThrows(RepositoryException.class, () -> repo.resolve("main"));
        assertTrue(bad.getMessage().contains("corrupt"), bad.getMessage());
    }
}
