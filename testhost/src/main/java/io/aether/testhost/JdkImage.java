package io.aether.testhost;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * A small Java runtime made with {@code jlink} from the JDK running the build, cached so that
 * repeated nested runs do not link it again. The cache key covers the JDK's path, its
 * version, the size and time of its module image, the module list and the linked-in options.
 */
final class JdkImage {

    /**
     * What Aether uses from the JDK. The monitor needs java.base only; jdeps names java.naming and
     * java.sql for the security, sync and ai modules and their libraries (every server is on Jetty
     * now, so jdk.httpserver is not needed).
     * java.desktop (12 MiB, wanted only by optional java.beans support in Jackson) stays out.
     */
    static final List<String> MODULES = List.of("java.base", "java.logging", "java.management", "jdk.unsupported",
            "java.net.http", "jdk.crypto.ec", "java.naming", "java.sql");

    /**
     * Options every JVM of the image starts with, whoever starts it (a test's child processes, an
     * agent's monitors): under emulation a JVM mostly interprets and compiles, and C2's compiles,
     * G1's threads and perf data cost emulated time that short-lived processes never win back.
     * Linked in ({@code jlink --add-options}), so that no JVM prints the "Picked up ..." note an
     * environment variable would make it print. Options on a command line still win.
     */
    static final String DEFAULT_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData";

    private JdkImage() {
    }

    /**
     * The runtime image for {@code javaHome} with {@code modules}, linked on first use.
     *
     * @throws IOException naming the step when the JDK has no jlink or jlink fails
     */
    static Path ensure(Path cacheRoot, Path javaHome, List<String> modules, Consumer<String> progress) throws IOException {
        Path jlink = javaHome.resolve("bin/jlink");
        if (!Files.isExecutable(jlink)) {
            throw new IOException("no jlink in " + javaHome + ": the nested test host needs a full JDK (not a JRE)");
        }
        Path dir = cacheRoot.resolve("jdk-" + key(javaHome, modules));
        if (Files.isRegularFile(dir.resolve("release")) && Files.isExecutable(dir.resolve("bin/java"))) {
            return dir;
        }
        Files.createDirectories(cacheRoot);
        Path stage = Files.createTempDirectory(cacheRoot, ".jlink-");
        try {
            Path out = stage.resolve("image");
            progress.accept("linking a Java runtime (" + String.join(",", modules) + ") with " + jlink);
            long t0 = System.nanoTime();
            List<String> command = new ArrayList<>(List.of(jlink.toString(), "--add-modules", String.join(",", modules),
                    "--strip-debug", "--no-man-pages", "--no-header-files", "--generate-cds-archive",
                    "--add-options=" + DEFAULT_OPTIONS,
                    "--output", out.toString()));
            HostCommand.require("linking the Java runtime", command, null, Duration.ofMinutes(10));
            // The CDS archive for uncompressed oops serves heaps over 32 GiB only; the test host has 3 GiB.
            Files.deleteIfExists(out.resolve("lib/server/classes_nocoops.jsa"));
            progress.accept(String.format(Locale.ROOT, "linked the Java runtime in %.1f s", (System.nanoTime() - t0) / 1e9));
            try {
                Files.move(out, dir, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                // Another run linked the same image meanwhile: use it.
                if (!Files.isRegularFile(dir.resolve("release"))) {
                    throw e;
                }
            }
            return dir;
        } finally {
            deleteTree(stage);
        }
    }

    static String key(Path javaHome, List<String> modules) throws IOException {
        String version = Files.isRegularFile(javaHome.resolve("release"))
                ? Files.readString(javaHome.resolve("release")) : System.getProperty("java.version");
        Path image = javaHome.resolve("lib/modules");
        String stamp = Files.isRegularFile(image)
                ? Files.size(image) + "@" + Files.getLastModifiedTime(image).toMillis() : "no-image";
        String text = javaHome.toAbsolutePath().normalize() + "\n" + version + "\n" + stamp + "\n" + modules + "\n" + DEFAULT_OPTIONS;
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }

    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
