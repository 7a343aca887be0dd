package io.aether.http;

import java.util.EnumMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/** The counts behind {@link Stats}. */
final class Counters {

    private final Map<Stats.Refusal, LongAdder> refusals = new EnumMap<>(Stats.Refusal.class);
    private final Map<Integer, LongAdder> responses = new ConcurrentHashMap<>();
    private final LongAdder requests = new LongAdder();
    final AtomicInteger inFlight = new AtomicInteger();

    Counters() {
        for (Stats.Refusal r : Stats.Refusal.values()) {
            refusals.put(r, new LongAdder());
        }
    }

    void refused(Stats.Refusal why) {
        refusals.get(why).increment();
    }

    void request() {
        requests.increment();
    }

    void answered(int status) {
        responses.computeIfAbsent(status, s -> new LongAdder()).increment();
    }

    Stats snapshot(int connections) {
        Map<Stats.Refusal, Long> r = new EnumMap<>(Stats.Refusal.class);
        refusals.forEach((k, v) -> r.put(k, v.sum()));
        Map<Integer, Long> s = new TreeMap<>();
        responses.forEach((k, v) -> s.put(k, v.sum()));
        return new Stats(requests.sum(), s, r, connections, inFlight.get());
    }
}
