package io.aether.agent;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * The host's same-page merging (KSM), as the agent reports and sets it: whether the kernel's
 * merging thread runs ({@code /sys/kernel/mm/ksm/run}) and how many pages of a monitor are merged
 * ({@code /proc/PID/ksm_merging_pages}). Monitors offer their own memory to it, never their
 * guest's (see {@code io.aether.monitor.PageMerging}).
 *
 * @param sysDir the kernel's KSM settings, {@code /sys/kernel/mm/ksm} (another in tests)
 * @param procDir the processes' folders, {@code /proc} (another in tests)
 */
record Ksm(Path sysDir, Path procDir) {

    static final Ksm HOST = new Ksm(Path.of("/sys/kernel/mm/ksm"), Path.of("/proc"));

    /** What {@code run} holds: merging stopped, running, or stopped with every merged page split again. */
    enum Run { STOPPED, RUNNING, UNMERGING }

    /** More than any number these files hold ("18446744073709551615\n"): a file longer is not the kernel's. */
    private static final int MAX_BYTES = 32;

    /** The merging thread's state; empty where this kernel has no KSM. */
    Optional<Run> run() throws IOException {
        Path file = sysDir.resolve("run");
        OptionalLong value = number(file);
        if (value.isEmpty()) return Optional.empty();
        long v = value.getAsLong();
        if (v < 0 || v > 2) throw new IOException(file + ": " + v + " is not 0, 1 or 2");
        return Optional.of(Run.values()[(int) v]);
    }

    /**
     * Starts the merging thread ({@code run} = 1): a host setting, so the caller says so. The
     * kernel's own scan rate is kept ({@code pages_to_scan}).
     *
     * @throws IOException naming the file, where the kernel has no KSM or refuses (not root)
     */
    void start() throws IOException {
        Path file = sysDir.resolve("run");
        if (!Files.exists(file)) throw new IOException(file + ": missing: this kernel has no KSM");
        try {
            Files.writeString(file, "1");
        } catch (IOException e) {
            throw new IOException(file + ": cannot write 1 (" + e.getMessage() + "): needs root", e);
        }
    }

    /**
     * What the agent says at start about merging on this host, one line; with {@code start}, it
     * first starts the merging thread where it is stopped ({@code aether node --ksm}). Never
     * fails: a refusal is the line.
     */
    String startUp(boolean start) {
        Path file = sysDir.resolve("run");
        try {
            Optional<Run> run = run();
            if (run.isEmpty()) return "page merging: this kernel has no KSM (" + file + " is missing): monitors run unmerged";
            if (run.get() == Run.RUNNING) {
                return "page merging: KSM runs on this host (" + file + " = 1): the monitors' identical pages are shared, never their guests'";
            }
            if (!start) {
                return "page merging: KSM is stopped on this host (" + file + " = " + run.get().ordinal()
                        + "): monitors run unmerged; --ksm starts it";
            }
            start();
            return "page merging: --ksm started KSM on this host (" + file + " = 1, a host setting: left on when the agent stops)";
        } catch (IOException e) {
            return "page merging: " + e.getMessage() + ": monitors run unmerged";
        }
    }

    /** The pages of process {@code pid} merged now; empty when the process is gone or the kernel has no KSM. */
    OptionalLong mergingPages(long pid) {
        try {
            return number(procDir.resolve(Long.toString(pid)).resolve("ksm_merging_pages"));
        } catch (IOException e) {
            return OptionalLong.empty();
        }
    }

    /** The one decimal number a kernel file holds; empty when the file is missing. */
    private static OptionalLong number(Path file) throws IOException {
        byte[] bytes;
        try (InputStream in = Files.newInputStream(file)) {
            bytes = in.readNBytes(MAX_BYTES + 1);
        } catch (NoSuchFileException e) {
            return OptionalLong.empty();
        }
        String text = new String(bytes, StandardCharsets.US_ASCII).strip();
        if (bytes.length > MAX_BYTES || text.isEmpty() || !text.chars().allMatch(c -> c >= '0' && c <= '9') || text.length() > 18) {
            throw new IOException(file + ": not a number the kernel writes");
        }
        return OptionalLong.of(Long.parseLong(text));
    }
}
