package io.aether.ai;

import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * The series of one model version, in the families of a {@link MetricsRegistry}; they outlive
 * the version for a while (see there).
 */
final class VersionMetrics {

    /** Outcome label of a prediction: "ok" or a failure reason. */
    static final String OK = "ok";

    final String model;
    final String version;
    final DistributionDataPoint latency;
    final DistributionDataPoint runDuration;
    final DistributionDataPoint batchRows;
    final CounterDataPoint ok;
    private final Map<InferenceException.Reason, CounterDataPoint> failures = new EnumMap<>(InferenceException.Reason.class);

    /** {@code outcome} gives the request counter of an outcome label; every outcome's series is made now, at 0. */
    VersionMetrics(String model, String version, DistributionDataPoint latency, DistributionDataPoint runDuration,
                   DistributionDataPoint batchRows, Function<String, CounterDataPoint> outcome) {
        this.model = model;
        this.version = version;
        this.latency = latency;
        this.runDuration = runDuration;
        this.batchRows = batchRows;
        this.ok = outcome.apply(OK);
        for (InferenceException.Reason r : InferenceException.Reason.values()) {
            if (r != InferenceException.Reason.UNKNOWN_MODEL) { // never counted against a version: there is none
                failures.put(r, outcome.apply(label(r)));
            }
        }
    }

    private static String label(InferenceException.Reason reason) {
        return reason.name().toLowerCase(Locale.ROOT);
    }

    void failed(InferenceException.Reason reason) {
        CounterDataPoint c = failures.get(reason);
        if (c == null) {
            throw new IllegalArgumentException("a version's prediction cannot fail with " + reason);
        }
        c.inc();
    }

    long requests() {
        long n = ok.getLongValue();
        for (CounterDataPoint c : failures.values()) {
            n += c.getLongValue();
        }
        return n;
    }

    /** The outcome labels of this version's request series. */
    List<String> outcomes() {
        return Stream.concat(Stream.of(OK), failures.keySet().stream().map(VersionMetrics::label)).toList();
    }
}
