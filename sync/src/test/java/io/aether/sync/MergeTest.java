package io.aether.sync;

import static io.aether.sync.Fixture.ALICE;
import static io.aether.sync.Fixture.BOB;
import static io.aether.sync.Fixture.commitFile;
import static io.aether.sync.Fixture.text;
import static io.aether.sync.Fixture.write;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every merge case: fast-forward, clean three-way, text, JSON, binary conflict, modify/delete, rollback. */
class MergeTest {

    @TempDir
    Path tmp;

    private Repository repo;
    private ObjectId base;

    private static final String CONFIG = "{\n  \"lr\": 0.1,\n  \"batch\": 32\n}\n";
    private static final String PATCH = "step 1\nstep 2\nstep 3\nstep 4\nstep 5\n";

    @BeforeEach
    void base() throws IOException {
        repo = Fixture.init(tmp);
        write(tmp.resolve("model.onnx"), TestModels.onnx(Map.of("w", TestModels.weights(1, 50_000))));
        write(tmp.resolve("config.json"), CONFIG);
        write(tmp.resolve("patch.txt"), PATCH);
        repo.add(List.of("."));
        base = repo.commit("base", ALICE);
        repo.createBranch("feature", "main");
    }

    /** Commits on "feature" (by Bob), then returns to main. */
    private ObjectId onFeature(String path, byte[] content) throws IOException {
        repo.checkout("feature", false);
        write(tmp.resolve(path), content);
        repo.add(List.of("."));
        ObjectId c = repo.commit("feature: " + path, BOB);
        repo.checkout("main", false);
        return c;
    }

