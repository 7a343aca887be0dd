package io.aether.guest;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * apt on a state of its own: packages of another Debian suite or architecture (trixie's arm64
 * kernel, say) downloaded and unpacked without installing anything and without touching the
 * machine's apt configuration. A foreign architecture or another suite is never added to
 * {@code /etc/apt}; dpkg's database is not read.
 *
 * <p>The state directory holds a {@code sources.list} for the wanted suite on the mirrors the
 * machine already uses (read from {@code /etc/apt/sources.list.d/debian.sources}, else
 * {@code /etc/apt/sources.list}: each of its suites {@code <release>}, {@code <release>-updates}
 * and {@code <release>-security} becomes the same suffix of the wanted one, with the same
 * signing keyring), its own package lists and download cache, and an empty dpkg status. apt is
 * told that the wanted architecture is the native one, so plain package names mean it.
 *
 * <p>One private state serves any fetch of one suite and architecture: the arm64 test host's
 * kernel and runtime, and the x86 test host's trixie QEMU with its closure.
 */
public final class PrivateApt {

    /** A package downloaded as a {@code .deb}. */
    public record Fetched(String name, String version, Path deb) {
    }

    /** One archive of the machine's apt sources: where, which suites, and the keyring that signs it. */
    record Source(String uri, List<String> suites, Optional<String> keyring) {
        Source {
            suites = List.copyOf(suites);
        }
    }

    private static final Pattern RELEASE_NAME = Pattern.compile("[a-z]+");
    private static final Pattern ARCHITECTURE = Pattern.compile("[a-z0-9]+");
    private static final List<String> SUITE_SUFFIXES = List.of("", "-updates", "-security");

    private final Path state;
    private final Apt apt;

    private PrivateApt(Path state, Apt apt) {
        this.state = state;
        this.apt = apt;
    }

    /**
     * A private apt state in {@code state} (created) for {@code suite} and {@code architecture},
     * on the mirrors of the machine's configuration under {@code /etc/apt}.
     *
     * @throws IOException when the machine's sources name no Debian mirror
     */
    public static PrivateApt create(Path state, String suite, String architecture) throws IOException {
        return create(state, suite, architecture, Path.of("/etc/apt"));
    }

    /**
     * The same, on the mirrors of the sources under {@code aptConfiguration} (the machine's is
     * {@code /etc/apt}); that directory is only read.
     */
    public static PrivateApt create(Path state, String suite, String architecture, Path aptConfiguration)
            throws IOException {
        if (!RELEASE_NAME.matcher(suite).matches()) {
            throw new IllegalArgumentException("suite '" + suite + "' is not a Debian release name");
        }
        if (!ARCHITECTURE.matcher(architecture).matches()) {
            throw new IllegalArgumentException("architecture '" + architecture + "' is not a Debian architecture name");
        }
        String sources = sourcesList(machineSources(aptConfiguration), suite, architecture);
        Path dir = state.toAbsolutePath();
        Files.createDirectories(dir.resolve("lists/partial"));
        Files.createDirectories(dir.resolve("cache/archives/partial"));
        Path empty = Files.createDirectories(dir.resolve("empty.d"));
        Files.writeString(dir.resolve("sources.list"), sources);
        Files.writeString(dir.resolve("status"), "");
        return new PrivateApt(dir, new Apt(dir, options(dir, empty, architecture)));
    }

    /** The {@code -o} options that point apt at the private state and nothing of the machine's. */
    static List<String> options(Path dir, Path empty, String architecture) {
        return List.of(
                "Dir::Etc::SourceList=" + dir.resolve("sources.list"),
                "Dir::Etc::SourceParts=" + empty,
                "Dir::Etc::Preferences=" + dir.resolve("preferences"),
                "Dir::Etc::PreferencesParts=" + empty,
                "Dir::State=" + dir,
                "Dir::State::Lists=" + dir.resolve("lists"),
                "Dir::State::status=" + dir.resolve("status"),
                "Dir::Cache=" + dir.resolve("cache"),
                "APT::Architecture=" + architecture,
                "APT::Architectures::=" + architecture,
                // As root, apt downloads as the _apt user, who cannot write to a directory of root's.
                "APT::Sandbox::User=root");
    }

    /** The state directory. */
    public Path directory() {
        return state;
    }

    /** Reads the suite's package lists from the mirror (no root needed: the lists are private). */
    public void update() throws IOException {
        apt.update();
    }

    /**
     * The package that {@code metapackage} depends on whose name starts with {@code prefix}:
     * the versioned kernel a {@code linux-image-cloud-arm64} stands for.
     */
    public String dependencyOf(String metapackage, String prefix) throws IOException {
        Apt.Package meta = lookUp(metapackage);
        return Apt.dependencyStartingWith(meta.depends(), prefix).orElseThrow(() -> new GuestFetchException(
                "looking up " + metapackage + ": its Depends names no " + prefix + "* package: '" + meta.depends() + "'"));
    }

    /** Downloads the candidate versions of {@code names} into {@code dir}, in order. */
    public List<Fetched> download(List<String> names, Path dir) throws IOException {
        List<Apt.Package> packages = new ArrayList<>();
        for (String name : names) {
            packages.add(lookUp(name));
        }
        return fetched(packages, apt.download(packages, dir));
    }

    /**
     * Downloads {@code name} and everything it needs on a machine with nothing installed (what
     * {@code apt-get -s install --no-install-recommends} would install) into {@code dir}, in apt's order.
     *
     * @param limit the most packages expected: a larger closure means the sources are not what the caller thinks
     */
    public List<Fetched> downloadClosure(String name, int limit, Path dir) throws IOException {
        List<Apt.Package> packages = apt.installClosure(name);
        if (packages.isEmpty() || packages.size() > limit) {
            throw new GuestFetchException("resolving " + name + "'s dependencies: apt-get named " + packages.size()
                    + " packages (expected 1 to " + limit + ")");
        }
        return fetched(packages, apt.download(packages, dir));
    }

