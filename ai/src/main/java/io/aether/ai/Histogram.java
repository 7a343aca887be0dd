package io.aether.ai;

import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;

/** A Prometheus-style histogram with fixed upper bounds; lock-free to observe. */
final class Histogram {

    /** Seconds: 100 µs to 10 s. */
    static final double[] LATENCY_BOUNDS = {
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

    /** Rows per run. */
    static final double[] BATCH_BOUNDS = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};

    private final double[] bounds;
    private final LongAdder[] counts; // per bucket, not cumulative; the last one is +Inf
    private final DoubleAdder sum = new DoubleAdder();

    Histogram(double[] bounds) {
        this.bounds = bounds.clone();
        this.counts = new LongAdder[bounds.length + 1];
        for (int i = 0; i < counts.length; i++) {
            counts[i] = new LongAdder();
        }
    }

    void observe(double value) {
        int i = 0;
        while (i < bounds.length && value > bounds[i]) {
            i++;
        }
        counts[i].increment();
        sum.add(value);
    }

    long count() {
        long n = 0;
        for (LongAdder c : counts) {
            n += c.sum();
        }
        return n;
    }

    /** Writes the _bucket, _sum and _count series; buckets are cumulative and +Inf equals _count. */
    void write(StringBuilder out, String name, String labels) {
        long cumulative = 0;
        for (int i = 0; i < counts.length; i++) {
            cumulative += counts[i].sum();
            String le = i < bounds.length ? Prom.number(bounds[i]) : "+Inf";
            Prom.sample(out, name + "_bucket", Prom.withLabel(labels, "le", le), cumulative);
        }
        Prom.sample(out, name + "_sum", labels, sum.sum());
        Prom.sample(out, name + "_count", labels, cumulative);
    }
}
