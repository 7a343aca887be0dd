package io.aether.sync;

import static io.aether.sync.Fixture.ALICE;
import static io.aether.sync.Fixture.commitFile;
import static io.aether.sync.Fixture.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The modes of files that checkout, merge and rollback write. Trees record no modes, so a new
 * file gets what the umask gives any new file, and a replaced file keeps the mode it had.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class FileModeTest {

    @TempDir
    Path tmp;

    /** The mode this process's umask gives a new file: what a checked-out file should get. */
    private Set<PosixFilePermission> umaskMode() throws IOException {
        Path probe = Files.createFile(tmp.resolve("umask-probe"));
        try {
            return Files.getPosixFilePermissions(probe);
        } finally {
            Files.delete(probe);
        }
    }

    private static String mode(Path p) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
    }

    @Test
    void aCheckedOutFileGetsTheUmaskModeNotOwnerOnly() throws IOException {
        Repository repo = Fixture.init(tmp.resolve("repo"));
        Path work = repo.workDir();
        commitFile(repo, "models/net.onnx", "weights\n", "one");
        String expected = PosixFilePermissions.toString(umaskMode());

        Files.delete(work.resolve("models/net.onnx"));
        repo.checkout("HEAD", true);
        assertEquals(expected, mode(work.resolve("models/net.onnx")));

        // A file that a fast-forward merge brings.
        repo.checkoutNewBranch("feature");
        commitFile(repo, "config.json", "{}\n", "two");
        repo.checkout("main", false);
        assertFalse(Files.exists(work.resolve("config.json")));
        assertEquals(MergeResult.Kind.FAST_FORWARD, repo.merge("feature", ALICE).kind());
        assertEquals(expected, mode(work.resolve("config.json")));
    }

    @Test
    void aReplacedFileKeepsItsMode() throws IOException {
        Repository repo = Fixture.init(tmp);
        ObjectId v1 = commitFile(repo, "run.sh", "echo one\n", "one");
        Files.setPosixFilePermissions(tmp.resolve("run.sh"), PosixFilePermissions.fromString("rwxr-x---"));
        commitFile(repo, "run.sh", "echo two\n", "two");

        repo.checkout(v1.hex(), false);
        assertEquals("echo one\n", Files.readString(tmp.resolve("run.sh")));
        assertEquals("rwxr-x---", mode(tmp.resolve("run.sh")), "an executable stays executable");
        repo.checkout("main", false);
        assertEquals("echo two\n", Files.readString(tmp.resolve("run.sh")));
        assertEquals("rwxr-x---", mode(tmp.resolve("run.sh")));
    }

    @Test
    void aFileWithConflictMarkersKeepsItsMode() throws IOException {
        Repository repo = Fixture.init(tmp);
        commitFile(repo, "notes.txt", "a\nb\nc\n", "base");
        repo.checkoutNewBranch("feature");
        commitFile(repo, "notes.txt", "a\nfeature\nc\n", "theirs");
        repo.checkout("main", false);
        write(tmp.resolve("notes.txt"), "a\nmain\nc\n");
        Files.setPosixFilePermissions(tmp.resolve("notes.txt"), PosixFilePermissions.fromString("rw-r-----"));
        repo.add(List.of("."));
        repo.commit("ours", ALICE);

        MergeResult m = repo.merge("feature", ALICE);
        assertEquals(MergeResult.Kind.CONFLICTS, m.kind());
        assertTrue(Files.readString(tmp.resolve("notes.txt")).contains("<<<<<<<"));
        assertEquals("rw-r-----", mode(tmp.resolve("notes.txt")));
    }
}
