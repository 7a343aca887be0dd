package io.aether.ai;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The runtime's metrics, in a Prometheus client registry. A version's series stay after it is
 * retired (counters must not vanish between two scrapes) but only for the {@value #RETIRED_KEPT}
 * most recently retired versions of a model, so that switching versions all day does not grow
 * the output without bound.
 */
final class MetricsRegistry {

    static final int RETIRED_KEPT = 8;

    /** Seconds: 100 µs to 10 s. */
    static final double[] LATENCY_BOUNDS = {
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

    /** Rows per run. */
    private static final double[] BATCH_BOUNDS = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};

    final PrometheusRegistry registry = new PrometheusRegistry();
    private final Histogram latency = histogram("aether_inference_request_duration_seconds",
            "Time from a prediction's arrival in the runtime to its answer (queueing, batching, run), successful predictions only.",
            LATENCY_BOUNDS);
    private final Counter requests = Counter.builder().name("aether_inference_requests_total")
            .help("Predictions answered, by outcome (ok, invalid_input, overloaded, failed).")
            .labelNames("model", "version", "outcome").register(registry);
    private final Histogram batchRows = histogram("aether_inference_batch_size",
            "Rows (first-dimension entries) per ONNX Runtime run, failed runs included; the count is the number of runs.",
            BATCH_BOUNDS);
    private final Histogram runDuration = histogram("aether_inference_run_duration_seconds",
            "Time of one ONNX Runtime session run (failed runs included), tensor copies in and out included.",
            LATENCY_BOUNDS);
    private final Counter loadFailures = Counter.builder().name("aether_model_load_failures_total")
            .help("Model versions refused at load (malformed or unsupported model, unreadable source).")
            .labelNames("model").register(registry);

    private final Map<String, VersionMetrics> live = new LinkedHashMap<>();
    private final Map<String, VersionMetrics> retired = new LinkedHashMap<>();

    /** {@code routes} supplies the current traffic share of live versions at each scrape. */
    MetricsRegistry(Supplier<List<ModelStatus>> routes) {
        GaugeWithCallback.builder().name("aether_model_traffic_percent")
                .help("Share of a model's requests routed to each loaded version, by role (stable, canary).")
                .labelNames("model", "version", "role")
                .callback(gauge -> {
                    for (ModelStatus s : routes.get()) {
                        for (VersionStatus v : s.versions()) {
                            gauge.call(v.percent(), s.name(), v.version(), v.role().label());
                        }
                    }
                })
                .register(registry);
    }

    private Histogram histogram(String name, String help, double[] bounds) {
        return Histogram.builder().name(name).help(help).labelNames("model", "version")
                .classicOnly().classicUpperBounds(bounds).register(registry);
    }

    private static String key(String model, String version) {
        return model + '\0' + version;
    }

    /** The metrics of a version being loaded: the earlier series if it served before, else new ones. */
    synchronized VersionMetrics open(String model, String version) {
        String k = key(model, version);
        VersionMetrics m = live.get(k);
        if (m == null) {
            m = retired.remove(k);
        }
        if (m == null) {
            m = new VersionMetrics(model, version, latency.labelValues(model, version),
                    runDuration.labelValues(model, version), batchRows.labelValues(model, version),
                    outcome -> requests.labelValues(model, version, outcome));
        }
        live.put(k, m);
        return m;
    }

    synchronized void retire(VersionMetrics m) {
        String k = key(m.model, m.version);
        if (live.remove(k) == null) {
            return;
        }
        retired.put(k, m);
        List<VersionMetrics> ofModel = new ArrayList<>();
        for (VersionMetrics r : retired.values()) {
            if (r.model.equals(m.model)) {
                ofModel.add(r);
            }
        }
        for (int i = 0; i < ofModel.size() - RETIRED_KEPT; i++) {
            forget(ofModel.get(i));
        }
    }

    /** Drops a retired version's series from the output. */
    private void forget(VersionMetrics m) {
        retired.remove(key(m.model, m.version));
        for (Histogram h : List.of(latency, runDuration, batchRows)) {
            h.remove(m.model, m.version);
        }
        for (String outcome : m.outcomes()) {
            requests.remove(m.model, m.version, outcome);
        }
    }

    void loadFailed(String model) {
        loadFailures.labelValues(model).inc();
    }
}
