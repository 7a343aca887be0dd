package io.aether.testhost;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Tells a stall of the emulator from a hang of what runs inside it, from the two channels of a
 * nested run: the scenario's console (L1's ttyS0: the scenario, the monitor and its L2 guest)
 * and L1's own channel (its ttyS1: L1's kernel messages and a heartbeat line that a loop in
 * L1's {@code /init} writes every {@link #HEARTBEAT_INTERVAL}).
 *
 * <ul>
 *   <li>L1's kernel reports a panic, an oops, a lockup or an RCU stall: the emulated host
 *       failed ({@link EmulatorStalled}).
 *   <li>Neither a heartbeat nor console output (which passes through L1 too) for
 *       {@link Limits#heartbeat()}; before the first heartbeat, while L1 boots, no output at all
 *       for {@link Limits#console()}: the emulator stopped ({@link EmulatorStalled}).
 *   <li>Heartbeats keep coming while the console stays silent for {@link Limits#console()}:
 *       L1 is alive, so the monitor or its guest hangs ({@link MonitorHung}), which a retry
 *       would only hide.
 * </ul>
 * Times are {@link System#nanoTime()} values passed in, so that tests can feed a timeline. Not
 * thread-safe: the console guards it with its lock.
 */
final class StallClassifier {

    /** The heartbeat line's start; L1's uptime in seconds follows. */
    static final String HEARTBEAT = "AETHER-L1-ALIVE";
    static final Duration HEARTBEAT_INTERVAL = Duration.ofSeconds(5);

    /**
     * What L1's kernel prints when it cannot go on: a panic, an oops or other {@code BUG:}
     * (soft lockups, "TASK stack guard page was hit"), a hard lockup, an RCU stall.
     */
    private static final Pattern KERNEL_FAILURE = Pattern.compile(
            "Kernel panic - not syncing|BUG: |Oops: |hard LOCKUP|rcu: INFO: rcu_\\w+ (?:self-)?detected stall");
    private static final Pattern HEARTBEAT_LINE = Pattern.compile(Pattern.quote(HEARTBEAT) + " ([0-9.]+)");
    private static final int KERNEL_LOG_LINES = 60;

    /**
     * @param console   console silence after which a wait fails (and, before L1's first
     *                  heartbeat, silence of both channels)
     * @param heartbeat time without a heartbeat after which L1 counts as stalled
     */
    record Limits(Duration console, Duration heartbeat) {
        /**
         * The console limit: L1's silent phases (unpacking its initramfs, a JVM starting under
         * emulation) take seconds to a minute on a loaded machine. The heartbeat limit: twelve
         * missed beats; an L1 that runs at all writes one every few seconds even when loaded.
         */
        static final Limits DEFAULT = new Limits(Duration.ofSeconds(150), Duration.ofSeconds(60));

        Limits {
            if (console.isNegative() || console.isZero() || heartbeat.isNegative() || heartbeat.isZero()) {
                throw new IllegalArgumentException("stall limits must be positive: " + console + ", " + heartbeat);
            }
        }
    }

    /** What the channels say at a moment. */
    sealed interface Verdict permits Running, EmulatorStalled, MonitorHung {
    }

    /** Nothing wrong yet; look again at {@code recheckAt} (a nanoTime) at the latest. */
    record Running(long recheckAt) implements Verdict {
    }

    /** The emulated host (QEMU or L1's kernel) stopped: running the scenario again is fair. */
    record EmulatorStalled(String reason) implements Verdict {
    }

    /** L1 is alive but the console is silent: the monitor under test or its guest hangs. */
    record MonitorHung(String reason) implements Verdict {
    }

    private final long consoleLimit;
    private final long heartbeatLimit;
    private final Deque<String> kernelLog = new ArrayDeque<>();
    /** Console output, or L1's first heartbeat: the console cannot speak before L1 runs its init. */
    private long lastConsole;
    private long lastHostOutput;
    private long lastHeartbeat;
    private boolean heartbeatSeen;
    private String lastUptime = "";
    private String kernelFailure;

    StallClassifier(Limits limits, long start) {
        this.consoleLimit = limits.console().toNanos();
        this.heartbeatLimit = limits.heartbeat().toNanos();
        this.lastConsole = start;
        this.lastHostOutput = start;
    }

    /** The console printed something at {@code now}. */
    void consoleOutput(long now) {
        lastConsole = now;
    }

    /** A line from L1's channel at {@code now}: a heartbeat or a kernel message. */
    void hostLine(String line, long now) {
        lastHostOutput = now;
        Matcher beat = HEARTBEAT_LINE.matcher(line);
        if (beat.find()) {
            if (!heartbeatSeen) {
                heartbeatSeen = true;
                lastConsole = later(lastConsole, now);
            }
            lastHeartbeat = now;
            lastUptime = beat.group(1);
            // A kernel message can share the line when both write to the port at once.
            line = (line.substring(0, beat.start()) + line.substring(beat.end())).strip();
            if (line.isEmpty()) {
                return;
            }
        }
        if (kernelLog.size() == KERNEL_LOG_LINES) {
            kernelLog.removeFirst();
        }
        kernelLog.addLast(line);
        if (kernelFailure == null && KERNEL_FAILURE.matcher(line).find()) {
            kernelFailure = line.strip();
        }
    }

    /** What the channels say at {@code now}. */
    Verdict verdict(long now) {
        if (kernelFailure != null) {
            return new EmulatorStalled("L1's kernel reported: " + kernelFailure);
        }
        if (!heartbeatSeen) {
            long lastAny = later(lastConsole, lastHostOutput);
            if (now - lastAny >= consoleLimit) {
                return new EmulatorStalled("no heartbeat from L1 yet and no output for " + seconds(now - lastAny)
                        + ": it stalled before its init started");
            }
            return new Running(lastAny + consoleLimit);
        }
        // Console output passes through L1 as well: it too shows that L1 runs.
        long lastAlive = later(lastHeartbeat, lastConsole);
        if (now - lastAlive >= heartbeatLimit) {
            return new EmulatorStalled("L1 stopped: no heartbeat and no console output for " + seconds(now - lastAlive)
                    + " (the last heartbeat at L1 uptime " + lastUptime + " s)");
        }
        if (now - lastConsole >= consoleLimit) {
            return new MonitorHung("the console was silent for " + seconds(now - lastConsole) + " while L1 stayed"
                    + " alive (its last heartbeat " + seconds(now - lastHeartbeat) + " ago, at uptime " + lastUptime
                    + " s): the monitor or its guest hangs; that is no emulator stall, so the scenario is not run again");
        }
        return new Running(earlier(lastAlive + heartbeatLimit, lastConsole + consoleLimit));
    }

    /** The first failure L1's kernel reported, if any. */
    Optional<String> kernelFailure() {
        return Optional.ofNullable(kernelFailure);
    }

    /** L1's last kernel messages and heartbeat, for a failure message; empty when L1 said nothing. */
    String report(long now) {
        StringBuilder s = new StringBuilder();
        s.append(heartbeatSeen
                ? "L1's last heartbeat: " + seconds(now - lastHeartbeat) + " ago, at uptime " + lastUptime + " s"
                : "no heartbeat from L1");
        if (!kernelLog.isEmpty()) {
            s.append("\n--- L1 kernel messages (last ").append(kernelLog.size()).append(") ---\n")
                    .append(String.join("\n", kernelLog));
        }
        return s.toString();
    }

    // nanoTime values are compared by their difference: the clock's origin is arbitrary and may wrap.
    private static long later(long a, long b) {
        return a - b >= 0 ? a : b;
    }

    private static long earlier(long a, long b) {
        return a - b <= 0 ? a : b;
    }

    private static String seconds(long nanos) {
        return GuestConsole.seconds(Duration.ofMillis(Math.max(0, nanos) / 1_000_000 / 100 * 100));
    }
}
