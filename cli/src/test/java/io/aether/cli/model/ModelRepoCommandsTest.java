package io.aether.cli.model;

import static io.aether.cli.model.ModelCliTest.weights;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.cli.model.ModelCliTest.Result;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** What the local repository commands say and do: fsck, checkout -b NAME REF, add, merge with local changes. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ModelRepoCommandsTest {

    @TempDir
    Path tmp;

    private Path home;
    private Path repo;

    /** {@code aether model ARGS --home HOME -C REPO}. */
    private Result model(String... args) {
        List<String> a = new ArrayList<>(List.of("model"));
        a.addAll(List.of(args));
        a.addAll(List.of("--home", home.toString(), "-C", repo.toString()));
        return ModelCliTest.run(a.toArray(String[]::new));
    }

    /** A repository with a key, model.onnx committed as v1 (tagged) and changed in a second commit. */
    @BeforeEach
    void twoVersions() throws IOException {
        home = tmp.resolve("home");
        repo = tmp.resolve("repo");
        ModelCliTest.run("model", "keygen", "--home", home.toString()).ok();
        ModelCliTest.run("model", "init", repo.toString(), "--home", home.toString()).ok();
        Files.write(repo.resolve("model.onnx"), weights(1, 100_000));
        model("add", ".").ok();
        model("commit", "-m", "v1").ok();
        model("tag", "v1").ok();
        Files.write(repo.resolve("model.onnx"), weights(2, 100_000));
        model("add", ".").ok();
        model("commit", "-m", "v2").ok();
    }

    @Test
    void fsckPassesASoundRepositoryAndNamesACorruptObject() throws IOException {
        Result clean = model("fsck").ok();
        assertTrue(clean.out().startsWith("No problems: checked "), clean.out());
        assertTrue(clean.out().contains("(2 commit signatures verified)"), clean.out());

        // Corrupt one byte of one stored object: the largest one, a chunk of the model.
        Path objects = repo.resolve(".aether/objects");
        Path victim;
        try (Stream<Path> s = Files.walk(objects)) {
            victim = s.filter(Files::isRegularFile).max((a, b) -> Long.compare(a.toFile().length(), b.toFile().length())).orElseThrow();
        }
        String id = victim.getParent().getFileName().toString() + victim.getFileName();
        try (RandomAccessFile f = new RandomAccessFile(victim.toFile(), "rw")) {
            f.seek(100);
            int b = f.read();
            f.seek(100);
            f.write(b ^ 0x10);
        }
        Result bad = model("fsck").failedWith("1 problem(s) found");
        List<String> lines = bad.out().lines().toList();
        assertEquals(1, lines.size(), bad.out());
        assertTrue(lines.get(0).startsWith("object " + id + " is corrupt"), lines.get(0));
        assertTrue(lines.get(0).contains("(reachable from refs/"), lines.get(0));
        assertTrue(model("pull", "--help").ok().out().contains("aether model fsck"));
        assertTrue(ModelCliTest.run("model", "--help").ok().out().contains("fsck"));
    }

    @Test
    void checkoutDashBCreatesTheBranchAtTheGivenRef() throws IOException {
        Result r = model("checkout", "-b", "hotfix", "v1").ok();
        assertTrue(r.out().startsWith("Switched to a new branch 'hotfix' at "), r.out());
        assertArrayEquals(weights(1, 100_000), Files.readAllBytes(repo.resolve("model.onnx")));
        assertTrue(model("branch").ok().out().contains("* hotfix"));
        String v1 = model("log", "v1", "-n", "1").ok().out().lines().findFirst().orElseThrow();
        String hotfix = model("log", "-n", "1").ok().out().lines().findFirst().orElseThrow();
        assertEquals(v1, hotfix);

        // Refused without losing work: local changes, an existing name, an unknown ref. Nothing moves.
        Files.write(repo.resolve("model.onnx"), weights(3, 100_000));
        model("checkout", "-b", "other", "main").failedWith("uncommitted changes: model.onnx (modified, not staged)");
        model("checkout", "-b", "hotfix", "main", "--force").failedWith("branch 'hotfix' already exists");
        model("checkout", "-b", "other", "nosuch").failedWith("unknown ref 'nosuch'");
        assertArrayEquals(weights(3, 100_000), Files.readAllBytes(repo.resolve("model.onnx")));
        assertFalse(model("branch").ok().out().contains("other"));

        // Without REF the branch starts at the current commit and the files stay as they are.
        model("checkout", "-b", "wip").ok();
        assertArrayEquals(weights(3, 100_000), Files.readAllBytes(repo.resolve("model.onnx")));
    }

    @Test
    void addSaysWhatItStaged() throws IOException {
        Files.write(repo.resolve("model.onnx"), weights(3, 100_000));
        Files.writeString(repo.resolve("config.json"), "{}\n");
        Files.createDirectories(repo.resolve("data"));
        Files.writeString(repo.resolve("data/labels.txt"), "cat\n");
        Result r = model("add", ".").ok();
        assertEquals(List.of("  added: config.json", "  added: data/labels.txt", "  modified: model.onnx",
                "Staged 3 file(s): 2 added, 1 modified; record them with 'aether model commit -m MESSAGE'"), r.out().lines().toList());

        Files.delete(repo.resolve("config.json"));
        Result gone = model("add", ".").ok();
        assertEquals(List.of("  deleted: config.json",
                "Staged 1 file(s): 1 deleted; record them with 'aether model commit -m MESSAGE'"), gone.out().lines().toList());

        assertEquals("Nothing new to stage: the staged files already match model.onnx\n", model("add", "model.onnx").ok().out());
    }

    @Test
    void mergingWithADeletedFileSaysWhatIsInTheWay() throws IOException {
        model("branch", "old", "v1").ok();
        model("checkout", "-b", "newer").ok();
        Files.writeString(repo.resolve("notes.txt"), "n\n");
        model("add", ".").ok();
        model("commit", "-m", "notes").ok();
        model("checkout", "main").ok();
        Files.delete(repo.resolve("model.onnx"));

        // Up to date (what an up-to-date pull merges): nothing to do, the deletion stays.
        Result r = model("merge", "old").ok();
        assertEquals("Already up to date\n", r.out());
        assertFalse(Files.exists(repo.resolve("model.onnx")));
        // Something to merge: refused, saying which file and how.
        model("merge", "newer").failedWith("commit or discard your changes before merging: model.onnx (deleted, not staged)");
    }
}
