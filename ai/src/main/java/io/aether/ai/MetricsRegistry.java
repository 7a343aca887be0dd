package io.aether.ai;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The runtime's metrics. A version's series stay after it is retired (counters must not vanish
 * between two scrapes) but only for the {@value #RETIRED_KEPT} most recently retired versions of
 * a model, so that switching versions all day does not grow the output without bound.
 */
final class MetricsRegistry {

    static final int RETIRED_KEPT = 8;

    private final Map<String, VersionMetrics> live = new LinkedHashMap<>();
    private final Map<String, VersionMetrics> retired = new LinkedHashMap<>();
    private final Map<String, LongAdder> loadFailures = new ConcurrentHashMap<>();

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
            m = new VersionMetrics(model, version);
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
        List<String> ofModel = new ArrayList<>();
        for (Map.Entry<String, VersionMetrics> e : retired.entrySet()) {
            if (e.getValue().model.equals(m.model)) {
                ofModel.add(e.getKey());
            }
        }
        for (int i = 0; i < ofModel.size() - RETIRED_KEPT; i++) {
            retired.remove(ofModel.get(i));
        }
    }

    void loadFailed(String model) {
        loadFailures.computeIfAbsent(model, m -> new LongAdder()).increment();
    }

    /** Writes every family; {@code routes} supplies the current traffic share of live versions. */
    void write(StringBuilder out, Supplier<List<ModelStatus>> routes) {
        List<VersionMetrics> all;
        synchronized (this) {
            all = new ArrayList<>(live.values());
            all.addAll(retired.values());
        }
        histograms(out, all, m -> m.latency, "aether_inference_request_duration_seconds",
                "Time from a prediction's arrival in the runtime to its answer (queueing, batching, run), successful predictions only.");
        Prom.family(out, "aether_inference_requests_total", "counter",
                "Predictions answered, by outcome (ok, invalid_input, overloaded, failed).");
        for (VersionMetrics m : all) {
            Prom.sample(out, "aether_inference_requests_total",
                    Prom.labels("model", m.model, "version", m.version, "outcome", VersionMetrics.OK), m.ok.sum());
            for (Map.Entry<InferenceException.Reason, LongAdder> f : m.failures.entrySet()) {
                if (f.getKey() == InferenceException.Reason.UNKNOWN_MODEL) {
                    continue; // never counted against a version: there is none
                }
                Prom.sample(out, "aether_inference_requests_total",
                        Prom.labels("model", m.model, "version", m.version,
                                "outcome", f.getKey().name().toLowerCase(Locale.ROOT)), f.getValue().sum());
            }
        }
        histograms(out, all, m -> m.batchRows, "aether_inference_batch_size",
                "Rows (first-dimension entries) per ONNX Runtime run, failed runs included; the count is the number of runs.");
        histograms(out, all, m -> m.runDuration, "aether_inference_run_duration_seconds",
                "Time of one ONNX Runtime session run (failed runs included), tensor copies in and out included.");
        Prom.family(out, "aether_model_traffic_percent", "gauge",
                "Share of a model's requests routed to each loaded version, by role (stable, canary).");
        for (ModelStatus s : routes.get()) {
            for (VersionStatus v : s.versions()) {
                Prom.sample(out, "aether_model_traffic_percent",
                        Prom.labels("model", s.name(), "version", v.version(), "role", v.role().label()), v.percent());
            }
        }
        Prom.family(out, "aether_model_load_failures_total", "counter",
                "Model versions refused at load (malformed or unsupported model, unreadable source).");
        for (Map.Entry<String, LongAdder> e : loadFailures.entrySet()) {
            Prom.sample(out, "aether_model_load_failures_total", Prom.labels("model", e.getKey()), e.getValue().sum());
        }
    }

    /** One histogram family: the header, then each version's series. */
    private static void histograms(StringBuilder out, List<VersionMetrics> all, Function<VersionMetrics, Histogram> histogram,
                                   String name, String help) {
        Prom.family(out, name, "histogram", help);
        for (VersionMetrics m : all) {
            histogram.apply(m).write(out, name, m.labels());
        }
    }
}
