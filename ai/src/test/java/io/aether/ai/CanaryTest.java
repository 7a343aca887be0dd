package io.aether.ai;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class CanaryTest {

    private final InferenceRuntime runtime = InferenceRuntime.start(RuntimeConfig.defaults().withBatchDelay(Duration.ZERO));
    private final InMemorySource source = new InMemorySource();
    private final String v1 = source.put("v1", TestModels.scale(1));
    private final String v2 = source.put("v2", TestModels.scale(2));
    private final String v3 = source.put("v3", TestModels.scale(3));

    @AfterEach
    void close() {
        runtime.close();
    }

    private Map<String, Integer> send(int n) throws Exception {
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < n; i++) {
            Prediction p = runtime.predict("s", Map.of("X", Tensor.ofFloats(new long[] {1, 1}, i)));
            float k = p.version().equals(v1) ? 1 : p.version().equals(v2) ? 2 : 3;
            assertArrayEquals(new float[] {i * k}, p.output("Y").toFloats(), "answer fits version " + p.version());
            counts.merge(p.version(), 1, Integer::sum);
        }
        return counts;
    }

    @Test
    void aCanaryGetsItsShare() throws Exception {
        runtime.deploy("s", source, "v1");
        VersionStatus canary = runtime.startCanary("s", "v2", 10);
        assertEquals(VersionStatus.Role.CANARY, canary.role());
        assertEquals(10.0, canary.percent());
        ModelStatus status = runtime.status("s").orElseThrow();
        assertEquals(90.0, status.stable().percent());
        assertEquals(v2, status.canary().orElseThrow().version());

        Map<String, Integer> counts = send(1000);
        int toCanary = counts.getOrDefault(v2, 0);
        assertTrue(Math.abs(toCanary - 100) <= 20, "canary got " + toCanary + " of 1000 at 10%");
        assertEquals(1000, counts.get(v1) + toCanary);
        // The metrics are per version and agree.
        assertEquals(toCanary, runtime.status("s").orElseThrow().canary().orElseThrow().requests());
        assertEquals(1000 - toCanary, runtime.status("s").orElseThrow().stable().requests());
    }

    @Test
    void theShareHoldsUnderConcurrentRequests() throws Exception {
        runtime.deploy("s", source, "v1");
        runtime.startCanary("s", "v2", 25);
        AtomicInteger toCanary = new AtomicInteger();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int t = 0; t < 8; t++) {
                pool.submit(() -> {
                    for (int i = 0; i < 100; i++) {
                        Prediction p = runtime.predict("s", Map.of("X", Tensor.ofFloats(new long[] {1, 1}, 1)));
                        if (p.version().equals(v2)) {
                            toCanary.incrementAndGet();
                        }
                    }
                    return null;
                });
            }
        }
        assertTrue(Math.abs(toCanary.get() - 200) <= 24, "canary got " + toCanary.get() + " of 800 at 25%");
    }

    @Test
    void promoteMakesTheCanaryStableAndRetiresTheOld() throws Exception {
        runtime.deploy("s", source, "v1");
        LoadedVersion old = runtime.loaded("s", v1);
        runtime.startCanary("s", "v2", 50);
        VersionStatus promoted = runtime.promoteCanary("s");
        assertEquals(v2, promoted.version());
        assertEquals(VersionStatus.Role.STABLE, promoted.role());
        assertTrue(old.isClosed());
        assertEquals(Map.of(v2, 50), send(50));
        assertTrue(runtime.status("s").orElseThrow().canary().isEmpty());
    }

    @Test
    void rollbackEndsTheCanary() throws Exception {
        runtime.deploy("s", source, "v1");
        runtime.startCanary("s", "v2", 50);
        LoadedVersion canary = runtime.loaded("s", v2);
        assertEquals(v1, runtime.rollbackCanary("s").version());
        assertTrue(canary.isClosed());
        assertEquals(Map.of(v1, 40), send(40));
    }

    @Test
    void aNewCanaryReplacesTheOldAndTheSameOneOnlyChangesItsShare() throws Exception {
        runtime.deploy("s", source, "v1");
        runtime.startCanary("s", "v2", 10);
        LoadedVersion c2 = runtime.loaded("s", v2);
        runtime.startCanary("s", "v2", 50);
        assertFalse(c2.isClosed(), "same version: kept loaded");
        assertEquals(Map.of(v1, 50, v2, 50), send(100));
        runtime.startCanary("s", "v3", 20);
        assertTrue(c2.isClosed());
        Map<String, Integer> counts = send(100);
        assertEquals(20, counts.get(v3));
        assertEquals(80, counts.get(v1));
    }

    @Test
    void switchingEndsACanaryAndReusesItsSession() throws Exception {
        runtime.deploy("s", source, "v1");
        runtime.startCanary("s", "v2", 10);
        LoadedVersion canary = runtime.loaded("s", v2);
        runtime.switchTo("s", "v2");
        assertFalse(canary.isClosed());
        assertEquals(canary, runtime.loaded("s", v2));
        assertEquals(Map.of(v2, 10), send(10));
    }

    @Test
    void refusals() throws Exception {
        runtime.deploy("s", source, "v1");
        DeploymentException same = assertThrows(DeploymentException.class, () -> runtime.startCanary("s", "v1", 10));
        assertEquals(DeploymentException.Reason.CONFLICT, same.reason());
        assertEquals("ref 'v1' is version " + v1 + ", which is already the stable version of model 's'", same.getMessage());
        assertEquals("model 's' has no canary",
                assertThrows(DeploymentException.class, () -> runtime.promoteCanary("s")).getMessage());
        assertThrows(DeploymentException.class, () -> runtime.rollbackCanary("s"));
        assertThrows(IllegalArgumentException.class, () -> runtime.startCanary("s", "v2", 0));
        assertThrows(IllegalArgumentException.class, () -> runtime.startCanary("s", "v2", 100));
    }
}
