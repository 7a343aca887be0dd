package io.aether.monitor;

import java.util.Locale;

/**
 * Where a standby's launch spends its time, the monitor's side of the agent's start trace
 * (docs/BENCHMARKS.md, "Where the start's time goes"): with {@code -Daether.trace.start=true}
 * the monitor prints one {@code trace-launch STEP MS} line to standard error as each step of a
 * launch ends, the milliseconds since the step before, from the launch's connection accepted to
 * the VM's vCPUs running. Off, each mark is a test of a constant the JIT folds away. One launch
 * per monitor process, so one clock for the whole process; its steps run on two threads, one
 * after the other.
 */
final class LaunchTrace {

    static final boolean ON = Boolean.getBoolean("aether.trace.start");
    /** When the last step ended; 0 outside a traced launch. */
    private static volatile long last;

    private LaunchTrace() {
    }

    /** Now, when tracing; 0 otherwise (no clock read). */
    static long now() {
        return ON ? System.nanoTime() : 0;
    }

    /** A launch's connection was accepted at {@code accepted} ({@link #now}). */
    static void begin(long accepted) {
        if (ON) last = accepted;
    }

    /** Step {@code step} of the launch has ended. */
    static void mark(String step) {
        if (!ON) return;
        long before = last;
        if (before == 0) return;
        long at = System.nanoTime();
        System.err.printf(Locale.ROOT, "trace-launch %s %.2f%n", step, (at - before) / 1e6);
        last = at;
    }

    /** The launch's last step has ended. */
    static void end(String step) {
        mark(step);
        if (ON) last = 0;
    }
}
