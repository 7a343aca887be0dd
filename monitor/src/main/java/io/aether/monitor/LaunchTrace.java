package io.aether.monitor;

import io.aether.vmm.BootTrace;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Where a standby's launch spends its time, the monitor's side of the agent's start trace
 * (docs/BENCHMARKS.md, "Where the start's time goes"): with {@code -Daether.trace.start=true}
 * the monitor prints one {@code trace-launch STEP MS ... at NANOS} line to standard error for each
 * step of a launch, once it has ended: the milliseconds since the step before and the monotonic clock's reading
 * (the agent's {@code trace-start} lines share it), from the launch's connection accepted to the
 * VM's vCPUs running. Off, each mark is a test of a constant the JIT folds away. One launch
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
    /** The launch's lines so far, printed at its end: printing on the way would time the printing. */
    private static final List<String> LINES = new ArrayList<>();

    private LaunchTrace() {
    }

    /** Now, when tracing; 0 otherwise (no clock read). */
    static long now() {
        return ON ? System.nanoTime() : 0;
    }

    /**
     * A launch's connection was accepted at {@code accepted}, and its request read and parsed at
     * {@code read} ({@link #now}). The trace's own first reads of {@code /proc} come after
     * {@code read}, so that they are counted in no step (they were 1 to 1.5 ms of the request's
     * read when they came before).
     */
    static void begin(long accepted, long read) {
        if (!ON) return;
        synchronized (LINES) {
            LINES.clear();
            LINES.add("trace-launch accepted 0.00 - at " + accepted);
            LINES.add("trace-launch request-read " + millis(read - accepted) + " - at " + read);
        }
        lastThread = Thread.currentThread().threadId();
        lastClock = threadClock();
        // With -Daether.trace.boot as well, the VM's build is split into its steps (BootTrace's lines, printed at the end).
        BootTrace.reset();
        last = System.nanoTime();
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
                : "on-cpu " + millis(clock[0] - since[0]) + " waited " + millis(clock[1] - since[1]) + " faults " + (clock[2] - since[2]);
        synchronized (LINES) {
            LINES.add("trace-launch " + step + " " + millis(at - before) + " " + split + " at " + at);
        }
        lastThread = Thread.currentThread().threadId();
        lastClock = threadClock();
        BootTrace.restartClock();
        last = System.nanoTime();
    }

    /** {@code nanos} as milliseconds with two decimals, without a formatter (whose first use costs milliseconds). */
    static String millis(long nanos) {
        long hundredths = Math.round(nanos / 1e4);
        long abs = Math.abs(hundredths);
        return (hundredths < 0 ? "-" : "") + abs / 100 + "." + (abs % 100 < 10 ? "0" : "") + abs % 100;
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

    /** The launch's last step has ended: its lines are printed. */
    static void end(String step) {
        mark(step);
        if (!ON) return;
        last = 0;
        synchronized (LINES) {
            LINES.forEach(System.err::println);
            LINES.clear();
        }
        BootTrace.print(System.err);
    }
}
