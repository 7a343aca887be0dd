package io.aether.testhost;

import io.aether.guest.GuestFetcher;
import io.aether.guest.PrivateApt;
import java.io.IOException;
import java.io.StringReader;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.function.Consumer;

/**
 * Debian trixie's QEMU 10 for the nested host, run without installing it: {@code qemu-system-x86}
 * and its library closure (trixie's glibc included) unpacked into a private root, and started
 * through that root's own dynamic loader. Bookworm's QEMU 7.2 stalled or panicked L1 in 3 of 62
 * nested boots and gave every L2 guest a broken XSAVE state; trixie's 10.0 did neither in 62.
 *
 * <p>The fetch keeps apt's state private ({@link PrivateApt}): sources for trixie/amd64 built from
 * the Debian mirror this machine already uses (only the suite names change, the signing keys
 * stay), private package lists and cache, an empty dpkg status; {@code apt-get -s install} names
 * the closure, {@code apt-get download} fetches it, {@code dpkg-deb -x} unpacks it. Nothing is
 * installed and the machine's apt configuration (its sources, architectures, lists) is never changed.
 *
 * <p>Cache layout ({@link #defaultDirectory()}): {@code root/} (the unpacked packages),
 * {@code manifest.properties} (written last: the fetch is complete), {@code fetch.lock}.
 */
final class TrixieQemu {

    static final String SUITE = "trixie";
    static final String PACKAGE = "qemu-system-x86";
    private static final String ARCHITECTURE = "amd64";
    /** Bumped when the fetch or the layout changes, so that older caches are fetched again. */
    static final String RECIPE = "1";
    private static final String LIBRARIES = "usr/lib/x86_64-linux-gnu";
    private static final String LOADER = LIBRARIES + "/ld-linux-x86-64.so.2";
    private static final String BINARY = "usr/bin/qemu-system-x86_64";
    /** The package lists, the packages and the unpacked root take about 220 MB; leave room. */
    private static final long SPACE_NEEDED = 512L << 20;
    /** The closure was 90 packages; many more means the sources are not what this expects. */
    private static final int MAX_PACKAGES = 250;
    private static final Duration CHMOD_TIMEOUT = Duration.ofMinutes(2);

    private final Path directory;
    private final Path aptConfiguration;
    private final Consumer<String> progress;

    /**
     * @param directory        the cache, e.g. {@link #defaultDirectory()}
     * @param aptConfiguration where the machine's sources are read ({@code /etc/apt})
     * @param progress         receives one line per step
     */
    TrixieQemu(Path directory, Path aptConfiguration, Consumer<String> progress) {
        this.directory = directory.toAbsolutePath();
        this.aptConfiguration = aptConfiguration;
        this.progress = progress;
    }

    /** {@code qemu-10/} in Aether's cache directory ({@code ~/.cache/aether}). */
    static Path defaultDirectory() {
        return GuestFetcher.userCacheDirectory().resolve("qemu-10");
    }

    /**
     * The cached QEMU, fetched first when the cache lacks it (one fetch at a time per cache,
     * across processes).
     *
     * @throws IOException naming the step that failed
     */
    QemuCommand ensure() throws IOException {
        Optional<QemuCommand> cached = cached();
        if (cached.isPresent()) {
            return cached.get();
        }
        Files.createDirectories(directory);
        // A file lock keeps other processes out; within this one, two holders would clash.
        synchronized (TrixieQemu.class) {
            try (FileChannel channel = FileChannel.open(directory.resolve("fetch.lock"), StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE); FileLock lock = channel.lock()) {
                cached = cached();
                return cached.isPresent() ? cached.get() : fetch();
            }
        }
    }

    /** The cached QEMU when the cache is complete, of this recipe, and QEMU runs. */
    Optional<QemuCommand> cached() {
        Path manifest = directory.resolve("manifest.properties");
        if (!Files.isRegularFile(manifest)) {
            return Optional.empty();
        }
        Properties p = new Properties();
        try {
            p.load(new StringReader(Files.readString(manifest)));
            if (!RECIPE.equals(p.getProperty("recipe"))) {
                return Optional.empty();
            }
            return Optional.of(command(directory.resolve("root")));
        } catch (IOException e) {
            progress.accept("the cached QEMU in " + directory + " does not run (" + e.getMessage() + "); fetching it again");
            return Optional.empty();
        }
    }

