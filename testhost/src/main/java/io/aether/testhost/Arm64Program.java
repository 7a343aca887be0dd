package io.aether.testhost;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A Java program for the arm64 test host to run inside its emulated arm64 machine (L1), on
 * the arm64 Java runtime, where {@code /dev/kvm} is arm64 KVM.
 *
 * @param mainClass the class whose {@code main} runs
 * @param classpath jars and class directories on this machine, copied into L1 (the product's
 *                  modules are architecture-neutral bytecode)
 * @param arguments the program's arguments
 * @param timeout   how long the whole run (L1's boot, the program, the power-off) may take
 *                  before QEMU is killed
 * @param files     files on this machine the program reads, copied into L1's {@link #FILES_DIR}
 *                  under their own names (a guest kernel and initrd for the monitor, say)
 */
public record Arm64Program(String mainClass, List<Path> classpath, List<String> arguments, Duration timeout, List<Path> files) {

    /** Where {@link #files} are inside L1. */
    public static final String FILES_DIR = "/aether/files";

    private static final Pattern CLASS_NAME = Pattern.compile("[\\p{L}_$][\\p{L}\\p{N}_$]*(\\.[\\p{L}_$][\\p{L}\\p{N}_$]*)*");

    public Arm64Program {
        if (!CLASS_NAME.matcher(mainClass).matches()) {
            throw new IllegalArgumentException("'" + mainClass + "' is not a Java class name");
        }
        classpath = List.copyOf(classpath);
        arguments = List.copyOf(arguments);
        if (classpath.isEmpty()) {
            throw new IllegalArgumentException("the program for the arm64 host needs a classpath");
        }
        for (Path entry : classpath) {
            if (!Files.isDirectory(entry) && !Files.isRegularFile(entry)) {
                throw new IllegalArgumentException("classpath entry " + entry + " is neither a directory nor a file");
            }
        }
        for (String argument : arguments) {
            if (argument.indexOf('\0') >= 0 || argument.indexOf('\n') >= 0) {
                throw new IllegalArgumentException("a program argument holds a NUL or a newline: '" + argument + "'");
            }
        }
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("the run's time limit must be positive, not " + timeout);
        }
        files = List.copyOf(files);
        Set<Path> names = new HashSet<>();
        for (Path file : files) {
            if (!Files.isRegularFile(file)) throw new IllegalArgumentException("file " + file + " for L1 is not a regular file");
            if (!names.add(file.getFileName())) throw new IllegalArgumentException("two files for L1 are called " + file.getFileName());
        }
    }

    /** A program that needs no files of its own. */
    public Arm64Program(String mainClass, List<Path> classpath, List<String> arguments, Duration timeout) {
        this(mainClass, classpath, arguments, timeout, List.of());
    }

    /**
     * The classpath entries that hold {@code classes}: each class's jar or class directory, in
     * order and without repeats; for a program built from a few of the product's modules.
     */
    public static List<Path> classpathOf(Class<?>... classes) {
        return Arrays.stream(classes).map(Arm64Program::location).distinct().toList();
    }

    private static Path location(Class<?> c) {
        var source = c.getProtectionDomain().getCodeSource();
        if (source == null) {
            throw new IllegalArgumentException(c.getName() + " comes from no jar or class directory");
        }
        try {
            return Path.of(source.getLocation().toURI()).toAbsolutePath().normalize();
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException(c.getName() + " comes from " + source.getLocation() + ", not a file", e);
        }
    }
}
