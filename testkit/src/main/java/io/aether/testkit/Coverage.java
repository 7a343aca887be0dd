package io.aether.testkit;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * How often the tries of a property reached something: a check that the generators exercise
 * what the property is about, and not only, say, the refusals.
 * <pre>{@code
 * Coverage coverage = new Coverage();
 * Property.forAll(scenarios).tries(400).check(s -> {
 *     QueueCounters c = run(s);
 *     coverage.collect("valid chains", c.chains() > 0);
 *     coverage.collect("faults", c.totalFaults() > 0);
 * });
 * coverage.require("valid chains", 30);
 * coverage.require("faults", 20);
 * }</pre>
 * Not thread-safe: a property runs its tries one after the other.
 */
public final class Coverage {

    /** Per label: {tries that reached it, tries that reported on it}. */
    private final Map<String, long[]> counts = new LinkedHashMap<>();

    /** Records whether this try reached {@code label}; call it once per try and label. */
    public void collect(String label, boolean reached) {
        long[] c = counts.computeIfAbsent(Objects.requireNonNull(label, "label"), k -> new long[2]);
        if (reached) {
            c[0]++;
        }
        c[1]++;
    }

    /** The share of the tries reporting on {@code label} that reached it, in percent. */
    public double percent(String label) {
        long[] c = counts.get(label);
        if (c == null) {
            throw new AssertionError("no try reported on '" + label + "'; labels seen: " + counts.keySet());
        }
        return 100.0 * c[0] / c[1];
    }

    /** Fails unless at least {@code atLeastPercent} percent of the tries reached {@code label}. */
    public void require(String label, double atLeastPercent) {
        double percent = percent(label);
        if (percent < atLeastPercent) {
            long[] c = counts.get(label);
            throw new AssertionError(String.format("coverage of '%s' is %.1f%% (%d of %d tries); at least %s%% is required%n%s",
                    label, percent, c[0], c[1], atLeastPercent, this));
        }
    }

    /** One line per label: its percentage and counts. */
    @Override
    public String toString() {
        return counts.entrySet().stream()
                .map(e -> String.format("  %-24s %5.1f%% (%d of %d)", e.getKey(), 100.0 * e.getValue()[0] / e.getValue()[1],
                        e.getValue()[0], e.getValue()[1]))
                .collect(Collectors.joining("\n"));
    }
}
