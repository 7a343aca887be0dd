package io.aether.testhost;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The host's shared libraries that dynamically linked programs need, found with {@code ldd},
 * so that they can be copied into a guest at the same paths (glibc, the dynamic loader,
 * QEMU's libraries).
 */
final class SharedLibraries {

    /**
     * One line of {@code ldd} output.
     *
     * @param name the library's name ({@code libc.so.6}, or the loader's path)
     * @param path where the loader found it; empty for "not found" and for the vDSO
     */
    record Needed(String name, Optional<Path> path) {
    }

    // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)", "libjvm.so => not found"
    private static final Pattern ARROW = Pattern.compile("^\\s*(\\S+)\\s+=>\\s+(.*?)\\s*(?:\\(0x[0-9a-fA-F]+\\))?\\s*$");
    // "/lib64/ld-linux-x86-64.so.2 (0x...)", "linux-vdso.so.1 (0x...)"
    private static final Pattern PLAIN = Pattern.compile("^\\s*(\\S+)\\s+\\(0x[0-9a-fA-F]+\\)\\s*$");

    private SharedLibraries() {
    }

    /** Parses {@code ldd}'s output; lines it does not recognise (e.g. "statically linked") are skipped. */
    static List<Needed> parse(String lddOutput) {
        List<Needed> result = new ArrayList<>();
        for (String line : lddOutput.lines().toList()) {
            Matcher a = ARROW.matcher(line);
            if (a.matches()) {
                String where = a.group(2);
                result.add(new Needed(a.group(1),
                        where.equals("not found") || where.isEmpty() ? Optional.empty() : Optional.of(Path.of(where))));
                continue;
            }
            Matcher p = PLAIN.matcher(line);
            if (p.matches()) {
                String name = p.group(1);
                // The loader is named by its absolute path; the vDSO lives in the kernel, not in a file.
                result.add(new Needed(name, name.startsWith("/") ? Optional.of(Path.of(name)) : Optional.empty()));
            }
        }
        return result;
    }

    /**
     * The host libraries outside {@code providedDir} that {@code binaries} need.
     *
     * @param providedNames library file names the guest image holds itself (a "not found" for
     *                      one of these is fine: the JDK's own libraries find libjvm.so at run time)
     * @throws IOException naming the binary and the library when one cannot be found
     */
    static Set<Path> resolve(Collection<Path> binaries, Path providedDir, Set<String> providedNames) throws IOException {
        Set<Path> needed = new TreeSet<>();
        for (Path binary : binaries) {
            needed.addAll(select(binary, parse(ldd(binary)), providedDir, providedNames));
        }
        return needed;
    }

    /** The libraries of {@code binary} to copy: all that ldd found outside {@code providedDir}. */
    static Set<Path> select(Path binary, List<Needed> lines, Path providedDir, Set<String> providedNames)
            throws IOException {
        Set<Path> needed = new TreeSet<>();
        for (Needed n : lines) {
            if (n.path().isEmpty()) {
                if (!n.name().startsWith("linux-vdso") && !n.name().startsWith("linux-gate")
                        && !providedNames.contains(n.name())) {
                    throw new IOException("ldd " + binary + ": " + n.name() + " not found");
                }
            } else if (!n.path().get().normalize().startsWith(providedDir)) {
                needed.add(n.path().get().normalize());
            }
        }
        return needed;
    }

    private static String ldd(Path binary) throws IOException {
        return HostCommand.require("finding the libraries of " + binary, List.of("ldd", binary.toString()), null,
                Duration.ofMinutes(1));
    }

    /** True when {@code file} starts with the ELF magic (so ldd can answer for it). */
    static boolean isElf(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] magic = in.readNBytes(4);
            return magic.length == 4 && magic[0] == 0x7f && magic[1] == 'E' && magic[2] == 'L' && magic[3] == 'F';
        } catch (IOException e) {
            return false;
        }
    }
}
