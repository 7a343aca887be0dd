package io.aether.testkit;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Debian's {@code chromium}, headless: loads a page, lets its scripts run for a while of virtual
 * time (timers fire at once, fetches finish first), and returns the DOM as it is then with
 * every message the page logged to its console, CSP violations and uncaught errors included.
 */
public final class HeadlessChromium {

    /** What Chromium's log calls a console message: {@code INFO:CONSOLE:12] "text", source: URL (12)} (older builds write {@code CONSOLE(12)}). */
    private static final Pattern CONSOLE = Pattern.compile(":CONSOLE[:(]");
    private static final Duration LIMIT = Duration.ofSeconds(40);

    public record Page(String dom, List<String> console) { }

    private HeadlessChromium() {
    }

    /** The {@code chromium} on the PATH, if there is one. */
    public static Optional<Path> find() {
        return Stream.of(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator))
                .filter(dir -> !dir.isEmpty())
                .map(dir -> Path.of(dir, "chromium"))
                .filter(Files::isExecutable)
                .findFirst();
    }

    /** Loads {@code url} with a fresh profile under {@code work}, runs its scripts for {@code scriptTime} of virtual time, and dumps the DOM. */
    public static Page load(Path chromium, String url, Path work, Duration scriptTime) throws IOException, InterruptedException {
        Path dom = work.resolve("dom.html");
        Path log = work.resolve("chromium.log");
        Process process = new ProcessBuilder(chromium.toString(), "--headless=new",
                "--no-sandbox", // tests run as root in CI, where Chromium's sandbox refuses to start; the page is the test's own
                "--disable-gpu", "--no-first-run", "--disable-extensions", "--user-data-dir=" + work.resolve("profile"),
                "--enable-logging=stderr", "--v=0",
                "--virtual-time-budget=" + scriptTime.toMillis(), "--dump-dom", url)
                .redirectOutput(dom.toFile()).redirectError(log.toFile()).start();
        try {
            if (!process.waitFor(LIMIT.toSeconds(), TimeUnit.SECONDS)) {
                throw new AssertionError("chromium did not finish loading " + url + " within " + LIMIT.toSeconds() + " s; its log: " + Files.readString(log));
            }
            if (process.exitValue() != 0) {
                throw new AssertionError("chromium exited " + process.exitValue() + " loading " + url + "; its log: " + Files.readString(log));
            }
        } finally {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
        }
        List<String> console = Files.readAllLines(log, StandardCharsets.UTF_8).stream().filter(line -> CONSOLE.matcher(line).find()).toList();
        return new Page(Files.readString(dom, StandardCharsets.UTF_8), console);
    }
}
