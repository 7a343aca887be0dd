package io.aether.vmm;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where {@code aether vm run}'s start goes, from the process's start to the guest's first
 * {@code KVM_RUN} (docs/BENCHMARKS.md (f)), as the monitor's {@code -Daether.trace.start} traces a
 * standby's launch: with {@code -Daether.trace.boot=true} each step's end is marked, and the
 * lines are printed once, when the run ends ({@link #print}), since printing on the way would
 * time the printing. Each line is {@code trace-boot STEP MS SINCE}: the milliseconds since the
 * step before and since the process started. The start comes from {@code /proc/self/stat} and
 * {@code /proc/uptime} (both since boot, in hundredths of a second), so the first step, the JVM's
 * own start up to the first mark, is good to 10 ms; the later steps are the monotonic clock's.
 * Off, each mark is a test of a constant the JIT folds away.
 */
public final class BootTrace {

    static final boolean ON = Boolean.getBoolean("aether.trace.boot");
    /** The process's start on {@link System#nanoTime}'s clock; 0 until the first mark. */
    private static long start;
    private static long last;
    private static final StringBuilder LINES = new StringBuilder();

    private BootTrace() {
    }

    /** Step {@code step} has ended. */
    public static void mark(String step) {
        if (!ON) return;
        long at = System.nanoTime();
        synchronized (LINES) {
            if (start == 0) {
                start = at - sinceProcessStart();
                last = start;
            }
            LINES.append(line(step, at - last, at - start)).append('\n');
            last = at;
        }
    }

    /**
     * Forgets the steps marked so far: a standby monitor's launch traces its VM's build alone, not
     * its warm-up's VMs before it. The steps' "since the process started" then counts from the
     * next mark, not from the process's start.
     */
    public static void reset() {
        if (!ON) return;
        synchronized (LINES) {
            LINES.setLength(0);
            last = System.nanoTime();
            start = last;
        }
    }

    /**
     * The next step counts from now: a standby's launch trace marks its own steps between this
     * trace's, and its marks' time (reading {@code /proc}) is no step's here.
     */
    public static void restartClock() {
        if (!ON) return;
        synchronized (LINES) {
            last = System.nanoTime();
        }
    }

    /** The steps marked so far, once; nothing when tracing is off. */
    public static void print(PrintStream out) {
        if (!ON) return;
        synchronized (LINES) {
            out.print(LINES);
            out.flush();
            LINES.setLength(0);
        }
    }

    static String line(String step, long sinceLast, long sinceStart) {
        return "trace-boot " + step + " " + millis(sinceLast) + " " + millis(sinceStart);
    }

    /** Whole milliseconds and tenths, without a formatter (whose first use costs milliseconds). */
    private static String millis(long nanos) {
        long tenths = nanos / 100_000;
        return tenths / 10 + "." + Math.abs(tenths % 10);
    }

    /** Nanoseconds since this process started; 0 where /proc cannot say (the first step then reads 0). */
    private static long sinceProcessStart() {
        try {
            String stat = Files.readString(Path.of("/proc/self/stat"));
            String uptime = Files.readString(Path.of("/proc/uptime"));
            return sinceStart(stat, uptime);
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    /**
     * From {@code /proc/self/stat} (its 22nd field, starttime, in clock ticks since boot) and
     * {@code /proc/uptime} (seconds since boot): nanoseconds since the process started. Linux's
     * clock tick as user space sees it (USER_HZ) is 100 on every architecture the monitor runs on.
     */
    static long sinceStart(String stat, String uptime) {
        // Fields after the command's closing parenthesis: state is the 3rd field, starttime the 22nd.
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        long startTicks = Long.parseLong(fields[19]);
        String seconds = uptime.strip().split(" ")[0];
        int dot = seconds.indexOf('.');
        long nowHundredths = Long.parseLong(seconds.substring(0, dot)) * 100 + Long.parseLong(seconds.substring(dot + 1));
        return Math.max(0, nowHundredths - startTicks) * 10_000_000L;
    }
}
