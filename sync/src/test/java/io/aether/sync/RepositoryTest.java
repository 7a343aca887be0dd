package io.aether.sync;

import static io.aether.sync.Fixture.ALICE;
import static io.aether.sync.Fixture.commitFile;
import static io.aether.sync.Fixture.text;
import static io.aether.sync.Fixture.write;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.security.TrustStore;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RepositoryTest {

    @TempDir
    Path tmp;

    @Test
    void initAddCommitAndReadBack() throws IOException {
        Repository repo = Fixture.init(tmp);
        assertTrue(Files.isDirectory(tmp.resolve(".aether/objects")));
        byte[] model = TestModels.onnx(Map.of("w", TestModels.weights(1, 200_000)));
        write(tmp.resolve("models/net.onnx"), model);
        write(tmp.resolve("config.json"), "{\"lr\": 0.1}\n");
        repo.add(List.of("."));
        ObjectId c1 = repo.commit("first model", ALICE);

        Repository reader = Repository.open(tmp, Fixture.trust());
        assertEquals(c1, reader.resolve("main"));
        assertEquals(c1, reader.resolve("HEAD"));
        assertEquals(c1, reader.resolve(c1.hex().substring(0, 8)));
        Commit c = reader.commit(c1);
        assertEquals("first model", c.message());
        assertEquals(ALICE.keyId(), c.author());
        assertEquals(List.of(), c.parents());
        assertEquals(List.of("config.json", "models/net.onnx"), reader.files(c1).stream().map(FileEntry::path).toList());
        assertArrayEquals(model, reader.readFile(c1, "models/net.onnx"));
        try (InputStream in = reader.openFile(c1, "models/net.onnx")) {
            assertArrayEquals(model, in.readAllBytes());
        }
        assertEquals(model.length, reader.file(c1, "models/net.onnx").size());
        RepositoryException e = assertThrows(RepositoryException.class, () -> reader.readFile(c1, "nope.onnx"));
        assertTrue(e.getMessage().contains("nope.onnx"), e.getMessage());
    }

    @Test
    void repoRefParsing() {
        assertEquals(new RepoRef(Path.of("models/a"), "main"), RepoRef.parse("models/a@main"));
        assertEquals(new RepoRef(Path.of("x@y"), "v1"), RepoRef.parse("x@y@v1"));
        assertEquals(new RepoRef(Path.of("dir"), "HEAD"), RepoRef.parse("dir"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RepoRef.parse("dir@"));
        assertTrue(e.getMessage().contains("nothing after '@'"));
    }

    @Test
    void historyBranchesTagsAndTilde() throws IOException {
        Repository repo = Fixture.init(tmp);
        ObjectId c1 = commitFile(repo, "a.txt", "one\n", "one");
        ObjectId c2 = commitFile(repo, "a.txt", "two\n", "two");
        ObjectId c3 = commitFile(repo, "a.txt", "three\n", "three");
        assertEquals(List.of(c3, c2, c1), repo.log(c3, 10).stream().map(Commit::id).toList());
        assertEquals(List.of(c3), repo.log(c3, 1).stream().map(Commit::id).toList());
        assertEquals(c2, repo.resolve("HEAD~1"));
        assertEquals(c1, repo.resolve("main~2"));
        assertThrows(RefNotFoundException.class, () -> repo.resolve("HEAD~3"));
        assertTrue(repo.isAncestor(c1, c3));
        assertFalse(repo.isAncestor(c3, c1));

        repo.createTag("v1", c1.hex(), false);
        repo.createBranch("exp", "HEAD~1");
        assertEquals(c1, repo.resolve("v1"));
        assertEquals(c2, repo.resolve("exp"));
        assertEquals(Map.of("v1", c1), repo.tags());
        assertEquals(Map.of("main", c3, "exp", c2), repo.branches());
        RepositoryException dup = assertThrows(RepositoryException.class, () -> repo.createTag("v1", "HEAD", false));
        assertTrue(dup.getMessage().contains("already exists"));
        repo.createTag("v1", "HEAD", true);
        assertEquals(c3, repo.resolve("v1"));
        assertThrows(RepositoryException.class, () -> repo.deleteBranch("main"), "current branch");
        repo.deleteBranch("exp");
        assertThrows(RefNotFoundException.class, () -> repo.resolve("exp"));
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> repo.createBranch("../x", "HEAD"));
        assertTrue(bad.getMessage().contains("'../x'"), bad.getMessage());
        RefNotFoundException unknown = assertThrows(RefNotFoundException.class, () -> repo.resolve("nosuch"));
        assertTrue(unknown.getMessage().contains("'nosuch'"));
    }

    @Test
    void checkoutRestoresFilesAndRefusesToLoseWork() throws IOException {
        Repository repo = Fixture.init(tmp);
        ObjectId c1 = commitFile(repo, "model.bin", TestModels.bytes(1, 300_000), "v1");
        write(tmp.resolve("extra/notes.txt"), "notes\n");
        ObjectId c2 = commitFile(repo, "model.bin", TestModels.bytes(2, 300_000), "v2");

        repo.checkout(c1.hex(), false);
        assertArrayEquals(TestModels.bytes(1, 300_000), Files.readAllBytes(tmp.resolve("model.bin")));
        assertFalse(Files.exists(tmp.resolve("extra/notes.txt")), "file added later is removed");
        assertFalse(Files.exists(tmp.resolve("extra")), "and its empty directory");
        assertEquals(c1, repo.head().orElseThrow());
        assertTrue(repo.currentBranch().isEmpty(), "detached");
        assertTrue(repo.status().clean());

        repo.checkout("main", false);
        assertEquals(c2, repo.head().orElseThrow());
        assertEquals("main", repo.currentBranch().orElseThrow());
        assertEquals("notes\n", Files.readString(tmp.resolve("extra/notes.txt")));

        write(tmp.resolve("model.bin"), "local edit");
        RepositoryException e = assertThrows(RepositoryException.class, () -> repo.checkout(c1.hex(), false));
        assertTrue(e.getMessage().contains("model.bin"), e.getMessage());
        assertEquals("local edit", Files.readString(tmp.resolve("model.bin")), "nothing was touched");
        repo.checkout(c1.hex(), true);
        assertArrayEquals(TestModels.bytes(1, 300_000), Files.readAllBytes(tmp.resolve("model.bin")));
    }

    @Test
    void statusSeesStagedUnstagedUntrackedAndDeleted() throws IOException {
        Repository repo = Fixture.init(tmp);
        commitFile(repo, "a.txt", "a\n", "a");
        write(tmp.resolve("b.txt"), "b\n");
        repo.add(List.of("b.txt"));
        write(tmp.resolve("a.txt"), "a changed\n");
        write(tmp.resolve("c.txt"), "c\n");
        Status st = repo.status();
        assertEquals("main", st.branch());
        assertEquals(List.of(new Status.Change("b.txt", Status.Kind.ADDED)), st.staged());
        assertEquals(List.of(new Status.Change("a.txt", Status.Kind.MODIFIED)), st.unstaged());
        assertEquals(List.of("c.txt"), st.untracked());
        Files.delete(tmp.resolve("a.txt"));
        assertEquals(List.of(new Status.Change("a.txt", Status.Kind.DELETED)), repo.status().unstaged());
        repo.add(List.of("a.txt"));
        assertTrue(repo.status().staged().contains(new Status.Change("a.txt", Status.Kind.DELETED)));
        RepositoryException e = assertThrows(RepositoryException.class, () -> repo.add(List.of("missing.txt")));
        assertTrue(e.getMessage().contains("'missing.txt' matches no file"), e.getMessage());
    }

    @Test
    void emptyCommitsAndUntrustedAuthorsAreRefused() throws IOException {
        Repository repo = Fixture.init(tmp);
        commitFile(repo, "a.txt", "a\n", "a");
        RepositoryException e = assertThrows(RepositoryException.class, () -> repo.commit("again", ALICE));
        assertTrue(e.getMessage().contains("nothing to commit"));
        write(tmp.resolve("a.txt"), "b\n");
        repo.add(List.of("."));
        VerificationException v = assertThrows(VerificationException.class, () -> repo.commit("by mallory", Fixture.MALLORY));
        assertTrue(v.getMessage().contains(Fixture.MALLORY.keyId().hex()), v.getMessage());
    }

    @Test
    void anUnknownAuthorIsRefusedOnReadWithTheKeyId() throws IOException {
        Repository repo = Fixture.init(tmp);
        ObjectId c1 = commitFile(repo, "a.txt", "a\n", "a");
        Repository stranger = Repository.open(tmp, TrustStore.of(Fixture.BOB.publicKey()));
        VerificationException e = assertThrows(VerificationException.class, () -> stranger.commit(c1));
        assertTrue(e.getMessage().contains("unknown key " + ALICE.keyId().hex()), e.getMessage());
        assertThrows(VerificationException.class, () -> stranger.readFile(c1, "a.txt"));
    }

    @Test
    void diffListsFilesSharedBytesAndOnnxTensors() throws IOException {
        Repository repo = Fixture.init(tmp);
        float[] w = TestModels.weights(7, 400_000);
        Map<String, float[]> v1 = new java.util.LinkedHashMap<>();
        v1.put("body", w);
        v1.put("head", TestModels.weights(8, 1000));
        write(tmp.resolve("net.onnx"), TestModels.onnx(v1));
        write(tmp.resolve("old.txt"), "x\n");
        repo.add(List.of("."));
        ObjectId c1 = repo.commit("v1", ALICE);

        Map<String, float[]> v2 = new java.util.LinkedHashMap<>();
        v2.put("body", w);
        v2.put("head", TestModels.weights(9, 1000));
        v2.put("adapter", new float[] {1, 2, 3});
        write(tmp.resolve("net.onnx"), TestModels.onnx(v2));
        Files.delete(tmp.resolve("old.txt"));
        write(tmp.resolve("new.txt"), "y\n");
        List<FileChange> working = repo.diff(c1, null);
        assertEquals(List.of("net.onnx:MODIFIED", "new.txt:ADDED", "old.txt:DELETED"),
                working.stream().map(f -> f.path() + ":" + f.kind()).toList());
        repo.add(List.of("."));
        ObjectId c2 = repo.commit("v2", ALICE);
        FileChange net = repo.diff(c1, c2).get(0);
        assertEquals("net.onnx", net.path());
        assertEquals(List.of("head:CHANGED", "adapter:ADDED"), net.tensors().stream().map(t -> t.name() + ":" + t.kind()).toList());
        assertTrue(net.sharedBytes() > net.newSize() * 0.6, net.sharedBytes() + " of " + net.newSize() + " shared");
        assertTrue(net.note() == null);
    }

    @Test
    void bareRepositoriesHaveNoWorkingDirectory() throws IOException {
        Repository bare = Repository.initBare(tmp.resolve("srv"), Fixture.trust());
        assertTrue(bare.isBare());
        assertTrue(Repository.open(tmp.resolve("srv"), Fixture.trust()).isBare());
        RepositoryException e = assertThrows(RepositoryException.class, () -> bare.commit("x", ALICE));
        assertTrue(e.getMessage().contains("bare"), e.getMessage());
        RepositoryException notRepo = assertThrows(RepositoryException.class, () -> Repository.open(tmp.resolve("nothing"), Fixture.trust()));
        assertTrue(notRepo.getMessage().contains("not an aether repository"));
    }

    @Test
    void aTextFileSurvivesARoundTripThroughTheStore() throws IOException {
        Repository repo = Fixture.init(tmp);
        ObjectId c = commitFile(repo, "dir/sub/readme.md", "hello\nworld\n", "readme");
        assertEquals("hello\nworld\n", text(repo, c, "dir/sub/readme.md"));
    }
}
