package io.aether.ai;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class MetricsRegistryTest {

    @Test
    void onlyTheMostRecentlyRetiredVersionsKeepTheirSeriesAndAReturningVersionKeepsItsCounts() throws Exception {
        MetricsRegistry registry = new MetricsRegistry(List::of);
        VersionMetrics first = registry.open("m", "v0");
        first.ok.inc(5);
        registry.retire(first);
        assertEquals(5, registry.open("m", "v0").requests(), "reopened before it was dropped: the same series");
        for (int i = 0; i < 12; i++) {
            VersionMetrics v = registry.open("m", "v" + i);
            v.ok.inc();
            v.latency.observe(0.001);
            v.failed(InferenceException.Reason.OVERLOADED);
            registry.retire(v);
        }
        registry.open("other", "w").ok.inc();
        PrometheusText m = PrometheusText.scrape(registry.registry);
        Set<String> withSeries = new TreeSet<>();
        for (String family : List.of("aether_inference_requests_total", "aether_inference_request_duration_seconds_count",
                "aether_inference_batch_size_count", "aether_inference_run_duration_seconds_count")) {
            Set<String> versions = new TreeSet<>();
            m.samples.stream().filter(s -> s.name().equals(family) && s.labels().get("model").equals("m"))
                    .forEach(s -> versions.add(s.labels().get("version")));
            assertEquals(Set.of("v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11"), versions, family);
            withSeries.addAll(versions);
        }
        assertEquals(RetiredCount.KEPT, withSeries.size());
        assertEquals(1, m.value("aether_inference_requests_total", Map.of("model", "m", "version", "v11", "outcome", "overloaded")));
        assertEquals(0, m.value("aether_inference_requests_total", Map.of("model", "m", "version", "v11", "outcome", "failed")));
        assertEquals(1, m.value("aether_inference_requests_total", Map.of("model", "other", "version", "w", "outcome", "ok")));
        assertEquals(0, registry.open("m", "v0").requests(), "a dropped version starts again from zero");
    }

    /** The kept count as the README states it, not read from the code under test. */
    private static final class RetiredCount {
        static final int KEPT = 8;
    }
}
