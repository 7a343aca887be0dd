package io.aether.agent;

/**
 * Where a VM's start through the API spends its time: with {@code -Daether.trace.start=true} the
 * agent prints one {@code trace-start STEP MS at NANOS} line to standard error for each step of a
 * create, once the create has ended: the milliseconds since the step before and the
 * monotonic clock's reading, which the monitor's {@code trace-launch} lines and the bench share,
 * so that the gaps between processes show (docs/BENCHMARKS.md, "Where the start's time goes").
 * Off, each mark is a test of a constant the JIT folds away.
 */
final class StartTrace {

    private static final boolean ON = Boolean.getBoolean("aether.trace.start");
    /** The calling thread's create: when its last step ended, and its lines so far; unset outside a traced create. */
    private static final ThreadLocal<Create> CREATE = new ThreadLocal<>();

    private static final class Create {
        long last;
        final StringBuilder lines = new StringBuilder();
    }

    private StartTrace() {
    }

    /** A create begins on this thread. */
    static void begin() {
        if (!ON) return;
        Create c = new Create();
        c.last = System.nanoTime();
        c.lines.append("trace-start begin 0.00 at ").append(c.last).append('\n');
        CREATE.set(c);
    }

    /** Step {@code step} of this thread's create has ended. */
    static void mark(String step) {
        if (!ON) return;
        Create c = CREATE.get();
        if (c == null) return;
        long now = System.nanoTime();
        long hundredths = Math.round((now - c.last) / 1e4);
        c.lines.append("trace-start ").append(step).append(' ').append(hundredths / 100).append('.')
                .append(hundredths % 100 < 10 ? "0" : "").append(hundredths % 100).append(" at ").append(now).append('\n');
        c.last = now;
    }

    /** Step {@code step} of a create ended on another thread than the create's (the standby taken ahead): printed at once. */
    static void markOn(String step) {
        if (!ON) return;
        long now = System.nanoTime();
        System.err.print("trace-start " + step + " - at " + now + "\n");
    }

    /** The create has ended with step {@code step}: its lines are printed. */
    static void end(String step) {
        mark(step);
        if (!ON) return;
        Create c = CREATE.get();
        CREATE.remove();
        if (c != null) System.err.print(c.lines);
    }
}
