package io.aether.guest;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs the host tools the fetch needs (apt-cache, apt-get, dpkg-deb, busybox). */
final class Commands {

    /** What a command did: its exit status and its output. */
    record Result(int status, String stdout, String stderr) {
        /** stderr, else stdout, trimmed and cut to the last lines: what to show a user. */
        String diagnostics() {
            String text = (stderr.isBlank() ? stdout : stderr).strip();
            List<String> lines = text.lines().toList();
            return lines.size() <= 12 ? text : String.join("\n", lines.subList(lines.size() - 12, lines.size()));
        }
    }

    private Commands() {
    }

    /**
     * Runs {@code command} in {@code dir} with stdin closed, waiting at most {@code timeout}.
     *
     * @throws GuestFetchException naming {@code step} if the command cannot start or times out
     */
    static Result run(String step, Path dir, Duration timeout, List<String> command) throws IOException {
        Process p;
        try {
            p = new ProcessBuilder(command).directory(dir.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .start();
        } catch (IOException e) {
            throw new GuestFetchException(step + ": cannot run " + command.getFirst() + ": " + e.getMessage(), e);
        }
        Drain out = new Drain(p.getInputStream());
        Drain err = new Drain(p.getErrorStream());
        Thread outThread = Thread.ofVirtual().start(out);
        Thread errThread = Thread.ofVirtual().start(err);
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new GuestFetchException(step + ": " + String.join(" ", command) + " did not finish within "
                        + timeout.toSeconds() + " s");
            }
            outThread.join();
            errThread.join();
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new InterruptedIOException(step + ": interrupted");
        }
        return new Result(p.exitValue(), out.text(), err.text());
    }

    /**
     * Runs {@code command} and returns its result when it exits with status 0.
     *
     * @throws GuestFetchException naming {@code step}, the exit status and the diagnostics
     */
    static Result require(String step, Path dir, Duration timeout, List<String> command) throws IOException {
        Result r = run(step, dir, timeout, command);
        if (r.status() != 0) {
            throw new GuestFetchException(step + ": `" + String.join(" ", command) + "` exited with status "
                    + r.status() + (r.diagnostics().isEmpty() ? "" : ":\n" + r.diagnostics()));
        }
        return r;
    }

    private static final class Drain implements Runnable {
        private final InputStream in;
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

        Drain(InputStream in) {
            this.in = in;
        }

        @Override
        public void run() {
            try (in) {
                in.transferTo(bytes);
            } catch (IOException e) {
                // Keep what was read; the exit status tells whether the command worked.
                bytes.writeBytes(("[output unreadable: " + e.getMessage() + "]").getBytes(StandardCharsets.UTF_8));
            }
        }

        String text() {
            return bytes.toString(StandardCharsets.UTF_8);
        }
    }
}
