package io.aether.ai;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class BatchingTest {

    private final InMemorySource source = new InMemorySource();

    /** Row i of request r: distinct values so that a mixed-up split shows. */
    private static float[] row(int r, int i) {
        return new float[] {r + 1, -(i + 1), (r * 7 + i) % 5};
    }

    private interface Call {
        Prediction call() throws Exception;
    }

    /** Runs the calls at once (released together) and returns their predictions in order. */
    private static List<Prediction> concurrently(List<Call> calls) throws Exception {
        CountDownLatch go = new CountDownLatch(1);
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<Prediction>> futures = new ArrayList<>();
            for (Call c : calls) {
                futures.add(pool.submit(() -> {
                    go.await();
                    return c.call();
                }));
            }
            go.countDown();
            List<Prediction> out = new ArrayList<>();
            for (Future<Prediction> f : futures) {
                out.add(f.get());
            }
            return out;
        }
    }

    @Test
    void concurrentRequestsShareOneRunAndEachGetsItsOwnRows() throws Exception {
        // The batch closes when it holds batchMax rows, so the long delay is never waited out.
        RuntimeConfig config = RuntimeConfig.defaults().withBatchMax(12).withBatchDelay(Duration.ofSeconds(10));
        try (InferenceRuntime runtime = InferenceRuntime.start(config)) {
            source.put("main", TestModels.linear());
            runtime.deploy("lin", source, "main");
            int[] rowsPerRequest = {1, 2, 1, 3, 1, 1, 2, 1}; // 12 rows in 8 requests
            List<Call> calls = new ArrayList<>();
            for (int r = 0; r < rowsPerRequest.length; r++) {
                int rows = rowsPerRequest[r];
                float[] x = new float[rows * 3];
                for (int i = 0; i < rows; i++) {
                    System.arraycopy(row(r, i), 0, x, i * 3, 3);
                }
                calls.add(() -> runtime.predict("lin", Map.of("X", Tensor.ofFloats(new long[] {rows, 3}, x))));
            }
            List<Prediction> results = concurrently(calls);
            for (int r = 0; r < rowsPerRequest.length; r++) {
                float[] y = results.get(r).output("Y").toFloats();
                assertEquals(rowsPerRequest[r] * 2, y.length);
                for (int i = 0; i < rowsPerRequest[r]; i++) {
                    float[] expected = TestModels.linearByHand(TestModels.W1, TestModels.B1, row(r, i));
                    assertArrayEquals(expected, new float[] {y[2 * i], y[2 * i + 1]}, "request " + r + " row " + i);
                }
            }
            VersionStatus v = runtime.status("lin").orElseThrow().stable();
            assertEquals(8, v.requests());
            assertEquals(1, v.runs(), "all 8 requests ran in one session run");
            PrometheusText m = PrometheusText.scrape(runtime.metrics());
            Map<String, String> version = Map.of("model", "lin", "version", v.version());
            assertEquals(0, m.bucket("aether_inference_batch_size", version, 8));
            assertEquals(1, m.bucket("aether_inference_batch_size", version, 16));
            assertEquals(12, m.value("aether_inference_batch_size_sum", version));
        }
    }

    @Test
    void modelsWithAFixedFirstDimensionRunOneRequestAtATime() throws Exception {
        RuntimeConfig config = RuntimeConfig.defaults().withBatchMax(8).withBatchDelay(Duration.ofSeconds(10));
        try (InferenceRuntime runtime = InferenceRuntime.start(config)) {
            source.put("fixed", TestModels.linearFixedBatch());
            runtime.deploy("fixed", source, "fixed");
            List<Call> calls = new ArrayList<>();
            for (int r = 0; r < 6; r++) {
                float[] x = row(r, 0);
                calls.add(() -> runtime.predict("fixed", Map.of("X", Tensor.ofFloats(new long[] {1, 3}, x))));
            }
            List<Prediction> results = concurrently(calls);
            for (int r = 0; r < 6; r++) {
                assertArrayEquals(TestModels.linearByHand(TestModels.W1, TestModels.B1, row(r, 0)),
                        results.get(r).output("Y").toFloats());
            }
            VersionStatus v = runtime.status("fixed").orElseThrow().stable();
            assertEquals(false, v.batching());
            assertEquals(6, v.runs());
        }
    }

    @Test
    void requestsWithDifferentNonBatchDimensionsAreNotMerged() throws Exception {
        // ids is int64[N,T]: requests with T=2 and T=3 cannot share a run; each must still be right.
        RuntimeConfig config = RuntimeConfig.defaults().withBatchMax(64).withBatchDelay(Duration.ofMillis(50));
        try (InferenceRuntime runtime = InferenceRuntime.start(config)) {
            source.put("two", TestModels.twoInputs());
            runtime.deploy("two", source, "two");
            List<Call> calls = new ArrayList<>();
            for (int r = 0; r < 8; r++) {
                int t = 2 + r % 2;
                long[] ids = new long[t];
                for (int i = 0; i < t; i++) {
                    ids[i] = r + i;
                }
                Tensor a = Tensor.ofFloats(new long[] {1, 2}, r, 1);
                calls.add(() -> runtime.predict("two", Map.of("A", a, "B", a, "ids", Tensor.ofLongs(new long[] {1, t}, ids))));
            }
            List<Prediction> results = concurrently(calls);
            for (int r = 0; r < 8; r++) {
                int t = 2 + r % 2;
                float sum = t * r + (t * (t - 1)) / 2f; // r + (r+1) + ... + (r+t-1)
                assertArrayEquals(new float[] {sum}, results.get(r).output("C").toFloats(), "request " + r);
                assertArrayEquals(new float[] {2 * r, 2}, results.get(r).output("S").toFloats(), "request " + r);
            }
            long runs = runtime.status("two").orElseThrow().stable().runs();
            assertTrue(runs >= 2 && runs <= 8, "runs: " + runs);
        }
    }

    @Test
    void batchMaxOfOneTurnsBatchingOff() throws Exception {
        try (InferenceRuntime runtime = InferenceRuntime.start(RuntimeConfig.defaults().withBatchMax(1))) {
            source.put("main", TestModels.linear());
            assertEquals(false, runtime.deploy("lin", source, "main").batching());
        }
    }

    @Test
    void aModelWhoseOutputsAreNotPerRowStopsBeingMerged() throws Exception {
        // ReduceSum over all of X: declared float[N] but really one value for the whole batch.
        byte[] sumAll = io.aether.ai.onnx.OnnxModelBuilder.create("sumall")
                .input("X", ElementType.FLOAT, Dim.symbolic("N"), Dim.of(1))
                .node("ReduceSum", List.of("X"), List.of("Y"), io.aether.ai.onnx.OnnxModelBuilder.Attribute.of("keepdims", 0L))
                .output("Y", ElementType.FLOAT, Dim.symbolic("N"))
                .build();
        RuntimeConfig config = RuntimeConfig.defaults().withBatchMax(4).withBatchDelay(Duration.ofSeconds(10));
        try (InferenceRuntime runtime = InferenceRuntime.start(config)) {
            source.put("main", sumAll);
            runtime.deploy("s", source, "main");
            List<Call> calls = new ArrayList<>();
            for (int r = 0; r < 4; r++) {
                float v = r + 1;
                calls.add(() -> runtime.predict("s", Map.of("X", Tensor.ofFloats(new long[] {1, 1}, v))));
            }
            List<Prediction> results = concurrently(calls);
            for (int r = 0; r < 4; r++) {
                // each request's own sum: the merged run's answer (10) would be wrong for all of them
                assertArrayEquals(new float[] {r + 1}, results.get(r).output("Y").toFloats());
            }
            assertEquals(false, runtime.status("s").orElseThrow().stable().batching());
        }
    }

    @Test
    void aRequestThatFailsInAMergedRunFailsAloneAndTheOthersAreAnswered() throws Exception {
        // Gather rows of a 5x2 table by id: id 99 passes validation (int64[N,1]) but fails inside ONNX Runtime.
        byte[] gather = io.aether.ai.onnx.OnnxModelBuilder.create("gather")
                .input("ids", ElementType.INT64, Dim.symbolic("N"), Dim.of(1))
                .initializer("table", Tensor.ofFloats(new long[] {5, 2}, 0, 1, 10, 11, 20, 21, 30, 31, 40, 41))
                .node("Gather", List.of("table", "ids"), List.of("Y"), io.aether.ai.onnx.OnnxModelBuilder.Attribute.of("axis", 0L))
                .output("Y", ElementType.FLOAT, Dim.symbolic("N"), Dim.of(1), Dim.of(2))
                .build();
        RuntimeConfig config = RuntimeConfig.defaults().withBatchMax(4).withBatchDelay(Duration.ofSeconds(10));
        try (InferenceRuntime runtime = InferenceRuntime.start(config)) {
            source.put("main", gather);
            runtime.deploy("g", source, "main");
            long[] ids = {1, 99, 3, 4};
            List<Call> calls = new ArrayList<>();
            for (long id : ids) {
                calls.add(() -> {
                    try {
                        return runtime.predict("g", Map.of("ids", Tensor.ofLongs(new long[] {1, 1}, id)));
                    } catch (InferenceException e) {
                        assertEquals(InferenceException.Reason.FAILED, e.reason());
                        return null;
                    }
                });
            }
            List<Prediction> results = concurrently(calls);
            assertArrayEquals(new float[] {10, 11}, results.get(0).output("Y").toFloats());
            assertEquals(null, results.get(1), "id 99 fails");
            assertArrayEquals(new float[] {30, 31}, results.get(2).output("Y").toFloats());
            assertArrayEquals(new float[] {40, 41}, results.get(3).output("Y").toFloats());
            assertEquals(5, runtime.status("g").orElseThrow().stable().runs(), "one merged run, then four alone");
        }
    }

    @Test
    void emptyRequestsAreNotMerged() throws Exception {
        RuntimeConfig config = RuntimeConfig.defaults().withBatchMax(2).withBatchDelay(Duration.ofSeconds(10));
        try (InferenceRuntime runtime = InferenceRuntime.start(config)) {
            source.put("main", TestModels.linear());
            runtime.deploy("lin", source, "main");
            List<Call> calls = new ArrayList<>();
            for (int r = 0; r < 2; r++) {
                calls.add(() -> runtime.predict("lin", Map.of("X", Tensor.ofFloats(new long[] {0, 3}))));
            }
            for (Prediction p : concurrently(calls)) {
                assertArrayEquals(new long[] {0, 2}, p.output("Y").shape());
            }
        }
    }
}