    private ObjectId onFeature(String path, String content) throws IOException {
        return onFeature(path, content.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    @Test
    void fastForwardWhenMainHasNotMoved() throws IOException {
        ObjectId f = onFeature("patch.txt", PATCH + "step 6\n");
        MergeResult r = repo.merge("feature", ALICE);
        assertEquals(MergeResult.Kind.FAST_FORWARD, r.kind());
        assertEquals(f, r.commit());
        assertEquals(f, repo.resolve("main"));
        assertEquals(PATCH + "step 6\n", Files.readString(tmp.resolve("patch.txt")));
        assertEquals(MergeResult.Kind.UP_TO_DATE, repo.merge("feature", ALICE).kind());
    }

    @Test
    void cleanThreeWayMergeTakesEachSidesFiles() throws IOException {
        ObjectId f = onFeature("new-dataset.txt", "rows\n");
        ObjectId m = commitFile(repo, "model.onnx", TestModels.onnx(Map.of("w", TestModels.weights(2, 50_000))), "retrain");
        MergeResult r = repo.merge("feature", ALICE);
        assertEquals(MergeResult.Kind.MERGED, r.kind());
        Commit merge = repo.commit(r.commit());
        assertEquals(List.of(m, f), merge.parents());
        assertEquals("rows\n", text(repo, r.commit(), "new-dataset.txt"));
        assertArrayEquals(TestModels.onnx(Map.of("w", TestModels.weights(2, 50_000))), repo.readFile(r.commit(), "model.onnx"));
        assertEquals("rows\n", Files.readString(tmp.resolve("new-dataset.txt")));
        assertTrue(repo.status().clean());
    }

    @Test
    void textFilesChangedOnBothSidesMergeLineWise() throws IOException {
        onFeature("patch.txt", PATCH.replace("step 5", "step 5 (theirs)"));
        commitFile(repo, "patch.txt", PATCH.replace("step 1", "step 1 (ours)"), "ours");
        MergeResult r = repo.merge("feature", ALICE);
        assertEquals(MergeResult.Kind.MERGED, r.kind());
        assertEquals(List.of("patch.txt"), r.autoMerged());
        String want = "step 1 (ours)\nstep 2\nstep 3\nstep 4\nstep 5 (theirs)\n";
        assertEquals(want, text(repo, r.commit(), "patch.txt"));
        assertEquals(want, Files.readString(tmp.resolve("patch.txt")));
    }

    @Test
    void jsonChangedOnDifferentKeysMergesKeyWise() throws IOException {
        onFeature("config.json", "{\n  \"lr\": 0.1,\n  \"batch\": 64\n}\n");
        commitFile(repo, "config.json", "{\n  \"lr\": 0.05,\n  \"batch\": 32\n}\n", "ours");
        MergeResult r = repo.merge("feature", ALICE);
        assertEquals(MergeResult.Kind.MERGED, r.kind());
        assertEquals(JsonMerge.parse("{\"lr\":0.05,\"batch\":64}".getBytes()),
                JsonMerge.parse(repo.readFile(r.commit(), "config.json")));
    }

    @Test
    void jsonChangedOnTheSameKeyConflictsNamingTheKey() throws IOException {
        onFeature("config.json", "{\n  \"lr\": 0.3,\n  \"batch\": 32\n}\n");
        commitFile(repo, "config.json", "{\n  \"lr\": 0.2,\n  \"batch\": 32\n}\n", "ours");
        MergeResult r = repo.merge("feature", ALICE);
        assertEquals(MergeResult.Kind.CONFLICTS, r.kind());
        assertTrue(r.conflicts().get("config.json").contains("lr"), r.conflicts().toString());
        String working = Files.readString(tmp.resolve("config.json"));
        assertTrue(working.contains("<<<<<<<") && working.contains("0.2") && working.contains("0.3"), working);
        // Edit the file by hand, then resolve from it.
        write(tmp.resolve("config.json"), "{\n  \"lr\": 0.25,\n  \"batch\": 32\n}\n");
        repo.resolveConflict("config.json", new Resolution.FromFile(tmp.resolve("config.json")));
        ObjectId m = repo.commit("merge feature", ALICE);
        assertEquals(2, repo.commit(m).parents().size());
        assertTrue(text(repo, m, "config.json").contains("0.25"));
    }

    @Test
    void binaryConflictStopsTheMergeAndIsResolvedExplicitly() throws IOException {
        byte[] theirs = TestModels.onnx(Map.of("w", TestModels.weights(3, 50_000)));
        byte[] ours = TestModels.onnx(Map.of("w", TestModels.weights(4, 50_000)));
        ObjectId f = onFeature("model.onnx", theirs);
        ObjectId o = commitFile(repo, "model.onnx", ours, "ours");
        onFeature("patch.txt", PATCH + "extra\n");

        MergeResult r = repo.merge("feature", ALICE);
        assertEquals(MergeResult.Kind.CONFLICTS, r.kind());
        assertEquals(Map.of("model.onnx", "binary file changed on both sides"), r.conflicts());
        assertEquals(o, repo.resolve("main"), "the branch has not moved");
        assertArrayEquals(ours, Files.readAllBytes(tmp.resolve("model.onnx")), "our model stays in place");
        assertEquals(PATCH + "extra\n", Files.readString(tmp.resolve("patch.txt")), "clean paths are merged already");
        assertEquals(Map.of("model.onnx", "binary file changed on both sides"), repo.status().conflicts());

        RepositoryException early = assertThrows(RepositoryException.class, () -> repo.commit("too early", ALICE));
        assertTrue(early.getMessage().contains("model.onnx"), early.getMessage());
        RepositoryException notConflicted = assertThrows(RepositoryException.class,
                () -> repo.resolveConflict("patch.txt", new Resolution.Ours()));
        assertTrue(notConflicted.getMessage().contains("not conflicted"));

        repo.resolveConflict("model.onnx", new Resolution.Theirs());
        assertArrayEquals(theirs, Files.readAllBytes(tmp.resolve("model.onnx")));
        ObjectId m = repo.commit("take their model", ALICE);
        Commit mc = repo.commit(m);
        assertEquals(o, mc.parents().get(0));
        assertTrue(repo.isAncestor(f, m));
        assertArrayEquals(theirs, repo.readFile(m, "model.onnx"));
        assertTrue(repo.conflicts().isEmpty());
    }

    @Test
    void resolveWithOursKeepsOurModel() throws IOException {
        onFeature("model.onnx", TestModels.onnx(Map.of("w", TestModels.weights(5, 50_000))));
        byte[] ours = TestModels.onnx(Map.of("w", TestModels.weights(6, 50_000)));
        commitFile(repo, "model.onnx", ours, "ours");
        assertEquals(MergeResult.Kind.CONFLICTS, repo.merge("feature", ALICE).kind());
        repo.resolveConflict("model.onnx", new Resolution.Ours());
        ObjectId m = repo.commit("keep ours", ALICE);
        assertArrayEquals(ours, repo.readFile(m, "model.onnx"));
    }

    @Test
    void modifyDeleteConflictAndAbort() throws IOException {
        repo.checkout("feature", false);
        Files.delete(tmp.resolve("patch.txt"));
        repo.add(List.of("patch.txt"));
        repo.commit("drop patch", BOB);
        repo.checkout("main", false);
        ObjectId o = commitFile(repo, "patch.txt", PATCH + "more\n", "extend patch");
        MergeResult r = repo.merge("feature", ALICE);
        assertEquals(Map.of("patch.txt", "changed on our side, deleted on theirs"), r.conflicts());
        RepositoryException busy = assertThrows(RepositoryException.class, () -> repo.merge("feature", ALICE));
        assertTrue(busy.getMessage().contains("already in progress"));
        repo.abortMerge();
        assertEquals(o, repo.resolve("HEAD"));
        assertTrue(repo.conflicts().isEmpty());
        assertEquals(PATCH + "more\n", Files.readString(tmp.resolve("patch.txt")));
        assertTrue(repo.status().clean());
        // And resolving the same conflict by accepting the deletion.
        repo.merge("feature", ALICE);
        repo.resolveConflict("patch.txt", new Resolution.Theirs());
        assertFalse(Files.exists(tmp.resolve("patch.txt")));
        ObjectId m = repo.commit("accept deletion", ALICE);
        assertTrue(repo.files(m).stream().noneMatch(e -> e.path().equals("patch.txt")));
    }

    @Test
    void mergeRefusesWithUncommittedChanges() throws IOException {
        onFeature("a.txt", "a\n");
        commitFile(repo, "b.txt", "b\n", "b");
        write(tmp.resolve("patch.txt"), "dirty\n");
        RepositoryException e = assertThrows(RepositoryException.class, () -> repo.merge("feature", ALICE));
        assertTrue(e.getMessage().contains("patch.txt"), e.getMessage());
    }

    @Test
    void rollbackMakesANewCommitWithTheOldFilesAndKeepsHistory() throws IOException {
        ObjectId v2 = commitFile(repo, "model.onnx", TestModels.onnx(Map.of("w", TestModels.weights(7, 50_000))), "v2");
        ObjectId v3 = commitFile(repo, "config.json", "{\"lr\": 9}\n", "v3");
        ObjectId rb = repo.rollback(base.hex().substring(0, 10), ALICE);
        Commit c = repo.commit(rb);
        assertEquals(List.of(v3), c.parents());
        assertEquals(repo.commit(base).tree(), c.tree());
        assertTrue(c.message().startsWith("Roll back to " + base.shortHex()));
        assertEquals(CONFIG, Files.readString(tmp.resolve("config.json")));
        assertArrayEquals(TestModels.onnx(Map.of("w", TestModels.weights(1, 50_000))), Files.readAllBytes(tmp.resolve("model.onnx")));
        assertEquals(List.of(rb, v3, v2, base), repo.log(rb, 10).stream().map(Commit::id).toList());
        RepositoryException again = assertThrows(RepositoryException.class, () -> repo.rollback(base.hex(), ALICE));
        assertTrue(again.getMessage().contains("already has the files"));
    }
}
