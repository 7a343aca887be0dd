package io.aether.testkit.fuzz;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Values the code under test compares with, gathered while it is instrumented: numbers (magic
 * numbers, limits, switch cases) and short strings (keywords, field names). Class loading may
 * happen on any thread, hence the locking.
 */
final class Dictionary {

    private final Set<Long> numbers = new LinkedHashSet<>();
    private final Set<String> strings = new LinkedHashSet<>();
    private long[] numberSnapshot = new long[0];
    private List<byte[]> stringSnapshot = List.of();
    private boolean changed;

    /** 0, 1 and -1 are among the mutator's own interesting values already. */
    synchronized void addNumber(long value) {
        if (value < -1 || value > 1) changed |= numbers.add(value);
    }

    synchronized void addBytes(byte[] bytes) {
        changed |= strings.add(new String(bytes, java.nio.charset.StandardCharsets.ISO_8859_1));
    }

    synchronized long[] numbers() {
        refresh();
        return numberSnapshot;
    }

    synchronized List<byte[]> strings() {
        refresh();
        return stringSnapshot;
    }

    private void refresh() {
        if (!changed) return;
        numberSnapshot = numbers.stream().mapToLong(Long::longValue).toArray();
        List<byte[]> s = new ArrayList<>();
        for (String each : strings) s.add(each.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        stringSnapshot = List.copyOf(s);
        changed = false;
    }
}
