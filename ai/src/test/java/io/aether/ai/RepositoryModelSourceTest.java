package io.aether.ai;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.security.Identity;
import io.aether.security.TrustStore;
import io.aether.sync.ObjectId;
import io.aether.sync.Repository;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The runtime serving straight from a signed model repository (module sync). */
class RepositoryModelSourceTest {

    private static final Identity AUTHOR = Identity.generate();

    @TempDir
    Path dir;

    private ObjectId commit(Repository repo, String path, byte[] bytes, String message) throws Exception {
        Path file = dir.resolve(path);
        Files.createDirectories(file.getParent());
        Files.write(file, bytes);
        repo.add(List.of(path));
        return repo.commit(message, AUTHOR);
    }

    @Test
    void resolvesRefsAndReadsVerifiedModelBytes() throws Exception {
        Repository repo = Repository.init(dir, TrustStore.of(AUTHOR.publicKey()));
        byte[] model = TestModels.scale(1);
        ObjectId v1 = commit(repo, "models/scale.onnx", model, "first");
        RepositoryModelSource source = RepositoryModelSource.open(dir, TrustStore.of(AUTHOR.publicKey()), null);
        assertEquals(v1.hex(), source.resolve("main"));
        assertEquals(v1.hex(), source.resolve(v1.hex().substring(0, 8)));
        assertEquals("models/scale.onnx", source.modelPath(v1.hex()));
        assertArrayEquals(model, source.read(v1.hex()));
        assertEquals("scale", RepositoryModelSource.modelNameFor(source.modelPath(v1.hex())));
        assertTrue(source.describe().endsWith("(its .onnx file)"), source.describe());

        ModelSourceException unknown = assertThrows(ModelSourceException.class, () -> source.resolve("nope"));
        assertEquals(ModelSourceException.Reason.UNKNOWN_REF, unknown.reason());
    }

    @Test
    void choosingTheModelFile() throws Exception {
        Repository repo = Repository.init(dir, TrustStore.of(AUTHOR.publicKey()));
        commit(repo, "README.md", "no model yet".getBytes(), "docs");
        ObjectId none = repo.resolve("main");
        RepositoryModelSource any = RepositoryModelSource.of(repo, null);
        ModelSourceException e = assertThrows(ModelSourceException.class, () -> any.read(none.hex()));
        assertEquals(ModelSourceException.Reason.NO_MODEL, e.reason());
        assertEquals("commit " + none.shortHex() + " has no .onnx file", e.getMessage());

        Files.write(dir.resolve("a.onnx"), TestModels.scale(1));
        repo.add(List.of("a.onnx"));
        ObjectId two = commit(repo, "b.onnx", TestModels.scale(2), "two models");
        assertEquals("commit " + two.shortHex() + " has 2 .onnx files (a.onnx, b.onnx); choose one with --model",
                assertThrows(ModelSourceException.class, () -> any.read(two.hex())).getMessage());
        RepositoryModelSource b = RepositoryModelSource.of(repo, "b.onnx");
        assertArrayEquals(TestModels.scale(2), b.read(two.hex()));
        RepositoryModelSource c = RepositoryModelSource.of(repo, "c.onnx");
        assertEquals("commit " + two.shortHex() + " has no file 'c.onnx' (its .onnx files: a.onnx, b.onnx)",
                assertThrows(ModelSourceException.class, () -> c.read(two.hex())).getMessage());
    }

    @Test
    void commitsByUntrustedAuthorsAreRefused() throws Exception {
        Repository repo = Repository.init(dir, TrustStore.of(AUTHOR.publicKey()));
        commit(repo, "m.onnx", TestModels.scale(1), "first");
        RepositoryModelSource stranger = RepositoryModelSource.open(dir, TrustStore.of(Identity.generate().publicKey()), null);
        ModelSourceException e = assertThrows(ModelSourceException.class, () -> stranger.resolve("main"));
        assertEquals(ModelSourceException.Reason.UNREADABLE, e.reason());
        assertTrue(e.getMessage().contains(AUTHOR.keyId().hex()), e.getMessage());
        try (InferenceRuntime runtime = InferenceRuntime.start(RuntimeConfig.defaults())) {
            DeploymentException d = assertThrows(DeploymentException.class, () -> runtime.deploy("m", stranger, "main"));
            assertEquals(DeploymentException.Reason.SOURCE_FAILED, d.reason());
        }
    }

    @Test
    void servesARepositoryAndFollowsItsBranch() throws Exception {
        Repository repo = Repository.init(dir, TrustStore.of(AUTHOR.publicKey()));
        ObjectId v1 = commit(repo, "scale.onnx", TestModels.scale(1), "k=1");
        RepositoryModelSource source = RepositoryModelSource.open(dir, TrustStore.of(AUTHOR.publicKey()), "scale.onnx");
        try (InferenceRuntime runtime = InferenceRuntime.start(RuntimeConfig.defaults())) {
            runtime.deploy("scale", source, "main");
            Map<String, Tensor> x = Map.of("X", Tensor.ofFloats(new long[] {1, 1}, 5));
            assertEquals(v1.hex(), runtime.predict("scale", x).version());

            List<String> log = new ArrayList<>();
            RefWatcher watcher = new RefWatcher(runtime, source, "scale", "main", log::add);
            ObjectId v2 = commit(repo, "scale.onnx", TestModels.scale(3), "k=3");
            assertEquals(v2.hex(), watcher.pollOnce().orElseThrow());
            Prediction p = runtime.predict("scale", x);
            assertEquals(v2.hex(), p.version());
            assertArrayEquals(new float[] {15}, p.output("Y").toFloats());

            runtime.startCanary("scale", v1.hex().substring(0, 10), 50);
            assertEquals(v1.hex(), runtime.status("scale").orElseThrow().canary().orElseThrow().version());
        }
    }
}
