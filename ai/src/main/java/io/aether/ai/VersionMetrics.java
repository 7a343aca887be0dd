package io.aether.ai;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/** Counters and histograms of one model version; they outlive the version for a while (see {@link MetricsRegistry}). */
final class VersionMetrics {

    /** Outcome label of a prediction: "ok" or a failure reason. */
    static final String OK = "ok";

    final String model;
    final String version;
    final Histogram latency = new Histogram(Histogram.LATENCY_BOUNDS);
    final Histogram runDuration = new Histogram(Histogram.LATENCY_BOUNDS);
    final Histogram batchRows = new Histogram(Histogram.BATCH_BOUNDS);
    final LongAdder ok = new LongAdder();
    final Map<InferenceException.Reason, LongAdder> failures = new EnumMap<>(InferenceException.Reason.class);

    VersionMetrics(String model, String version) {
        this.model = model;
        this.version = version;
        for (InferenceException.Reason r : InferenceException.Reason.values()) {
            failures.put(r, new LongAdder());
        }
    }

    void failed(InferenceException.Reason reason) {
        failures.get(reason).increment();
    }

    long requests() {
        long n = ok.sum();
        for (LongAdder a : failures.values()) {
            n += a.sum();
        }
        return n;
    }

    String labels() {
        return Prom.labels("model", model, "version", version);
    }
}
