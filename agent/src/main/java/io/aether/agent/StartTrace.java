package io.aether.agent;

import java.util.Locale;

/**
 * Where a VM's start through the API spends its time: with {@code -Daether.trace.start=true} the
 * agent prints one {@code trace-start STEP MS} line to standard error as each step of a create
 * ends, the milliseconds since the step before (docs/BENCHMARKS.md, "Where the start's time
 * goes"). Off, each mark is a test of a constant the JIT folds away.
 */
final class StartTrace {

    private static final boolean ON = Boolean.getBoolean("aether.trace.start");
    /** When the calling thread's last step ended; unset outside a traced create. */
    private static final ThreadLocal<long[]> LAST = new ThreadLocal<>();

    private StartTrace() {
    }

    /** A create begins on this thread. */
    static void begin() {
        if (ON) LAST.set(new long[] {System.nanoTime()});
    }

    /** Step {@code step} of this thread's create has ended. */
    static void mark(String step) {
        if (!ON) return;
        long[] last = LAST.get();
        if (last == null) return;
        long now = System.nanoTime();
        System.err.printf(Locale.ROOT, "trace-start %s %.2f%n", step, (now - last[0]) / 1e6);
        last[0] = now;
    }

    /** The create has ended with step {@code step}. */
    static void end(String step) {
        mark(step);
        if (ON) LAST.remove();
    }
}
