package io.aether.testhost;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * What a {@link TestHost} run does: a POSIX shell script, run with its stdin and stdout on the
 * console the test talks to, plus the files it needs.
 *
 * <p>The script runs in a writable scenario directory holding its {@linkplain Builder#file
 * files}, with these variables set, in the nested host and in the direct mode alike:
 * <ul>
 *   <li>{@code aether} on PATH (and {@code $AETHER}, its path): the {@code aether} command on
 *       the product's classpath, e.g. {@code aether vm run --kernel "$GUEST_KERNEL" ...};
 *   <li>{@code $GUEST_KERNEL}, {@code $GUEST_INITRD}: the guest from {@code aether guest fetch};
 *   <li>{@code $QEMU}: {@code qemu-system-x86_64}, when the scenario {@linkplain Builder#withQemu asks for it}.
 * </ul>
 * The script's exit status is the run's {@link GuestRun#awaitExit exit status}.
 */
public final class Scenario {

    /**
     * The guest kernel command line the helpers use: the console on the first UART, few
     * messages, and a panic reboots at once (which ends the monitor) instead of hanging.
     */
    public static final String GUEST_CMDLINE = "console=ttyS0 quiet panic=-1";

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*");

    /** A scenario file's content: a host file or bytes. */
    sealed interface FileContent permits HostFile, Text {
    }

    record HostFile(Path path, int permissions) implements FileContent {
    }

    record Text(String text, int permissions) implements FileContent {
        byte[] bytes() {
            return text.getBytes(StandardCharsets.UTF_8);
        }
    }

    private final String script;
    private final Map<String, FileContent> files;
    private final boolean qemu;
    private final boolean java;
    private final Duration timeout;
    private final Optional<List<Path>> classpath;
    private final Optional<String> jvmOptions;
    private final StallClassifier.Limits stallLimits;

    private Scenario(Builder b) {
        this.script = b.script;
        this.files = Collections.unmodifiableMap(new LinkedHashMap<>(b.files));
        this.qemu = b.qemu;
        this.java = b.java;
        this.timeout = b.timeout;
        this.classpath = b.classpath;
        this.jvmOptions = b.jvmOptions;
        this.stallLimits = b.stallLimits;
    }

    /** A scenario running {@code script} (POSIX sh). */
    public static Builder script(String script) {
        return new Builder(script);
    }

    /**
     * A scenario that boots the fetched guest with {@code aether vm run} and the given extra
     * arguments (e.g. {@code "--mem", "256M", "--vcpus", "2"}), command line {@link #GUEST_CMDLINE}.
     */
    public static Builder aetherVm(String... vmRunArguments) {
        return script("exec " + aetherVmCommand(GUEST_CMDLINE, vmRunArguments) + "\n");
    }

    /** The shell command that boots the fetched guest under Aether with {@code cmdline} and extra arguments. */
    public static String aetherVmCommand(String cmdline, String... vmRunArguments) {
        return "aether vm run --kernel \"$GUEST_KERNEL\" --initrd \"$GUEST_INITRD\" --cmdline " + quote(cmdline)
                + words(vmRunArguments);
    }

    /**
     * A scenario that boots the fetched guest under QEMU's microvm machine on /dev/kvm: the
     * peer that Aether is compared against, and the proof that a test host works.
     */
    public static Builder qemuMicrovm(String... qemuArguments) {
        return script("exec " + qemuMicrovmCommand(GUEST_CMDLINE, qemuArguments) + "\n").withQemu();
    }

    /**
     * The shell command that boots the fetched guest under QEMU microvm with {@code cmdline} and
     * extra arguments. The machine gets its RTC: without one the kernel's CMOS probe costs
     * about 20 s of timeouts in the nested host.
     */
    public static String qemuMicrovmCommand(String cmdline, String... qemuArguments) {
        return "\"$QEMU\" -enable-kvm -M microvm,rtc=on -cpu host -m 256M -smp 2 -nodefaults -no-user-config -nographic"
                + " -serial stdio -no-reboot -kernel \"$GUEST_KERNEL\" -initrd \"$GUEST_INITRD\" -append "
                + quote(cmdline) + words(qemuArguments);
    }

    /** {@code text} as one single-quoted shell word. */
    public static String quote(String text) {
        return "'" + text.replace("'", "'\\''") + "'";
    }

    private static String words(String... arguments) {
        return Arrays.stream(arguments).map(a -> " " + quote(a)).collect(Collectors.joining());
    }

    String scriptText() {
        return script;
    }

    Map<String, FileContent> files() {
        return files;
    }

    boolean needsQemu() {
        return qemu;
    }

    boolean needsJava() {
        return java;
    }

    Duration timeout() {
        return timeout;
    }

    Optional<List<Path>> classpath() {
        return classpath;
    }

    Optional<String> jvmOptions() {
        return jvmOptions;
    }

    StallClassifier.Limits stallLimits() {
        return stallLimits;
    }

    /** Builds a {@link Scenario}. */
    public static final class Builder {
        private final String script;
        private final Map<String, FileContent> files = new LinkedHashMap<>();
        private boolean qemu;
        private boolean java = true;
        private Duration timeout = Duration.ofMinutes(5);
        private Optional<List<Path>> classpath = Optional.empty();
        private Optional<String> jvmOptions = Optional.empty();
        private StallClassifier.Limits stallLimits = StallClassifier.Limits.DEFAULT;

        private Builder(String script) {
            if (script.isBlank()) {
                throw new IllegalArgumentException("a scenario needs a script");
            }
            this.script = script;
        }

        /** Puts the host file {@code source} into the scenario directory as {@code name}. */
        public Builder file(String name, Path source) {
            if (!Files.isRegularFile(source)) {
                throw new IllegalArgumentException("scenario file " + name + ": not a regular file: " + source);
            }
            return put(name, new HostFile(source.toAbsolutePath(), 0644));
        }

        /** Puts a text file into the scenario directory as {@code name}. */
        public Builder text(String name, String text) {
            return put(name, new Text(text, 0644));
        }

        /** Puts an executable script into the scenario directory as {@code name}. */
        public Builder executable(String name, String text) {
            return put(name, new Text(text, 0755));
        }

        /** Makes {@code qemu-system-x86_64} available as {@code $QEMU} (copied into the nested host with its libraries). */
        public Builder withQemu() {
            this.qemu = true;
            return this;
        }

        /** Leaves the Java runtime and the product's jars out (a script that needs no {@code aether}). */
        public Builder withoutJava() {
            this.java = false;
            return this;
        }

        /** The hard limit for the whole run, after which it is killed (default 5 minutes). */
        public Builder timeout(Duration limit) {
            if (limit.isNegative() || limit.isZero()) {
                throw new IllegalArgumentException("a time limit must be positive: " + limit);
            }
            this.timeout = limit;
            return this;
        }

        /** The jars and class directories {@code aether} runs with (default: {@link TestHost#productClasspath()}). */
        public Builder classpath(List<Path> entries) {
            this.classpath = Optional.of(List.copyOf(entries));
            return this;
        }

        /** JVM options for {@code aether}, replacing the mode's defaults. */
        public Builder jvmOptions(String options) {
            this.jvmOptions = Optional.of(options);
            return this;
        }

        /** How long the nested host's console and L1's heartbeat may stay silent (shorter in this module's tests). */
        Builder stallLimits(StallClassifier.Limits limits) {
            this.stallLimits = limits;
            return this;
        }

        public Scenario build() {
            return new Scenario(this);
        }

        private Builder put(String name, FileContent content) {
            if (!NAME.matcher(name).matches() || List.of(name.split("/")).stream().anyMatch(part -> part.equals(".") || part.equals(".."))
                    || name.equals("run.sh") || name.startsWith("bin/")) {
                throw new IllegalArgumentException("bad scenario file name '" + name
                        + "' (a relative path of letters, digits, . _ -; run.sh and bin/ are taken)");
            }
            if (files.putIfAbsent(name, content) != null) {
                throw new IllegalArgumentException("scenario file " + name + " given twice");
            }
            return this;
        }
    }
}
