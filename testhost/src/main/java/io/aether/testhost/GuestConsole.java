package io.aether.testhost;

import io.aether.guest.GuestInit;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.MatchResult;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.function.Supplier;

/**
 * The console of a run, expect-style: wait for text or a line (with a time limit), send
 * input, read the transcript.
 *
 * <p>In the nested mode the path is test, QEMU's stdin, the test host's ttyS0 (raw), the
 * monitor's stdin, the guest's UART, the guest's shell, and back the same way. Output is kept
 * as text with carriage returns removed. Waiting consumes: each {@code expect} searches from
 * where the previous match ended. A wait that times out, or that the end of the run cuts
 * short, fails the test with the transcript so far.
 */
public final class GuestConsole {

    /**
     * The end of a shell prompt ({@code / # }, {@code ~ $ }): last in the output so far, or
     * followed only by a kernel message that the guest printed after it.
     */
    public static final Pattern PROMPT = Pattern.compile("[#$] (?:$|(?=\\[ *\\d+\\.\\d+\\] ))");

    /** What a command run with {@link #exec} printed, and its exit status. */
    public record ShellResult(String command, List<String> lines, int status) {
        public ShellResult {
            lines = List.copyOf(lines);
        }

        /** The output lines joined with newlines. */
        public String output() {
            return String.join("\n", lines);
        }
    }

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final StringBuilder text = new StringBuilder();
    private final OutputStream input;
    private final PrintStream echo;
    private final Duration defaultTimeout;
    private final Supplier<String> diagnostics;
    private Escape escape = Escape.NONE;
    private int cursor;
    private String ended;
    private int commands;
    private final StallClassifier stalls;

    /**
     * @param input          where {@link #send} writes (the process's stdin)
     * @param echo           receives a copy of all output as it arrives (the test's log), or null
     * @param defaultTimeout the limit for the waits that take none
     * @param diagnostics    more to show when a wait fails (e.g. the host's stderr)
     * @param stalls         what L1's channel says, fed by {@link #hostLine}, for a nested run;
     *                       null for a direct one (only an emulated host can stall without being
     *                       the bug under test)
     */
    GuestConsole(OutputStream input, PrintStream echo, Duration defaultTimeout, Supplier<String> diagnostics,
                 StallClassifier stalls) {
        this.input = input;
        this.echo = echo;
        this.defaultTimeout = defaultTimeout;
        this.diagnostics = diagnostics;
        this.stalls = stalls;
    }