    private static List<Fetched> fetched(List<Apt.Package> packages, List<Path> files) {
        List<Fetched> result = new ArrayList<>();
        for (int i = 0; i < packages.size(); i++) {
            result.add(new Fetched(packages.get(i).name(), packages.get(i).version(), files.get(i)));
        }
        return result;
    }

    /** Unpacks the files of {@code deb} into {@code dir} ({@code dpkg-deb -x}; nothing is configured). */
    public void unpack(Path deb, Path dir) throws IOException {
        apt.extract(deb, dir);
    }

    private Apt.Package lookUp(String name) throws IOException {
        return apt.show(name).orElseThrow(() -> new GuestFetchException("looking up " + name + ": the private apt state in "
                + state + " does not know it (were its package lists read?)"));
    }

    private static List<Source> machineSources(Path aptConfiguration) throws IOException {
        Path deb822 = aptConfiguration.resolve("sources.list.d/debian.sources");
        Path oneLine = aptConfiguration.resolve("sources.list");
        List<Source> sources = new ArrayList<>();
        if (Files.isRegularFile(deb822)) {
            sources.addAll(parseDeb822(Files.readString(deb822)));
        }
        if (sources.isEmpty() && Files.isRegularFile(oneLine)) {
            sources.addAll(parseOneLine(Files.readString(oneLine)));
        }
        if (sources.isEmpty()) {
            throw new GuestFetchException("finding a Debian mirror: neither " + deb822 + " nor " + oneLine + " names one");
        }
        return sources;
    }

    /** The enabled {@code deb} entries of a deb822 sources file (one stanza per archive). */
    static List<Source> parseDeb822(String text) {
        List<Source> result = new ArrayList<>();
        for (String stanza : text.split("\\n[ \\t]*\\n")) {
            Map<String, String> fields = new LinkedHashMap<>();
            String last = null;
            for (String line : stanza.lines().toList()) {
                if (line.startsWith("#") || line.isBlank()) {
                    continue;
                }
                if (Character.isWhitespace(line.charAt(0))) {
                    if (last != null) {
                        fields.put(last, fields.get(last) + "\n" + line.strip());
                    }
                    continue;
                }
                int colon = line.indexOf(':');
                if (colon > 0) {
                    last = line.substring(0, colon).strip().toLowerCase(Locale.ROOT);
                    fields.put(last, line.substring(colon + 1).strip());
                }
            }
            if (!words(fields.getOrDefault("types", "")).contains("deb")
                    || "no".equalsIgnoreCase(fields.getOrDefault("enabled", "yes"))) {
                continue;
            }
            for (String uri : words(fields.getOrDefault("uris", ""))) {
                result.add(new Source(uri, words(fields.getOrDefault("suites", "")),
                        keyringPath(fields.getOrDefault("signed-by", ""))));
            }
        }
        return result;
    }

    private static final Pattern DEB_LINE = Pattern.compile("^\\s*deb\\s+(?:\\[([^]]*)]\\s+)?(\\S+)\\s+(\\S+)");

    /** The {@code deb} lines of a one-line-style sources.list. */
    static List<Source> parseOneLine(String text) {
        List<Source> result = new ArrayList<>();
        for (String line : text.lines().toList()) {
            Matcher m = DEB_LINE.matcher(line);
            if (!m.find()) {
                continue;
            }
            String keyring = "";
            for (String option : words(m.group(1) == null ? "" : m.group(1))) {
                if (option.startsWith("signed-by=")) {
                    keyring = option.substring("signed-by=".length());
                }
            }
            result.add(new Source(m.group(2), List.of(m.group(3)), keyringPath(keyring)));
        }
        return result;
    }

    /** A keyring file named by Signed-By; a key written inline cannot be passed on (apt's trusted keys then apply). */
    private static Optional<String> keyringPath(String signedBy) {
        return signedBy.startsWith("/") && !signedBy.contains("\n") && !signedBy.contains(" ")
                ? Optional.of(signedBy) : Optional.empty();
    }

    /**
     * The private {@code sources.list}: for each of the machine's suites that is a release, its
     * updates or its security updates, the same suffix of {@code suite} on the same archive,
     * component main, {@code architecture} only.
     */
    static String sourcesList(List<Source> machine, String suite, String architecture) throws IOException {
        Set<String> lines = new LinkedHashSet<>();
        for (Source source : machine) {
            for (String machineSuite : source.suites()) {
                int dash = machineSuite.indexOf('-');
                String suffix = dash < 0 ? "" : machineSuite.substring(dash);
                if (!SUITE_SUFFIXES.contains(suffix) || machineSuite.contains("/")) {
                    continue;
                }
                String options = "arch=" + architecture + source.keyring().map(k -> " signed-by=" + k).orElse("");
                lines.add("deb [" + options + "] " + source.uri() + " " + suite + suffix + " main");
            }
        }
        if (lines.stream().noneMatch(l -> l.endsWith(" " + suite + " main"))) {
            throw new GuestFetchException("finding a Debian mirror for " + suite + ": the machine's apt sources name no"
                    + " Debian release archive (" + machine + ")");
        }
        return String.join("\n", lines) + "\n";
    }

    private static List<String> words(String text) {
        return text.isBlank() ? List.of() : List.of(text.strip().split("\\s+"));
    }
}
