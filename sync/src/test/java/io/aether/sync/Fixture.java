package io.aether.sync;

import io.aether.security.Identity;
import io.aether.security.TrustStore;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Test helpers: keys made once per JVM (ML-DSA key generation is not free) and small repo chores. */
final class Fixture {

    static final Identity ALICE = Identity.generate();
    static final Identity BOB = Identity.generate();
    static final Identity MALLORY = Identity.generate();

    private Fixture() {
    }

    /** A trust store with Alice and Bob (not Mallory). */
    static TrustStore trust() {
        return TrustStore.of(ALICE.publicKey(), BOB.publicKey());
    }

    static Repository init(Path dir) throws IOException {
        return Repository.init(dir, trust());
    }

    static void write(Path file, String text) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        Files.writeString(file, text, StandardCharsets.UTF_8);
    }

    static void write(Path file, byte[] data) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        Files.write(file, data);
    }

    /** Writes {@code text} to {@code path} in the work dir, stages everything and commits as Alice. */
    static ObjectId commitFile(Repository repo, String path, String text, String message) throws IOException {
        write(repo.workDir().resolve(path), text);
        repo.add(List.of("."));
        return repo.commit(message, ALICE);
    }

    static ObjectId commitFile(Repository repo, String path, byte[] data, String message) throws IOException {
        write(repo.workDir().resolve(path), data);
        repo.add(List.of("."));
        return repo.commit(message, ALICE);
    }

    static String text(Repository repo, ObjectId commit, String path) throws IOException {
        return new String(repo.readFile(commit, path), StandardCharsets.UTF_8);
    }
}