    /** Called by the reader of L1's channel (nested runs) with each line: a heartbeat or a kernel message. */
    void hostLine(String line) {
        lock.lock();
        try {
            stalls.hostLine(line, System.nanoTime());
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Called by the reader with output as it arrives. */
    void received(CharSequence chunk) {
        lock.lock();
        try {
            if (stalls != null) {
                stalls.consoleOutput(System.nanoTime());
            }
            for (int i = 0; i < chunk.length(); i++) {
                char c = chunk.charAt(i);
                Escape before = escape;
                escape = escape.next(c);
                if (before == Escape.NONE && escape == Escape.NONE && c != '\r') {
                    text.append(c);
                }
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        if (echo != null) {
            echo.print(chunk);
            echo.flush();
        }
    }

    private static final char ESC = 0x1b;

    /**
     * Where the reader is within a terminal escape sequence, which the text leaves out: firmware
     * clears the screen and the shell asks for the cursor position (ECMA-48 §5.4: CSI, a
     * parameter string, a final byte in 0x40..0x7E; OSC up to BEL or ST; else ESC and one byte).
     */
    private enum Escape {
        NONE, STARTED, CSI, OSC, OSC_ESC;

        /** The state after {@code c}; {@code NONE} also for the byte that ends a sequence. */
        Escape next(char c) {
            return switch (this) {
                case NONE -> c == ESC ? STARTED : NONE;
                case STARTED -> c == '[' ? CSI : c == ']' ? OSC : NONE;
                case CSI -> c >= 0x40 && c <= 0x7e ? NONE : CSI;
                case OSC -> c == 0x07 ? NONE : c == ESC ? OSC_ESC : OSC;
                case OSC_ESC -> NONE;
            };
        }
    }

    /** Called when no more output can come, with the reason (e.g. "QEMU exited with status 0"). */
    void end(String reason) {
        lock.lock();
        try {
            if (ended == null) {
                ended = reason;
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Waits (at most the default limit) for {@code regex} anywhere in the unconsumed output. */
    public MatchResult expect(String regex) {
        return expect(Pattern.compile(regex), defaultTimeout);
    }

    /**
     * Waits for {@code pattern} in the output after the previous match and consumes the
     * output up to the end of this match.
     *
     * @throws AssertionError with the transcript when the time is up or the run ends first
     */
    public MatchResult expect(Pattern pattern, Duration timeout) {
        return await("text matching /" + pattern + "/", timeout, () -> {
            Matcher m = pattern.matcher(text).region(cursor, text.length());
            if (m.find()) {
                cursor = m.end();
                return m.toMatchResult();
            }
            return null;
        });
    }

    /** Waits (at most the default limit) for a whole line matching {@code regex}. */
    public String expectLine(String regex) {
        return expectLine(Pattern.compile(regex), defaultTimeout);
    }

    /**
     * Waits for a complete line (ended by a newline) that {@code pattern} matches as a whole,
     * and consumes the output up to the end of that line.
     *
     * @return the line, without its newline
     */
    public String expectLine(Pattern pattern, Duration timeout) {
        return await("a line matching /" + pattern + "/", timeout, () -> {
            int start = cursor;
            int nl;
            while ((nl = text.indexOf("\n", start)) >= 0) {
                String line = text.substring(start, nl);
                if (pattern.matcher(line).matches()) {
                    cursor = nl + 1;
                    return line;
                }
                start = nl + 1;
            }
            return null;
        });
    }

    /** Sends {@code text} as it is. */
    public void send(String text) {
        try {
            input.write(text.getBytes(StandardCharsets.UTF_8));
            input.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot send to the console (has the run ended?)", e);
        }
    }

    /** Sends {@code line} and a newline. */
    public void sendLine(String line) {
        send(line + "\n");
    }

    /** Runs {@link #exec(String, Duration)} with the default limit. */
    public ShellResult exec(String command) {
        return exec(command, defaultTimeout);
    }

    /**
     * Runs {@code command} in the guest's shell and returns its output and exit status: waits
     * for a {@link #PROMPT} (a shell loses input typed before it starts), then sends the command
     * between two marker echos, and collects the lines between the markers.
     */
    public ShellResult exec(String command, Duration timeout) {
        if (command.contains("\n")) {
            throw new IllegalArgumentException("exec takes one line: " + command);
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        expect(PROMPT, remaining(deadline));
        String marker = "@AETHER-" + (++commands) + "@";
        sendLine("echo " + marker + "; " + command + "; echo " + marker + "$?@");
        expectLine(Pattern.compile(Pattern.quote(marker)), remaining(deadline));
        Pattern end = Pattern.compile("(.*)" + Pattern.quote(marker) + "(\\d+)@");
        List<String> lines = new ArrayList<>();
        while (true) {
            String line = expectLine(Pattern.compile(".*"), remaining(deadline));
            Matcher m = end.matcher(line);
            if (m.matches()) {
                if (!m.group(1).isEmpty()) {
                    lines.add(m.group(1));
                }
                return new ShellResult(command, lines, Integer.parseInt(m.group(2)));
            }
            lines.add(line);
        }
    }

    /**
     * Waits for the shell's prompt and leaves the shell with {@code exit}: in the guest that
     * {@code aether guest fetch} builds, that powers the guest off and so ends the monitor.
     */
    public void exitShell(Duration timeout) {
        expect(PROMPT, timeout);
        sendLine("exit");
    }

    /** Everything received so far (carriage returns removed). */
    public String transcript() {
        lock.lock();
        try {
            return text.toString();
        } finally {
            lock.unlock();
        }
    }

    /** Why the output ended, or null while the run goes on. */
    String endReason() {
        lock.lock();
        try {
            return ended;
        } finally {
            lock.unlock();
        }
    }

    /** The failure message for a wait: what was awaited, why it stopped, and the transcript's tail. */
    String failure(String what) {
        lock.lock();
        try {
            return what + "\n" + tail(text.toString(), 6000)
                    + (stalls == null ? "" : "\n" + stalls.report(System.nanoTime())) + diagnostics.get();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Fails when the nested host says the run cannot go on: {@link HostStalledException} when the
     * emulator stalled or L1's kernel failed, a plain {@link AssertionError} when L1 is alive but
     * the console has been silent past the limit.
     *
     * @param what what the caller waits for, for the message
     * @return when to look again at the latest (a nanoTime), or {@link Long#MAX_VALUE} in a direct run
     */
    long checkHost(String what) {
        lock.lock();
        try {
            if (stalls == null) {
                return Long.MAX_VALUE;
            }
            return switch (stalls.verdict(System.nanoTime())) {
                case StallClassifier.Running r -> r.recheckAt();
                case StallClassifier.EmulatorStalled s -> throw new HostStalledException(
                        failure("the emulated host stalled (" + s.reason() + ") while waiting for " + what));
                case StallClassifier.MonitorHung h -> throw new AssertionError(
                        failure("no progress while waiting for " + what + ": " + h.reason()));
            };
        } finally {
            lock.unlock();
        }
    }

    /**
     * The failure for a run that ended early: {@link HostStalledException} when L1's kernel
     * reported a failure (a panic ends QEMU) or, in a nested run, when the guest triple-faulted
     * while its kernel booted ({@link #bootTripleFault}); else a plain {@link AssertionError}.
     */
    AssertionError endedEarly(String what) {
        lock.lock();
        try {
            Optional<String> failed = stalls == null ? Optional.empty() : stalls.kernelFailure();
            if (failed.isPresent()) {
                return new HostStalledException(failure("the emulated host failed (L1's kernel reported: " + failed.get()
                        + "), so " + what));
            }
            Optional<String> crash = stalls == null ? Optional.empty() : bootTripleFault(text);
            return crash.isPresent()
                    ? new HostStalledException(failure("the emulated host reset the guest while its kernel booted ("
                            + crash.get() + "), so " + what))
                    : new AssertionError(failure(what));
        } finally {
            lock.unlock();
        }
    }

    /** The monitor's line for a guest that triple-faulted. */
    static final Pattern TRIPLE_FAULT = Pattern.compile("^aether: guest crashed on vCPU \\d+: triple fault.*$", Pattern.MULTILINE);

    /**
     * The monitor's triple-fault line when it follows the last {@link GuestInit#READY_MARKER} (or
     * there is none): the guest reset before its init ran. In the nested host that is the
     * emulation's fault, not the monitor's: in one nested host, the same 2-vCPU guest reset
     * mid-boot under QEMU microvm in 3 of 21 boots and under Aether in none (docs/architecture.md).
     * A monitor that always crashes its guest still fails every attempt.
     */
    static Optional<String> bootTripleFault(CharSequence transcript) {
        String s = transcript.toString();
        int lastReady = s.lastIndexOf(GuestInit.READY_MARKER);
        Matcher m = TRIPLE_FAULT.matcher(s);
        return m.find(Math.max(0, lastReady)) ? Optional.of(m.group().strip()) : Optional.empty();
    }

    static String tail(String transcript, int max) {
        String shown = transcript.length() <= max ? transcript : "[...]" + transcript.substring(transcript.length() - max);
        return "--- console transcript" + (transcript.length() <= max ? "" : " (last " + max + " characters)") + " ---\n"
                + shown + (shown.endsWith("\n") ? "" : "\n") + "--- end of transcript ---";
    }

    /** {@code 30 s}, {@code 0.3 s}: a limit as a test log shows it. */
    static String seconds(Duration d) {
        long ms = d.toMillis();
        return ms % 1000 == 0 ? ms / 1000 + " s" : String.format(Locale.ROOT, "%.1f s", ms / 1000.0);
    }

    private static Duration remaining(long deadline) {
        return Duration.ofNanos(Math.max(0, deadline - System.nanoTime()));
    }

    private interface Probe<T> {
        T tryMatch();
    }

    private <T> T await(String what, Duration timeout, Probe<T> probe) {
        long deadline = System.nanoTime() + timeout.toNanos();
        lock.lock();
        try {
            while (true) {
                T found = probe.tryMatch();
                if (found != null) {
                    return found;
                }
                if (ended != null) {
                    throw endedEarly("the console ended (" + ended + ") before " + what + " appeared");
                }
                long recheck = checkHost(what);
                long now = System.nanoTime();
                long left = deadline - now;
                if (left <= 0) {
                    throw new AssertionError(failure("no " + what + " on the console within " + seconds(timeout)));
                }
                long wake = Math.min(left, recheck - now + 1);
                changed.await(Math.max(1, wake), TimeUnit.NANOSECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while waiting for " + what, e);
        } finally {
            lock.unlock();
        }
    }
}
