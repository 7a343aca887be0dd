package io.aether.testhost;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * One running scenario: its console, its exit status, its end. Close it (try-with-resources)
 * so that a failing test never leaves QEMU or a monitor running.
 */
public final class GuestRun implements AutoCloseable {

    private final HostProbe.Mode mode;
    private final Process process;
    private final GuestConsole console;
    private final StringBuilder hostErrors = new StringBuilder();
    private final Function<GuestRun, OptionalInt> status;
    private final AutoCloseable cleanup;
    private final Duration limit;
    private final long started = System.nanoTime();
    private final Thread watchdog;
    private final Thread l1Reader;
    /** How often {@link #awaitExit} asks the nested host's channels whether the run can still end. */
    private static final Duration WAIT_SLICE = Duration.ofSeconds(1);
    /** How long the end of a run waits for L1's channel to deliver its last lines. */
    private static final Duration L1_DRAIN = Duration.ofSeconds(5);
    private volatile boolean killedByLimit;
    private boolean closed;

    /**
     * @param status  the scenario's exit status once the process has ended, read from the
     *                transcript or the process (empty when it cannot be known)
     * @param cleanup run once at {@link #close()} (temporary files, the run lock)
     */
    GuestRun(HostProbe.Mode mode, Process process, Duration limit, Function<GuestRun, OptionalInt> status,
             AutoCloseable cleanup) {
        this(mode, process, limit, status, cleanup, null, null);
    }

    /**
     * A nested run: QEMU connects L1's second serial port to {@code l1}, whose lines (L1's
     * kernel messages and heartbeat) the console's {@link StallClassifier} judges with {@code limits}.
     */
    GuestRun(Process process, Duration limit, Function<GuestRun, OptionalInt> status, AutoCloseable cleanup,
             L1Channel l1, StallClassifier.Limits limits) {
        this(HostProbe.Mode.NESTED, process, limit, status, cleanup, l1, limits);
    }

    private GuestRun(HostProbe.Mode mode, Process process, Duration limit, Function<GuestRun, OptionalInt> status,
                     AutoCloseable cleanup, L1Channel l1, StallClassifier.Limits limits) {
        this.mode = mode;
        this.process = process;
        this.limit = limit;
        this.status = status;
        this.cleanup = cleanup;
        this.console = new GuestConsole(process.getOutputStream(), System.out, Duration.ofMinutes(2), this::errorsPart,
                l1 == null ? null : new StallClassifier(limits, started));
        this.l1Reader = l1 == null ? null : l1.start(this::l1Line);
        Thread.ofPlatform().daemon().name("testhost-console").start(() -> pump(process.getInputStream()));
        Thread.ofPlatform().daemon().name("testhost-stderr").start(() -> collectErrors(process.getErrorStream()));
        this.watchdog = Thread.ofPlatform().daemon().name("testhost-watchdog").start(this::watch);
    }

    /** Whether this run is nested or direct. */
    public HostProbe.Mode mode() {
        return mode;
    }

    /** The console: the scenario's stdin and stdout. */
    public GuestConsole console() {
        return console;
    }

    /** Everything the console received so far. */
    public String transcript() {
        return console.transcript();
    }

    /** What the host process (QEMU, or the shell in the direct mode) wrote to stderr, less known noise. */
    public String hostErrors() {
        synchronized (hostErrors) {
            return hostErrors.toString();
        }
    }

    /** Time since the run started. */
    public Duration elapsed() {
        return Duration.ofNanos(System.nanoTime() - started);
    }

    /**
     * Waits for the scenario to end and returns its exit status.
     *
     * @throws AssertionError with the transcript when it does not end in time (it is then
     *     killed), when its status cannot be known (e.g. the test host died), or in a nested
     *     run when L1 stays alive while the console is silent past the limit (a hang)
     * @throws HostStalledException in a nested run whose emulated host stalled or whose L1
     *     kernel failed
     */
    public int awaitExit(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            while (!process.waitFor(Math.min(deadline - System.nanoTime(), WAIT_SLICE.toNanos()), TimeUnit.NANOSECONDS)) {
                if (System.nanoTime() - deadline >= 0) {
                    process.destroyForcibly();
                    throw new AssertionError(console.failure("the run did not end within "
                            + GuestConsole.seconds(timeout) + "; killed it"));
                }
                console.checkHost("the run to end");
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while waiting for the run to end", e);
        }
        waitForOutput();
        if (killedByLimit) {
            throw new AssertionError(console.failure("the run was killed at its time limit of " + GuestConsole.seconds(limit)));
        }
        OptionalInt s = status.apply(this);
        if (s.isEmpty()) {
            throw console.endedEarly("the run ended (" + endDescription() + ") without reporting the scenario's exit status");
        }
        return s.getAsInt();
    }

    /** The host process (QEMU in the nested mode). */
    ProcessHandle processHandle() {
        return process.toHandle();
    }

    /** The host process's exit value (QEMU's in the nested mode); only after it ended. */
    int processExitValue() {
        return process.exitValue();
    }

    /** Kills the run if it still goes on, and releases what it holds. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        watchdog.interrupt();
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        try {
            process.waitFor(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            cleanup.close();
        } catch (Exception e) {
            throw new IllegalStateException("cleaning up after the run: " + e.getMessage(), e);
        }
    }

    private void pump(InputStream stdout) {
        char[] buffer = new char[8192];
        try (Reader in = new InputStreamReader(stdout, StandardCharsets.UTF_8)) {
            int n;
            while ((n = in.read(buffer)) > 0) {
                console.received(new String(buffer, 0, n));
            }
        } catch (IOException e) {
            console.received("\n[console read failed: " + e.getMessage() + "]\n");
        }
        try {
            process.waitFor();
            if (l1Reader != null) {
                // What L1's kernel said last (a panic ends QEMU) decides how the end is reported.
                l1Reader.join(L1_DRAIN.toMillis());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        console.end(endDescription());
    }

    private void l1Line(String line) {
        console.hostLine(line);
        if (!line.contains(StallClassifier.HEARTBEAT)) {
            TestHost.progress("L1: " + line);
        }
    }

    private void collectErrors(InputStream stderr) {
        try (var in = new java.io.BufferedReader(new InputStreamReader(stderr, StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                // QEMU warns about each CPUID bit that TCG cannot emulate for the EPYC model; harmless.
                if (!line.contains("TCG doesn't support requested feature")) {
                    synchronized (hostErrors) {
                        hostErrors.append(line).append('\n');
                    }
                }
            }
        } catch (IOException e) {
            synchronized (hostErrors) {
                hostErrors.append("[stderr read failed: ").append(e.getMessage()).append("]\n");
            }
        }
    }

    private void watch() {
        try {
            if (!process.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
                killedByLimit = true;
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            // close() stops the watchdog.
        }
    }

    private void waitForOutput() {
        // The console ends once the reader has drained the process's output.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (console.endReason() == null && System.nanoTime() < deadline) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private String endDescription() {
        if (process.isAlive()) {
            return "output closed";
        }
        String what = (mode == HostProbe.Mode.NESTED ? "QEMU" : "the scenario") + " exited with status " + process.exitValue();
        return killedByLimit ? what + " after being killed at the run's time limit of " + GuestConsole.seconds(limit) : what;
    }

    private String errorsPart() {
        String errors = hostErrors().strip();
        return errors.isEmpty() ? "" : "\n--- host stderr ---\n" + errors;
    }
}
