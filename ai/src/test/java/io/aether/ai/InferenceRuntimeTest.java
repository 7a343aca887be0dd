package io.aether.ai;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.aether.ai.onnx.OnnxModelBuilder;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class InferenceRuntimeTest {

    private final InferenceRuntime runtime = InferenceRuntime.start(RuntimeConfig.defaults());
    private final InMemorySource source = new InMemorySource();

    @AfterEach
    void close() {
        runtime.close();
    }

    private static Map<String, Tensor> x(long rows, float... values) {
        return Map.of("X", Tensor.ofFloats(new long[] {rows, 3}, values));
    }

    @Test
    void matMulAddReluMatchesTheHandComputation() throws Exception {
        source.put("main", TestModels.linear());
        runtime.deploy("lin", source, "main");
        // Row 1: [1,2,3]·W = [1*1+2*2+3*-1, 1*-1+2*0+3*3] = [2, 8]; + B = [2.5, 6]; relu = [2.5, 6]
        // Row 2: [-1,0,1]·W = [-1-1, 1+3] = [-2, 4]; + B = [-1.5, 2]; relu = [0, 2]
        Prediction p = runtime.predict("lin", x(2, 1, 2, 3, -1, 0, 1));
        assertArrayEquals(new float[] {2.5f, 6, 0, 2}, p.output("Y").toFloats());
        assertArrayEquals(new long[] {2, 2}, p.output("Y").shape());
        assertEquals(source.resolve("main"), p.version());
        assertArrayEquals(TestModels.linearByHand(TestModels.W1, TestModels.B1, new float[] {-1, 0, 1}),
                Arrays.copyOfRange(p.output("Y").toFloats(), 2, 4));
    }

    @Test
    void anEmptyBatchGivesAnEmptyAnswer() throws Exception {
        source.put("main", TestModels.linear());
        runtime.deploy("lin", source, "main");
        Prediction p = runtime.predict("lin", x(0));
        assertArrayEquals(new long[] {0, 2}, p.output("Y").shape());
        // and the scratch memory a worker reuses is still right for a request after a larger one
        runtime.predict("lin", x(2, 1, 2, 3, -1, 0, 1));
        assertArrayEquals(new float[] {2.5f, 6}, runtime.predict("lin", x(1, 1, 2, 3)).output("Y").toFloats());
    }

    @Test
    void twoOutputsAndAnInt64Input() throws Exception {
        source.put("main", TestModels.twoInputs());
        runtime.deploy("two", source, "main");
        Prediction p = runtime.predict("two", Map.of(
                "A", Tensor.ofFloats(new long[] {2, 2}, 1, 2, 3, 4),
                "B", Tensor.ofFloats(new long[] {2, 2}, 10, 20, 30, 40),
                "ids", Tensor.ofLongs(new long[] {2, 3}, 1, 2, 3, 4, 5, 6)));
        assertArrayEquals(new float[] {11, 22, 33, 44}, p.output("S").toFloats());
        assertArrayEquals(new float[] {6, 15}, p.output("C").toFloats());
        assertEquals(List.of("S", "C"), List.copyOf(p.outputs().keySet()));
    }

    @Test
    void signatureIsReadAtLoad() throws Exception {
        source.put("main", TestModels.twoInputs());
        VersionStatus v = runtime.deploy("two", source, "main");
        assertEquals("[A: float[N,2], B: float[N,2], ids: int64[N,T]]", v.signature().inputs().toString());
        assertEquals("[S: float[N,2], C: float[N]]", v.signature().outputs().toString());
        assertTrue(v.batching());
        assertEquals(VersionStatus.Role.STABLE, v.role());
        assertEquals(100.0, v.percent());
        source.put("fixed", TestModels.linearFixedBatch());
        assertFalse(runtime.deploy("fixed", source, "fixed").batching());
    }

    @Test
    void badInputsAreRefusedNamingTheInput() throws Exception {
        source.put("main", TestModels.twoInputs());
        runtime.deploy("two", source, "main");
        Tensor a = Tensor.ofFloats(new long[] {1, 2}, 1, 2);
        Tensor ids = Tensor.ofLongs(new long[] {1, 1}, 7);
        assertRefused("ids", "input 'ids': expected element type int64, got float",
                Map.of("A", a, "B", a, "ids", Tensor.ofFloats(new long[] {1, 1}, 7)));
        assertRefused("B", "input 'B': expected shape [N,2], got [1,3]",
                Map.of("A", a, "B", Tensor.ofFloats(new long[] {1, 3}, 1, 2, 3), "ids", ids));
        assertRefused("B", "input 'B': expected shape [N,2], got [2]",
                Map.of("A", a, "B", Tensor.ofFloats(new long[] {2}, 1, 2), "ids", ids));
        assertRefused("B", "input 'B': dimension 'N' is 2 here but 1 in input 'A'",
                Map.of("A", a, "B", Tensor.ofFloats(new long[] {2, 2}, 1, 2, 3, 4), "ids", ids));
        assertRefused("ids", "missing input 'ids' (expected int64[N,T])", Map.of("A", a, "B", a));
        assertRefused("Q", "unknown input 'Q'; the model's inputs are: A, B, ids",
                Map.of("A", a, "B", a, "ids", ids, "Q", a));
        VersionStatus v = runtime.status("two").orElseThrow().stable();
        assertEquals(6, v.requests());
        assertEquals(0, v.runs());
    }

    private void assertRefused(String input, String message, Map<String, Tensor> inputs) {
        InferenceException e = assertThrows(InferenceException.class, () -> runtime.predict("two", inputs));
        assertEquals(InferenceException.Reason.INVALID_INPUT, e.reason());
        assertEquals(message, e.getMessage());
        assertEquals(input, e.input().orElseThrow());
    }

    @Test
    void unknownModelsAndVersions() throws Exception {
        InferenceException e = assertThrows(InferenceException.class, () -> runtime.predict("nope", x(1, 1, 2, 3)));
        assertEquals(InferenceException.Reason.UNKNOWN_MODEL, e.reason());
        source.put("main", TestModels.linear());
        runtime.deploy("lin", source, "main");
        InferenceException v = assertThrows(InferenceException.class,
                () -> runtime.predict("lin", "feed", InputBinder.of(x(1, 1, 2, 3))));
        assertEquals("model 'lin' has no loaded version 'feed'", v.getMessage());
        DeploymentException d = assertThrows(DeploymentException.class, () -> runtime.switchTo("nope", "main"));
        assertEquals(DeploymentException.Reason.UNKNOWN_MODEL, d.reason());
        DeploymentException r = assertThrows(DeploymentException.class, () -> runtime.switchTo("lin", "v9"));
        assertEquals(DeploymentException.Reason.UNKNOWN_REF, r.reason());
        assertEquals("unknown ref 'v9'", r.getMessage());
        DeploymentException twice = assertThrows(DeploymentException.class, () -> runtime.deploy("lin", source, "main"));
        assertEquals(DeploymentException.Reason.CONFLICT, twice.reason());
        assertThrows(IllegalArgumentException.class, () -> runtime.deploy("bad name", source, "main"));
    }

    @Test
    void malformedModelsAreRefusedAtLoadNotAtFirstRequest() throws Exception {
        byte[] good = TestModels.linear();
        source.put("garbage", "this is not a model".getBytes());
        source.put("truncated", Arrays.copyOf(good, good.length / 2));
        source.put("dangling", OnnxModelBuilder.create("dangling")
                .input("X", ElementType.FLOAT, Dim.symbolic("N"), Dim.of(3))
                .node("Relu", List.of("nothing"), List.of("Y"))
                .output("Y", ElementType.FLOAT, Dim.symbolic("N"), Dim.of(3))
                .build());
        source.put("mismatch", OnnxModelBuilder.create("mismatch")
                .input("X", ElementType.FLOAT, Dim.symbolic("N"), Dim.of(3))
                .initializer("W", Tensor.ofFloats(new long[] {4, 2}, new float[8]))
                .node("MatMul", List.of("X", "W"), List.of("Y"))
                .output("Y", ElementType.FLOAT, Dim.symbolic("N"), Dim.of(2))
                .build());
        for (String ref : List.of("garbage", "truncated", "dangling", "mismatch")) {
            DeploymentException e = assertThrows(DeploymentException.class, () -> runtime.deploy("m", source, ref), ref);
            assertEquals(DeploymentException.Reason.INVALID_MODEL, e.reason(), ref);
            assertTrue(e.getMessage().contains("is not a valid ONNX model: "), e.getMessage());
            assertTrue(e.getMessage().lines().count() == 1, "one line: " + e.getMessage());
        }
        assertTrue(runtime.status("m").isEmpty());
    }

    @Test
    void aModelThatFailsToRunIsRefusedByItsWarmUp() throws Exception {
        // Reshape of N*3 values to a fixed [4]: valid for no N ONNX Runtime can check at load; fails on any input.
        source.put("reshape", OnnxModelBuilder.create("reshape")
                .input("X", ElementType.FLOAT, Dim.symbolic("N"), Dim.of(3))
                .initializer("shape", Tensor.ofLongs(new long[] {1}, 4))
                .node("Reshape", List.of("X", "shape"), List.of("Y"))
                .output("Y", ElementType.FLOAT, Dim.of(4))
                .build());
        DeploymentException e = assertThrows(DeploymentException.class, () -> runtime.deploy("m", source, "reshape"));
        assertEquals(DeploymentException.Reason.INVALID_MODEL, e.reason());
        assertTrue(e.getMessage().contains("failed its warm-up run on zero inputs"), e.getMessage());
    }

    @Test
    void unsupportedElementTypesAreRefusedAtLoad() throws Exception {
        source.put("strings", OnnxModelBuilder.create("strings")
                .input("S", 8, Dim.of(1))
                .node("Identity", List.of("S"), List.of("T"))
                .output("T", 8, Dim.of(1))
                .build());
        DeploymentException e = assertThrows(DeploymentException.class, () -> runtime.deploy("m", source, "strings"));
        assertEquals(DeploymentException.Reason.INVALID_MODEL, e.reason());
        assertEquals("version " + source.resolve("strings") + " of model 'm': input 'S' has element type string,"
                + " which this runtime does not serve", e.getMessage());
    }

    @Test
    void aRefusedSwitchLeavesTheOldVersionServing() throws Exception {
        String v1 = source.put("main", TestModels.linear());
        runtime.deploy("lin", source, "main");
        source.put("broken", "garbage".getBytes());
        assertThrows(DeploymentException.class, () -> runtime.switchTo("lin", "broken"));
        assertThrows(DeploymentException.class, () -> runtime.startCanary("lin", "broken", 50));
        Prediction p = runtime.predict("lin", x(1, 1, 2, 3));
        assertEquals(v1, p.version());
        assertArrayEquals(new float[] {2.5f, 6}, p.output("Y").toFloats());
        assertEquals(1, runtime.status("lin").orElseThrow().versions().size());
        assertEquals(2, PrometheusText.scrape(runtime.metrics()).value("aether_model_load_failures_total", Map.of("model", "lin")));
    }

    @Test
    void switchingLoadsTheNewVersionAndClosesTheOld() throws Exception {
        String v1 = source.put("v1", TestModels.scale(1));
        String v2 = source.put("v2", TestModels.scale(2));
        runtime.deploy("s", source, "v1");
        LoadedVersion old = runtime.loaded("s", v1);
        VersionStatus now = runtime.switchTo("s", "v2");
        assertEquals(v2, now.version());
        assertEquals("v2", now.ref());
        assertTrue(old.isClosed());
        Prediction p = runtime.predict("s", Map.of("X", Tensor.ofFloats(new long[] {1, 1}, 21)));
        assertEquals(v2, p.version());
        assertArrayEquals(new float[] {42}, p.output("Y").toFloats());
        // Switching to the version already serving is a no-op that keeps the same loaded session.
        LoadedVersion current = runtime.loaded("s", v2);
        runtime.switchTo("s", "v2");
        assertFalse(current.isClosed());
    }

    @Test
    void aRetiredVersionClosesOnlyWhenItsLastPredictionEnds() throws Exception {
        String v1 = source.put("v1", TestModels.scale(1));
        source.put("v2", TestModels.scale(2));
        runtime.deploy("s", source, "v1");
        LoadedVersion old = runtime.loaded("s", v1);
        assertTrue(old.tryAcquire()); // a prediction in flight on v1
        runtime.switchTo("s", "v2");
        assertFalse(old.isClosed());
        assertEquals(1, old.inFlight());
        old.release();
        assertTrue(old.isClosed());
        assertFalse(old.tryAcquire());
    }

    @Test
    void undeployAndCloseStopServing() throws Exception {
        String v1 = source.put("main", TestModels.linear());
        runtime.deploy("lin", source, "main");
        LoadedVersion v = runtime.loaded("lin", v1);
        assertTrue(runtime.undeploy("lin"));
        assertFalse(runtime.undeploy("lin"));
        assertTrue(v.isClosed());
        assertEquals(InferenceException.Reason.UNKNOWN_MODEL,
                assertThrows(InferenceException.class, () -> runtime.predict("lin", x(1, 1, 2, 3))).reason());
        runtime.deploy("lin", source, "main");
        runtime.close();
        assertTrue(runtime.models().isEmpty());
        assertThrows(DeploymentException.class, () -> runtime.deploy("other", source, "main"));
    }

    @Test
    void aFullQueueIsRefusedAsOverloaded() throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession session = env.createSession(TestModels.linear())) {
            ModelSignature sig = new ModelSignature(
                    List.of(new TensorSpec("X", ElementType.FLOAT, List.of(Dim.symbolic("N"), Dim.of(3)))),
                    List.of(new TensorSpec("Y", ElementType.FLOAT, List.of(Dim.symbolic("N"), Dim.of(2)))));
            // Not started: nothing takes from the queue of one.
            VersionRunner runner = new VersionRunner(env, session, sig, RuntimeConfig.defaults().withQueueCapacity(1),
                    new MetricsRegistry(List::of).open("lin", "v1"));
            runner.submit(x(1, 1, 2, 3), 1);
            assertEquals(1, runner.queued());
            InferenceException e = assertThrows(InferenceException.class, () -> runner.submit(x(1, 1, 2, 3), 1));
            assertEquals(InferenceException.Reason.OVERLOADED, e.reason());
            assertEquals("model 'lin' version v1 has 1 predictions waiting; try again later", e.getMessage());
        }
    }
}
