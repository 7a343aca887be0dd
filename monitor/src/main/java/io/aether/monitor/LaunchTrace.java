package io.aether.monitor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Where a standby's launch spends its time, the monitor's side of the agent's start trace
 * (docs/BENCHMARKS.md, "Where the start's time goes"): with {@code -Daether.trace.start=true}
 * the monitor prints one {@code trace-launch STEP MS} line to standard error as each step of a
 * launch ends, the milliseconds since the step before, from the launch's connection accepted to
 * the VM's vCPUs running. Off, each mark is a test of a constant the JIT folds away. One launch
 * per monitor process, so one clock for the whole process; its steps run on two threads, one
 * after the other. Each line also says how the step's time split on its thread (from
 * {@code /proc/thread-self}): on a core, waiting for one (runnable but not running), and the
 * minor page faults taken; {@code -} where the step ran on another thread than the one before.
 */
final class LaunchTrace {

    static final boolean ON = Boolean.getBoolean("aether.trace.start");
    /** When the last step ended; 0 outside a traced launch. */
    private static volatile long last;
    /** The thread of the last step and its {@link #threadClock} then. */
    private static volatile long lastThread;
    private static volatile long[] lastClock;

    private LaunchTrace() {
    }

    /** Now, when tracing; 0 otherwise (no clock read). */
    static long now() {
        return ON ? System.nanoTime() : 0;
    }

    /** A launch's connection was accepted at {@code accepted} ({@link #now}). */
    static void begin(long accepted) {
        if (!ON) return;
        last = accepted;
        lastThread = Thread.currentThread().threadId();
        lastClock = threadClock();
    }

    /** Step {@code step} of the launch has ended. */
    static void mark(String step) {
        if (!ON) return;
        long before = last;
        if (before == 0) return;
        long at = System.nanoTime();
        long[] clock = threadClock();
        long[] since = lastClock;
        String split = Thread.currentThread().threadId() != lastThread || clock == null || since == null ? "-"
                : String.format(Locale.ROOT, "on-cpu %.2f waited %.2f faults %d",
                        (clock[0] - since[0]) / 1e6, (clock[1] - since[1]) / 1e6, clock[2] - since[2]);
        System.err.printf(Locale.ROOT, "trace-launch %s %.2f %s%n", step, (at - before) / 1e6, split);
        lastThread = Thread.currentThread().threadId();
        lastClock = threadClock();
        last = System.nanoTime();
    }

    /** This thread's time on a core and waiting for one (ns), and its minor page faults; null where /proc cannot say. */
    private static long[] threadClock() {
        try {
            String[] sched = Files.readString(Path.of("/proc/thread-self/schedstat")).strip().split(" ");
            String stat = Files.readString(Path.of("/proc/thread-self/stat"));
            // Fields after the command's closing parenthesis: state is the 3rd field, minflt the 10th.
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return new long[] {Long.parseLong(sched[0]), Long.parseLong(sched[1]), Long.parseLong(fields[7])};
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** The launch's last step has ended. */
    static void end(String step) {
        mark(step);
        if (ON) last = 0;
    }
}