    /** How to start the QEMU unpacked in {@code root}: through the root's loader, with its libraries and firmware. */
    static QemuCommand command(Path root) throws IOException {
        List<String> prefix = List.of(root.resolve(LOADER).toString(),
                "--library-path", root.resolve(LIBRARIES) + ":" + root.resolve("lib/x86_64-linux-gnu"),
                root.resolve(BINARY).toString(),
                "-L", root.resolve("usr/share/qemu").toString(),
                "-L", root.resolve("usr/share/seabios").toString());
        // Its optional modules (display, audio, USB) from the same build, never the system's.
        Map<String, String> environment = Map.of("QEMU_MODULE_DIR", root.resolve(LIBRARIES + "/qemu").toString());
        return new QemuCommand(prefix, environment, QemuCommand.askVersion(prefix, environment),
                "Debian " + SUITE + "'s packages in " + root);
    }

    private QemuCommand fetch() throws IOException {
        long usable = Files.getFileStore(directory).getUsableSpace();
        if (usable < SPACE_NEEDED) {
            throw new IOException("fetching " + SUITE + "'s QEMU needs " + (SPACE_NEEDED >> 20) + " MiB free in "
                    + directory + "; " + (usable >> 20) + " MiB are");
        }
        long t0 = System.nanoTime();
        Path work = Files.createTempDirectory(directory, ".fetch-");
        try {
            PrivateApt apt = PrivateApt.create(work.resolve("apt"), SUITE, ARCHITECTURE, aptConfiguration);
            progress.accept("fetching Debian " + SUITE + "'s QEMU 10 (" + PACKAGE + " and its libraries, about 40 MB) into "
                    + directory + ", once; nothing is installed");
            apt.update();
            List<PrivateApt.Fetched> packages = apt.downloadClosure(PACKAGE, MAX_PACKAGES,
                    Files.createDirectories(work.resolve("debs")));
            Path staged = Files.createDirectories(work.resolve("root"));
            long bytes = 0;
            // In file-name order, so that a path two packages ship comes out the same on every fetch.
            for (Path deb : packages.stream().map(PrivateApt.Fetched::deb).sorted().toList()) {
                bytes += Files.size(deb);
                apt.unpack(deb, staged);
            }
            // Packages such as passwd carry set-user-ID programs; a cache has no use for that.
            HostCommand.require("clearing set-ID bits", List.of("chmod", "-R", "ug-s", staged.toString()), work,
                    CHMOD_TIMEOUT);
            Path root = directory.resolve("root");
            Files.deleteIfExists(directory.resolve("manifest.properties"));
            JdkImage.deleteTree(root);
            Files.move(staged, root, StandardCopyOption.ATOMIC_MOVE);
            QemuCommand qemu = command(root);
            if (QemuCommand.major(qemu.version()).orElse(0) < 10) {
                throw new IOException("the fetched QEMU says '" + qemu.version() + "'; expected version 10 or newer");
            }
            Properties manifest = new Properties();
            manifest.setProperty("recipe", RECIPE);
            manifest.setProperty("version", qemu.version());
            manifest.setProperty("packages", String.join(" ", packages.stream().map(p -> p.name() + "=" + p.version()).toList()));
            try (var out = Files.newBufferedWriter(work.resolve("manifest.properties"), StandardCharsets.UTF_8)) {
                manifest.store(out, "Debian " + SUITE + "'s " + PACKAGE + " and its closure, unpacked in root/");
            }
            Files.move(work.resolve("manifest.properties"), directory.resolve("manifest.properties"),
                    StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            progress.accept(String.format(Locale.ROOT, "%s: %d packages, %.0f MB, fetched and unpacked in %.1f s",
                    qemu.version(), packages.size(), bytes / 1e6, (System.nanoTime() - t0) / 1e9));
            return qemu;
        } finally {
            JdkImage.deleteTree(work);
        }
    }
}
