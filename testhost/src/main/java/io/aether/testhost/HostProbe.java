package io.aether.testhost;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * What this machine offers for running real Linux guests, and so which {@link Mode} a
 * {@link TestHost} uses.
 *
 * <p>Direct mode needs hardware virtualization that a stock kernel can boot on: {@code vmx}
 * or {@code svm} in {@code /proc/cpuinfo}, a usable {@code /dev/kvm}, and no
 * {@code /sys/module/kvm_pvm} (PVM's /dev/kvm cannot boot an unmodified kernel). Otherwise
 * the nested mode needs {@code qemu-system-x86_64}. The environment variable
 * {@code AETHER_TESTHOST} ({@code direct} or {@code nested}) overrides the choice.
 *
 * @param hardwareVirtualization the CPU flags list vmx or svm
 * @param pvm                    /dev/kvm is served by the kvm_pvm module
 * @param devKvm                 /dev/kvm exists and is readable and writable
 * @param qemu                   qemu-system-x86_64 on PATH, if any
 * @param override               the value of AETHER_TESTHOST, if set
 */
public record HostProbe(boolean hardwareVirtualization, boolean pvm, boolean devKvm, Optional<Path> qemu,
                        Optional<String> override) {

    /** How guests are run. */
    public enum Mode {
        /** The monitor runs on this host's own /dev/kvm. */
        DIRECT,
        /** The monitor runs inside an emulated AMD machine (QEMU TCG) whose kvm-amd gives /dev/kvm. */
        NESTED
    }

    static final String OVERRIDE_VARIABLE = "AETHER_TESTHOST";
    private static final Pattern FLAGS = Pattern.compile("(?m)^flags\\s*:(.*)$");

    /** Probes this machine. */
    public static HostProbe probe() {
        String cpuinfo;
        try {
            cpuinfo = Files.readString(Path.of("/proc/cpuinfo"));
        } catch (IOException e) {
            cpuinfo = "";
        }
        Path kvm = Path.of("/dev/kvm");
        return new HostProbe(cpuHasVirtualization(cpuinfo), Files.isDirectory(Path.of("/sys/module/kvm_pvm")),
                Files.exists(kvm) && Files.isReadable(kvm) && Files.isWritable(kvm),
                onPath("qemu-system-x86_64", System.getenv("PATH")),
                Optional.ofNullable(System.getenv(OVERRIDE_VARIABLE)).filter(s -> !s.isBlank()));
    }

    /** True when the first CPU's flags include vmx (Intel VT-x) or svm (AMD-V). */
    static boolean cpuHasVirtualization(String cpuinfo) {
        Matcher m = FLAGS.matcher(cpuinfo);
        if (!m.find()) {
            return false;
        }
        return Stream.of(m.group(1).trim().split("\\s+")).anyMatch(f -> f.equals("vmx") || f.equals("svm"));
    }

    static Optional<Path> onPath(String program, String path) {
        if (path == null) {
            return Optional.empty();
        }
        return Stream.of(path.split(File.pathSeparator))
                .filter(d -> !d.isEmpty())
                .map(d -> Path.of(d, program))
                .filter(Files::isExecutable)
                .findFirst();
    }

    /** True when this host's /dev/kvm can boot a stock kernel. */
    public boolean directCapable() {
        return hardwareVirtualization && devKvm && !pvm;
    }

    /**
     * The mode to use, or a reason why neither works.
     *
     * @return the mode, or empty with {@link #unavailableReason()} explaining
     */
    public Optional<Mode> mode() {
        if (override.isPresent()) {
            return switch (override.get().toLowerCase(Locale.ROOT)) {
                case "direct" -> directCapable() ? Optional.of(Mode.DIRECT) : Optional.empty();
                case "nested" -> qemu.isPresent() ? Optional.of(Mode.NESTED) : Optional.empty();
                default -> Optional.empty();
            };
        }
        if (directCapable()) {
            return Optional.of(Mode.DIRECT);
        }
        return qemu.isPresent() ? Optional.of(Mode.NESTED) : Optional.empty();
    }

    /** Why {@link #mode()} is empty, in one line. */
    public String unavailableReason() {
        String facts = "CPU virtualization flags: " + (hardwareVirtualization ? "yes" : "no")
                + ", /dev/kvm usable: " + (devKvm ? "yes" : "no") + ", PVM: " + (pvm ? "yes" : "no")
                + ", qemu-system-x86_64: " + qemu.map(Path::toString).orElse("not on PATH");
        if (override.isPresent()) {
            String o = override.get().toLowerCase(Locale.ROOT);
            if (!o.equals("direct") && !o.equals("nested")) {
                return OVERRIDE_VARIABLE + "='" + override.get() + "' is neither 'direct' nor 'nested'";
            }
            return OVERRIDE_VARIABLE + "=" + o + " asks for what this host lacks (" + facts + ")";
        }
        return "no way to boot a Linux guest here: no hardware KVM for the direct mode and no qemu-system-x86_64"
                + " for the nested test host (apt-get install qemu-system-x86) (" + facts + ")";
    }
}
