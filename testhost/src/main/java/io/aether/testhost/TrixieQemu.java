package io.aether.testhost;

import io.aether.guest.GuestFetcher;
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
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Debian trixie's QEMU 10 for the nested host, run without installing it: {@code qemu-system-x86}
 * and its library closure (trixie's glibc included) unpacked into a private root, and started
 * through that root's own dynamic loader. Bookworm's QEMU 7.2 stalled or panicked L1 in 3 of 62
 * nested boots and gave every L2 guest a broken XSAVE state; trixie's 10.0 did neither in 62.
 *
 * <p>The fetch keeps apt's state private: sources for trixie built from the Debian mirror this
 * machine already uses ({@code /etc/apt/sources.list.d/debian.sources}, else
 * {@code /etc/apt/sources.list}; only the suite names change, the signing keys stay), private
 * package lists and cache, an empty dpkg status; {@code apt-get -s install} names the closure,
 * {@code apt-get download} fetches it, {@code dpkg-deb -x} unpacks it. Nothing is installed and
 * the machine's apt configuration (its sources, architectures, lists) is never changed.
 *
 * <p>Cache layout ({@link #defaultDirectory()}): {@code root/} (the unpacked packages),
 * {@code manifest.properties} (written last: the fetch is complete), {@code fetch.lock}.
 */
final class TrixieQemu {

    static final String SUITE = "trixie";
    static final String PACKAGE = "qemu-system-x86";
    /** Bumped when the fetch or the layout changes, so that older caches are fetched again. */
    static final String RECIPE = "1";
    private static final String LIBRARIES = "usr/lib/x86_64-linux-gnu";
    private static final String LOADER = LIBRARIES + "/ld-linux-x86-64.so.2";
    private static final String BINARY = "usr/bin/qemu-system-x86_64";
    /** The package lists, the packages and the unpacked root take about 220 MB; leave room. */
    private static final long SPACE_NEEDED = 512L << 20;
    /** The closure was 90 packages; many more means the sources are not what this expects. */
    private static final int MAX_PACKAGES = 250;
    private static final Duration APT_TIMEOUT = Duration.ofMinutes(10);
    private static final Duration UNPACK_TIMEOUT = Duration.ofMinutes(2);

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
        String sources = privateSources(machineSources());
        progress.accept("fetching Debian " + SUITE + "'s QEMU 10 (" + PACKAGE + " and its libraries, about 40 MB) into "
                + directory + ", once; nothing is installed");
        long t0 = System.nanoTime();
        Path work = Files.createTempDirectory(directory, ".fetch-");
        try {
            List<String> apt = privateApt(work, sources);
            run("reading " + SUITE + "'s package lists", apt, List.of("update"), work);
            List<String> packages = closure(run("resolving " + PACKAGE + "'s dependencies", apt,
                    List.of("-s", "install", "--no-install-recommends", PACKAGE), work));
            if (packages.isEmpty() || packages.size() > MAX_PACKAGES) {
                throw new IOException("resolving " + PACKAGE + "'s dependencies: apt-get named " + packages.size()
                        + " packages (expected 1 to " + MAX_PACKAGES + ")");
            }
            Path debs = Files.createDirectories(work.resolve("debs"));
            List<String> download = new ArrayList<>(List.of("download"));
            download.addAll(packages);
            run("downloading " + packages.size() + " packages", apt, download, debs);
            Path staged = Files.createDirectories(work.resolve("root"));
            long bytes = 0;
            try (Stream<Path> files = Files.list(debs)) {
                for (Path deb : files.filter(f -> f.toString().endsWith(".deb")).sorted().toList()) {
                    bytes += Files.size(deb);
                    HostCommand.require("unpacking " + deb.getFileName(),
                            List.of("dpkg-deb", "-x", deb.toString(), staged.toString()), work, UNPACK_TIMEOUT);
                }
            }
            // Packages such as passwd carry set-user-ID programs; a cache has no use for that.
            HostCommand.require("clearing set-ID bits", List.of("chmod", "-R", "ug-s", staged.toString()), work,
                    UNPACK_TIMEOUT);
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
            manifest.setProperty("packages", String.join(" ", packages));
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

    /** apt-get with a private state under {@code work}: its sources, lists, cache, an empty dpkg status. */
    private static List<String> privateApt(Path work, String sources) throws IOException {
        Path state = work.resolve("apt");
        Files.createDirectories(state.resolve("lists/partial"));
        Files.createDirectories(state.resolve("cache/archives/partial"));
        Path none = Files.createDirectories(state.resolve("none"));
        Files.writeString(state.resolve("sources.list"), sources);
        Files.writeString(state.resolve("status"), "");
        List<String> command = new ArrayList<>(List.of("apt-get", "-q"));
        for (String option : List.of(
                "Dir::Etc::SourceList=" + state.resolve("sources.list"),
                "Dir::Etc::SourceParts=" + none,
                "Dir::Etc::Preferences=" + state.resolve("preferences"),
                "Dir::Etc::PreferencesParts=" + none,
                "Dir::State=" + state,
                "Dir::State::Lists=" + state.resolve("lists"),
                "Dir::State::status=" + state.resolve("status"),
                "Dir::Cache=" + state.resolve("cache"),
                "APT::Architecture=amd64",
                "APT::Architectures::=amd64",
                // As root apt downloads as the _apt user, who cannot write to a private directory.
                "APT::Sandbox::User=root")) {
            command.add("-o");
            command.add(option);
        }
        return command;
    }

    private static String run(String step, List<String> apt, List<String> arguments, Path directory) throws IOException {
        List<String> command = new ArrayList<>(apt);
        command.addAll(arguments);
        return HostCommand.require(step, command, directory, APT_TIMEOUT);
    }

    /** A Debian archive this machine uses: where, which suites, and the keyring that signs it. */
    record Source(String uri, List<String> suites, Optional<String> signedBy) {
        Source {
            suites = List.copyOf(suites);
        }
    }

    private List<Source> machineSources() throws IOException {
        Path deb822 = aptConfiguration.resolve("sources.list.d/debian.sources");
        Path oneLine = aptConfiguration.resolve("sources.list");
        List<Source> sources = new ArrayList<>();
        if (Files.isRegularFile(deb822)) {
            sources.addAll(deb822Sources(Files.readString(deb822)));
        }
        if (sources.isEmpty() && Files.isRegularFile(oneLine)) {
            sources.addAll(oneLineSources(Files.readString(oneLine)));
        }
        if (sources.isEmpty()) {
            throw new IOException("no Debian mirror in " + deb822 + " or " + oneLine + " to fetch " + SUITE
                    + "'s QEMU from");
        }
        return sources;
    }

    /** The enabled {@code deb} stanzas of a deb822 sources file. */
    static List<Source> deb822Sources(String text) {
        List<Source> result = new ArrayList<>();
        for (String stanza : text.split("\n\\s*\n")) {
            Map<String, String> fields = new LinkedHashMap<>();
            String field = null;
            for (String line : stanza.lines().toList()) {
                if (line.startsWith("#")) {
                    continue;
                }
                if ((line.startsWith(" ") || line.startsWith("\t")) && field != null) {
                    fields.merge(field, "\n" + line.strip(), String::concat);
                    continue;
                }
                int colon = line.indexOf(':');
                if (colon > 0) {
                    field = line.substring(0, colon).strip().toLowerCase(Locale.ROOT);
                    fields.put(field, line.substring(colon + 1).strip());
                }
            }
            List<String> types = words(fields.getOrDefault("types", ""));
            if (!types.contains("deb") || fields.getOrDefault("enabled", "yes").equalsIgnoreCase("no")) {
                continue;
            }
            String signedBy = fields.getOrDefault("signed-by", "");
            // A key written inline (several lines) cannot be passed on; apt's trusted keys then apply.
            Optional<String> keyring = signedBy.startsWith("/") && !signedBy.contains("\n")
                    ? Optional.of(signedBy) : Optional.empty();
            for (String uri : words(fields.getOrDefault("uris", ""))) {
                result.add(new Source(uri, words(fields.getOrDefault("suites", "")), keyring));
            }
        }
        return result;
    }

    private static final Pattern ONE_LINE = Pattern.compile("^\\s*deb\\s+(?:\\[([^\\]]*)\\]\\s+)?(\\S+)\\s+(\\S+)");

    /** The {@code deb} lines of a one-line-style {@code sources.list}. */
    static List<Source> oneLineSources(String text) {
        List<Source> result = new ArrayList<>();
        for (String line : text.lines().toList()) {
            Matcher m = ONE_LINE.matcher(line);
            if (!m.find()) {
                continue;
            }
            Optional<String> keyring = Optional.empty();
            for (String option : words(m.group(1) == null ? "" : m.group(1))) {
                if (option.startsWith("signed-by=")) {
                    keyring = Optional.of(option.substring("signed-by=".length()));
                }
            }
            result.add(new Source(m.group(2), List.of(m.group(3)), keyring));
        }
        return result;
    }

    /**
     * A {@code sources.list} for {@link #SUITE} on the machine's mirrors: each of their suites
     * renamed ({@code bookworm-security} becomes {@code trixie-security}), the main component,
     * amd64 only. Suites other than the release, its updates and its security updates are left out.
     */
    static String privateSources(List<Source> machine) throws IOException {
        Set<String> lines = new LinkedHashSet<>();
        for (Source s : machine) {
            for (String suite : s.suites()) {
                int dash = suite.indexOf('-');
                String suffix = dash < 0 ? "" : suite.substring(dash);
                if (suite.contains("/") || !List.of("", "-updates", "-security").contains(suffix)) {
                    continue;
                }
                String options = "arch=amd64" + s.signedBy().map(k -> " signed-by=" + k).orElse("");
                lines.add("deb [" + options + "] " + s.uri() + " " + SUITE + suffix + " main");
            }
        }
        if (lines.stream().noneMatch(l -> l.endsWith(" " + SUITE + " main"))) {
            throw new IOException("the machine's apt sources name no Debian release to take the mirror of " + SUITE
                    + " from: " + machine);
        }
        return String.join("\n", lines) + "\n";
    }

    private static final Pattern INSTALL = Pattern.compile("^Inst (\\S+) (?:\\[\\S+\\] )?\\((\\S+) ");

    /** The {@code name=version} of each package that {@code apt-get -s install} would install. */
    static List<String> closure(String simulation) {
        List<String> packages = new ArrayList<>();
        for (String line : simulation.lines().toList()) {
            Matcher m = INSTALL.matcher(line);
            if (m.find()) {
                packages.add(m.group(1) + "=" + m.group(2));
            }
        }
        return packages;
    }

    private static List<String> words(String text) {
        return text.isBlank() ? List.of() : List.of(text.strip().split("\\s+"));
    }
}
