package io.aether.ai;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How the runtime runs every model version it loads.
 *
 * @param batchMax       most rows (first-dimension entries) merged into one run; 1 turns batching off.
 *                       A single request larger than this still runs, alone.
 * @param batchDelay     how long the first request of a batch waits for others to join it;
 *                       zero (the default) merges the requests that queued while the previous
 *                       run was going, which batches under load without delaying a lone request
 * @param workers        runner threads per version (each runs one batch at a time)
 * @param intraOpThreads ONNX Runtime intra-op threads per session; 0 leaves ONNX Runtime's default
 * @param queueCapacity  requests a version may hold waiting; more are refused as overloaded
 * @param warmUp         run each version once on zero inputs when it is loaded, so a model that
 *                       fails at run time is refused at load and the first request is not slow
 */
public record RuntimeConfig(int batchMax, Duration batchDelay, int workers, int intraOpThreads,
                            int queueCapacity, boolean warmUp) {

    public static final Duration MAX_BATCH_DELAY = Duration.ofSeconds(10);

    public RuntimeConfig {
        if (batchMax < 1 || batchMax > 65_536) {
            throw new IllegalArgumentException("batch max must be 1..65536, got " + batchMax);
        }
        if (batchDelay == null || batchDelay.isNegative() || batchDelay.compareTo(MAX_BATCH_DELAY) > 0) {
            throw new IllegalArgumentException("batch delay must be 0..10s, got " + batchDelay);
        }
        if (workers < 1 || workers > 256) {
            throw new IllegalArgumentException("workers must be 1..256, got " + workers);
        }
        if (intraOpThreads < 0 || intraOpThreads > 1024) {
            throw new IllegalArgumentException("intra-op threads must be 0..1024, got " + intraOpThreads);
        }
        if (queueCapacity < 1) {
            throw new IllegalArgumentException("queue capacity must be >= 1, got " + queueCapacity);
        }
    }

    /**
     * Batches of up to 32 rows with no added delay, one worker, ONNX Runtime's thread default,
     * 1024 queued, warm-up on. (A delay only pays off when many independent clients send at once:
     * closed-loop clients wait it out on every request; see docs/BENCHMARKS.md, "Inference".)
     */
    public static RuntimeConfig defaults() {
        return new RuntimeConfig(32, Duration.ZERO, 1, 0, 1024, true);
    }

    public RuntimeConfig withBatchMax(int n) {
        return new RuntimeConfig(n, batchDelay, workers, intraOpThreads, queueCapacity, warmUp);
    }

    public RuntimeConfig withBatchDelay(Duration d) {
        return new RuntimeConfig(batchMax, d, workers, intraOpThreads, queueCapacity, warmUp);
    }

    public RuntimeConfig withWorkers(int n) {
        return new RuntimeConfig(batchMax, batchDelay, n, intraOpThreads, queueCapacity, warmUp);
    }

    public RuntimeConfig withIntraOpThreads(int n) {
        return new RuntimeConfig(batchMax, batchDelay, workers, n, queueCapacity, warmUp);
    }

    public RuntimeConfig withQueueCapacity(int n) {
        return new RuntimeConfig(batchMax, batchDelay, workers, intraOpThreads, n, warmUp);
    }

    public RuntimeConfig withWarmUp(boolean on) {
        return new RuntimeConfig(batchMax, batchDelay, workers, intraOpThreads, queueCapacity, on);
    }

    private static final Pattern DURATION = Pattern.compile("(\\d+(?:\\.\\d+)?)(us|µs|ms|s|m)?");

    /**
     * Parses a short duration: {@code 2ms}, {@code 500us}, {@code 1.5s}, {@code 1m}, a bare
     * number of milliseconds, or ISO-8601 ({@code PT0.002S}).
     *
     * @throws IllegalArgumentException naming the text if it is none of these
     */
    public static Duration parseDuration(String text) {
        String t = text.strip().toLowerCase(Locale.ROOT);
        if (t.startsWith("pt")) {
            try {
                return Duration.parse(t);
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("not a duration: '" + text + "'");
            }
        }
        Matcher m = DURATION.matcher(t);
        if (!m.matches()) {
            throw new IllegalArgumentException("not a duration: '" + text + "' (examples: 2ms, 500us, 1.5s)");
        }
        double value = Double.parseDouble(m.group(1));
        String unit = m.group(2) == null ? "ms" : m.group(2);
        double nanos = value * switch (unit) {
            case "us", "µs" -> 1e3;
            case "ms" -> 1e6;
            case "s" -> 1e9;
            case "m" -> 60e9;
            default -> throw new IllegalStateException(unit);
        };
        if (nanos > Long.MAX_VALUE / 2) {
            throw new IllegalArgumentException("duration too long: '" + text + "'");
        }
        return Duration.ofNanos(Math.round(nanos));
    }
}
