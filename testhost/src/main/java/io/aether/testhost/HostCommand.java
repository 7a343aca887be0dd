package io.aether.testhost;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs a host tool the test host needs (ldd, busybox, jlink, apt-get, dpkg-deb, QEMU's
 * {@code --version}) to its end: stdin closed, stdout and stderr together, a time limit that
 * holds even when the tool keeps its output open.
 */
final class HostCommand {

    /** What a command printed (stdout and stderr merged) and its exit status. */
    record Result(int status, String output) {
        /** The output's last lines, trimmed: what an error message shows. */
        String tail() {
            List<String> lines = output.strip().lines().toList();
            return String.join("\n", lines.size() <= 12 ? lines : lines.subList(lines.size() - 12, lines.size()));
        }
    }

    private HostCommand() {
    }

    /**
     * Runs {@code command} in {@code directory} (null: this process's) with {@code environment}
     * added to this process's.
     *
     * @throws IOException naming {@code step} when the command cannot start, outlives
     *                     {@code limit} (it is then killed) or the wait is interrupted
     */
    static Result run(String step, List<String> command, Path directory, Map<String, String> environment,
                      Duration limit) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        if (directory != null) {
            pb.directory(directory.toFile());
        }
        pb.environment().putAll(environment);
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new IOException(step + ": cannot run " + command.getFirst() + ": " + e.getMessage(), e);
        }
        ByteArrayOutputStream output = new ByteArrayOutputStream();
        Thread reader = Thread.ofVirtual().start(() -> drain(p.getInputStream(), output));
        try {
            if (!p.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                throw new IOException(step + ": `" + String.join(" ", command) + "` did not finish within "
                        + GuestConsole.seconds(limit));
            }
            reader.join();
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new InterruptedIOException(step + ": interrupted");
        }
        synchronized (output) {
            return new Result(p.exitValue(), output.toString(StandardCharsets.UTF_8));
        }
    }

    /**
     * Runs {@code command} and returns its output when it exits with status 0.
     *
     * @throws IOException naming {@code step}, the command, its status and its output's tail
     */
    static String require(String step, List<String> command, Path directory, Duration limit) throws IOException {
        Result r = run(step, command, directory, Map.of(), limit);
        if (r.status() != 0) {
            throw new IOException(step + ": `" + String.join(" ", command) + "` exited with status " + r.status()
                    + (r.tail().isEmpty() ? "" : ":\n" + r.tail()));
        }
        return r.output();
    }

    private static void drain(InputStream in, ByteArrayOutputStream sink) {
        byte[] buffer = new byte[8192];
        try (in) {
            int n;
            while ((n = in.read(buffer)) > 0) {
                synchronized (sink) {
                    sink.write(buffer, 0, n);
                }
            }
        } catch (IOException e) {
            // The process was killed or closed its output: the exit status tells whether it worked.
        }
    }
}
