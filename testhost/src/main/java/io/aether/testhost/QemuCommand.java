package io.aether.testhost;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How to start the QEMU that emulates the nested host (L1): the words before QEMU's own
 * arguments, and environment variables to add.
 *
 * @param prefix      the program and the arguments that come first (a private root's loader,
 *                    its library path, QEMU, its firmware directories)
 * @param environment added to the environment QEMU inherits
 * @param version     the first line of its {@code --version}
 * @param origin      where it comes from, for the log ("the system's", a cache directory)
 */
record QemuCommand(List<String> prefix, Map<String, String> environment, String version, String origin) {

    private static final Pattern VERSION = Pattern.compile("QEMU emulator version (\\d+)\\.");
    private static final Duration VERSION_TIMEOUT = Duration.ofSeconds(30);

    QemuCommand {
        prefix = List.copyOf(prefix);
        environment = Map.copyOf(environment);
    }

    /** The system's QEMU at {@code binary}, its version asked. */
    static QemuCommand system(Path binary) throws IOException {
        List<String> prefix = List.of(binary.toString());
        return new QemuCommand(prefix, Map.of(), askVersion(prefix, Map.of()), "the system's " + binary);
    }

    /**
     * The first line of {@code --version} of the QEMU that {@code prefix} starts.
     *
     * @throws IOException when it cannot run or prints no QEMU version
     */
    static String askVersion(List<String> prefix, Map<String, String> environment) throws IOException {
        List<String> command = new ArrayList<>(prefix);
        command.add("--version");
        HostCommand.Result r = HostCommand.run("asking QEMU its version", command, null, environment, VERSION_TIMEOUT);
        String first = r.output().strip().lines().findFirst().orElse("");
        if (r.status() != 0 || major(first).isEmpty()) {
            throw new IOException("`" + String.join(" ", command) + "` exited with status " + r.status()
                    + " and printed no QEMU version: " + r.tail());
        }
        return first;
    }

    /** The major version in a {@code --version} line ("QEMU emulator version 10.0.13 (Debian ...)"). */
    static OptionalInt major(String versionLine) {
        Matcher m = VERSION.matcher(versionLine);
        return m.find() ? OptionalInt.of(Integer.parseInt(m.group(1))) : OptionalInt.empty();
    }

    /** QEMU with {@code arguments}, ready to start. */
    ProcessBuilder processBuilder(List<String> arguments) {
        List<String> command = new ArrayList<>(prefix);
        command.addAll(arguments);
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().putAll(environment);
        return pb;
    }

    /** "QEMU emulator version 10.0.13 (...) from ...": what the log says about it. */
    String describe() {
        return version + " from " + origin;
    }
}
