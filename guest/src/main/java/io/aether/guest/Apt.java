package io.aether.guest;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The few apt and dpkg operations the fetch needs: look a package up, download it as a
 * {@code .deb} without installing it, and unpack it into a directory. Nothing is installed,
 * so no root is needed except to refresh the machine's package lists. With {@code options}
 * ({@code -o Dir::...}, see {@link PrivateApt}) apt works on a private state instead of the
 * machine's.
 */
final class Apt {

    /** A package's candidate version as {@code apt-cache show --no-all-versions} prints it. */
    record Package(String name, String version, String depends, long size) {
        Package {
            if (name.isBlank() || version.isBlank()) {
                throw new IllegalArgumentException("a package needs a name and a version");
            }
        }
    }

    private static final Duration QUERY_TIMEOUT = Duration.ofMinutes(2);
    private static final Duration DOWNLOAD_TIMEOUT = Duration.ofMinutes(15);

    private final Path workDir;
    private final List<String> options;

    /** apt on the machine's own configuration and state. */
    Apt(Path workDir) {
        this(workDir, List.of());
    }

    /** apt with {@code options} (each passed as {@code -o option}) before its arguments. */
    Apt(Path workDir, List<String> options) {
        this.workDir = workDir;
        this.options = List.copyOf(options);
    }

    private List<String> command(String tool, String... arguments) {
        List<String> command = new ArrayList<>(List.of(tool, "-q"));
        for (String option : options) {
            command.add("-o");
            command.add(option);
        }
        command.addAll(List.of(arguments));
        return command;
    }

    /** The candidate version of {@code name}, or empty when apt does not know the package. */
    Optional<Package> show(String name) throws IOException {
        Commands.Result r = Commands.run("looking up " + name, workDir, QUERY_TIMEOUT,
                command("apt-cache", "show", "--no-all-versions", name));
        if (r.status() != 0) {
            // apt-cache exits 100 with "E: No packages found" for a package it does not know.
            return Optional.empty();
        }
        return parseShow(r.stdout());
    }

    /**
     * What {@code apt-get -s install --no-install-recommends name} would install, in apt's order:
     * on a private state with an empty dpkg status, {@code name} and its whole dependency closure.
     */
    List<Package> installClosure(String name) throws IOException {
        Commands.Result r = Commands.require("resolving " + name + "'s dependencies", workDir, QUERY_TIMEOUT,
                command("apt-get", "-s", "install", "--no-install-recommends", name));
        return parseSimulation(r.stdout());
    }

    private static final Pattern SIMULATED_INSTALL = Pattern.compile("^Inst (\\S+) (?:\\[\\S+\\] )?\\((\\S+) ");

    /** The name and version of each {@code Inst} line of a simulated install (depends and size unknown). */
    static List<Package> parseSimulation(String simulation) {
        List<Package> packages = new ArrayList<>();
        for (String line : simulation.lines().toList()) {
            Matcher m = SIMULATED_INSTALL.matcher(line);
            if (m.find()) {
                packages.add(new Package(m.group(1), m.group(2), "", -1));
            }
        }
        return packages;
    }

    /** Refreshes the package lists ({@code apt-get update}; the machine's need root). */
    void update() throws IOException {
        Commands.require("refreshing the package lists", workDir, DOWNLOAD_TIMEOUT, command("apt-get", "update"));
    }

    /** Downloads the given package versions into {@code dir}; returns their files in order. */
    List<Path> download(List<Package> packages, Path dir) throws IOException {
        List<String> command = command("apt-get", "download");
        for (Package p : packages) {
            command.add(p.name() + "=" + p.version());
        }
        Commands.require("downloading " + String.join(", ", packages.stream().map(Package::name).toList()),
                dir, DOWNLOAD_TIMEOUT, command);
        List<Path> files = new ArrayList<>();
        for (Package p : packages) {
            try (Stream<Path> list = Files.list(dir)) {
                List<Path> found = list.filter(f -> f.getFileName().toString().startsWith(p.name() + "_")
                        && f.getFileName().toString().endsWith(".deb")).toList();
                if (found.size() != 1) {
                    throw new GuestFetchException("downloading " + p.name() + ": expected one " + p.name()
                            + "_*.deb in " + dir + ", found " + found.size());
                }
                files.add(found.getFirst());
            }
        }
        return files;
    }

    /** Unpacks the files of {@code deb} into {@code dir} ({@code dpkg-deb -x}). */
    void extract(Path deb, Path dir) throws IOException {
        Files.createDirectories(dir);
        Commands.require("unpacking " + deb.getFileName(), workDir, DOWNLOAD_TIMEOUT,
                List.of("dpkg-deb", "-x", deb.toString(), dir.toString()));
    }

    /** The first stanza of {@code apt-cache show} output, if it names a package and version. */
    static Optional<Package> parseShow(String text) {
        String name = null;
        String version = null;
        String depends = "";
        long size = -1;
        String field = null;
        for (String line : text.lines().toList()) {
            if (line.isEmpty()) {
                if (name != null) {
                    break;
                }
                continue;
            }
            if (line.startsWith(" ") || line.startsWith("\t")) {
                if ("Depends".equals(field)) {
                    depends += " " + line.strip();
                }
                continue;
            }
            int colon = line.indexOf(':');
            if (colon <= 0) {
                continue;
            }
            field = line.substring(0, colon);
            String value = line.substring(colon + 1).strip();
            switch (field) {
                case "Package" -> name = value;
                case "Version" -> version = value;
                case "Depends" -> depends = value;
                case "Size" -> size = parseSize(value);
                default -> { }
            }
        }
        if (name == null || version == null) {
            return Optional.empty();
        }
        return Optional.of(new Package(name, version, depends, size));
    }

    private static long parseSize(String value) {
        try {
            return Long.parseLong(value);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /**
     * The first package named in a {@code Depends:} value that starts with {@code prefix},
     * without its version constraint or architecture qualifier: how a metapackage such as
     * {@code linux-image-cloud-amd64} names the versioned package it stands for.
     */
    static Optional<String> dependencyStartingWith(String depends, String prefix) {
        for (String clause : depends.split(",")) {
            for (String alternative : clause.split("\\|")) {
                String name = alternative.strip();
                int cut = name.indexOf(' ');
                if (cut >= 0) {
                    name = name.substring(0, cut);
                }
                cut = name.indexOf('(');
                if (cut >= 0) {
                    name = name.substring(0, cut);
                }
                cut = name.indexOf(':');
                if (cut >= 0) {
                    name = name.substring(0, cut);
                }
                if (name.startsWith(prefix) && name.length() > prefix.length()) {
                    return Optional.of(name);
                }
            }
        }
        return Optional.empty();
    }
}
