package io.aether.ai;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class RuntimeConfigTest {

    @Test
    void durations() {
        assertEquals(Duration.ofMillis(2), RuntimeConfig.parseDuration("2ms"));
        assertEquals(Duration.ofMillis(2), RuntimeConfig.parseDuration("2"));
        assertEquals(Duration.ofNanos(500_000), RuntimeConfig.parseDuration("500us"));
        assertEquals(Duration.ofMillis(1500), RuntimeConfig.parseDuration("1.5s"));
        assertEquals(Duration.ofMinutes(1), RuntimeConfig.parseDuration("1m"));
        assertEquals(Duration.ofMillis(2), RuntimeConfig.parseDuration("PT0.002S"));
        assertEquals(Duration.ZERO, RuntimeConfig.parseDuration("0"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RuntimeConfig.parseDuration("soon"));
        assertEquals("not a duration: 'soon' (examples: 2ms, 500us, 1.5s)", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> RuntimeConfig.parseDuration("-1ms"));
    }

    @Test
    void configLimits() {
        assertThrows(IllegalArgumentException.class, () -> RuntimeConfig.defaults().withBatchMax(0));
        assertThrows(IllegalArgumentException.class, () -> RuntimeConfig.defaults().withBatchDelay(Duration.ofSeconds(11)));
        assertThrows(IllegalArgumentException.class, () -> RuntimeConfig.defaults().withWorkers(0));
        assertThrows(IllegalArgumentException.class, () -> RuntimeConfig.defaults().withQueueCapacity(0));
        assertTrue(RuntimeConfig.defaults().warmUp());
    }

    @Test
    void canarySpecs() {
        assertEquals(new CanarySpec("v2", 10), CanarySpec.parse("v2:10"));
        assertEquals(new CanarySpec("main", 2.5), CanarySpec.parse("main:2.5%"));
        assertEquals(new CanarySpec("refs:odd", 5), CanarySpec.parse("refs:odd:5"));
        assertEquals("canary must be REF:PERCENT, e.g. v2:10, got 'v2'",
                assertThrows(IllegalArgumentException.class, () -> CanarySpec.parse("v2")).getMessage());
        assertEquals("canary percent must be above 0 and below 100, got 100.0",
                assertThrows(IllegalArgumentException.class, () -> CanarySpec.parse("v2:100")).getMessage());
        assertThrows(IllegalArgumentException.class, () -> CanarySpec.parse("v2:ten"));
    }
}
