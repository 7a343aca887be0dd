package io.aether.bench.vm;

import io.aether.arch.aarch64.Layout;
import io.aether.guest.Arm64GuestFetcher;
import io.aether.guest.GuestArtifacts;
import io.aether.guest.GuestFetcher;
import io.aether.guest.GuestInit;
import io.aether.guest.PrivateApt;
import io.aether.sys.Libc;
import io.aether.testhost.Arm64Program;
import io.aether.testhost.Arm64TestHost;
import io.aether.testhost.GuestConsole;
import io.aether.testhost.GuestRun;
import io.aether.testhost.TestHost;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Benchmark (f) of docs/BENCHMARKS.md: inside the arm64 test host (L1, an emulated arm64 machine
 * whose KVM runs at EL2), Aether ({@code aether vm run} on Debian's arm64 Java runtime) and
 * Debian trixie's {@code qemu-system-aarch64 -accel kvm -M virt,gic-version=3 -cpu host} boot
 * the guest {@code aether guest fetch --arch arm64} builds to its init's ready marker and power
 * off, interleaved; {@link BootBench} measures each process from its start. Aether runs as the
 * launcher runs it on arm64: JDK 25's AOT cache in place of the class-data archive (trained in L1
 * as the launcher trains it, by booting an Image that powers off at once) and a lazy JIT ({@link #LAZY_JIT}). QEMU
 * gets the same devices as Aether: the console and a virtio-rng device.
 *
 * <p>QEMU is not installed anywhere: {@code qemu-system-arm} and the closure apt's resolver names
 * for it on an empty arm64 system (a {@link PrivateApt}, the machine's apt configuration left
 * alone) are unpacked into a private root, carried into L1 as one tar file, and started there
 * through that root's own {@code ld-linux-aarch64.so.1} with {@code --library-path} (this host
 * cannot run arm64 binaries, so no {@code ldd}: the package metadata gives the libraries).
 *
 * <p>With {@code start-up}, the same L1 measures instead where a boot's fixed cost goes: {@code
 * aether vm run --stub} (the JVM's start, the VM's creation, the stub's line and its PSCI
 * power-off) against {@code qemu-system-aarch64 -version} (the process and its libraries).
 *
 * <p>With {@code phases}, a boot whose monitors are traced ({@code -Daether.trace.boot=true}:
 * where the time from the process's start to the first {@code KVM_RUN} goes, step by step; with
 * {@code compare} or {@code before=JAR}, both monitors): prints each step's medians too.
 *
 * <p>With {@code exits}, one boot with {@code --trace-exits} (and its start traced): its exits to the monitor counted by
 * reason and by the device register they touched (each costs ~1-2 ms in L1).
 *
 * <p>With {@code compare} after the mode, the monitor also runs without linking its downcalls ahead
 * ({@link #NO_LINK_AHEAD}); with {@code before=JAR} instead, it also runs with that jar ahead of the
 * class path (a build's {@code aether-sys} jar from before a change to it, say), the two side by side. (Measured there before and left out since: FFM downcalls whose bindings are
 * interpreted, {@code -Djdk.internal.foreign.DowncallLinker.USE_SPEC=false}, and an AOT cache trained
 * on the boot itself instead of the stub: docs/BENCHMARKS.md (f).)
 *
 * <p>Usage: {@code Arm64BootBench [RUNS] [boot|start-up|exits|phases] [compare|before=JAR]} (defaults 10 and boot). Prints the table.
 */
public final class Arm64BootBench {

    static final String SUITE = "trixie";
    static final String QEMU_PACKAGE = "qemu-system-arm";
    /** A much larger closure means the sources are not what this expects. */
    static final int MAX_PACKAGES = 300;
    static final String QEMU_TAR = "qemu-arm64-root.tar";
    /** Where L1 unpacks the tar (its /tmp is a tmpfs). */
    static final String L1_ROOT = "/tmp/qemu-root";
    static final String LIBRARIES = "usr/lib/aarch64-linux-gnu";
    static final String GUEST_CMDLINE = "quiet panic=-1 " + GuestInit.POWEROFF_PARAMETER;
    private static final String STATUS = "ARM64-BENCH-STATUS=";
    /** The JIT compiles a method after 100 times the usual number of calls: the start-up's code stays interpreted. */
    static final String LAZY_JIT = "-XX:CompileThresholdScaling=100";
    /** The monitor's downcalls linked by the calls that first need them, as before {@code Libc.linkAhead}. */
    static final String NO_LINK_AHEAD = "-D" + Libc.LINK_AHEAD_PROPERTY + "=off";
    /** The monitor's start traced, step by step ({@code io.aether.vmm.BootTrace}). */
    static final String TRACE_BOOT = "-Daether.trace.boot=true";
    /** The third argument's prefix that names a jar to run ahead of the class path, as a second monitor. */
    static final String BEFORE = "before=";

    private Arm64BootBench() {
    }

    public static void main(String[] args) throws Throwable {
        if (args.length > 0 && args[0].equals("in-l1")) {
            inL1(args);
            return;
        }
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        String mode = args.length > 1 ? args[1] : "boot";
        if (!mode.equals("boot") && !mode.equals("start-up") && !mode.equals("exits") && !mode.equals("phases")) {
            throw new IllegalArgumentException("the mode is boot, start-up, exits or phases, not '" + mode + "'");
        }
        boolean compare = args.length > 2 && args[2].equals("compare");
        Path before = args.length > 2 && args[2].startsWith(BEFORE) ? Path.of(args[2].substring(BEFORE.length())) : null;
        if (args.length > 2 && !compare && before == null) {
            throw new IllegalArgumentException("the third argument is compare, before=JAR or nothing, not '" + args[2] + "'");
        }
        if (before != null && !Files.isRegularFile(before)) throw new IllegalArgumentException("before=: no jar at " + before);
        Arm64TestHost host = Arm64TestHost.shared();
        GuestArtifacts guest = new Arm64GuestFetcher(GuestFetcher.defaultCacheRoot(), l -> System.err.println("guest fetch: " + l))
                .fetch(false);
        Path tar = qemuRoot(GuestFetcher.userCacheDirectory().resolve("arm64-qemu"));
        Set<Path> classpath = new LinkedHashSet<>(TestHost.productClasspath());
        classpath.addAll(Arm64Program.classpathOf(Arm64BootBench.class));
        String files = Arm64Program.FILES_DIR + "/";
        String variants = compare ? "compare" : before != null ? BEFORE + files + before.getFileName() : "launcher";
        List<String> arguments = new ArrayList<>(List.of("in-l1", mode, variants, Integer.toString(runs), files + guest.kernel().getFileName(),
                files + guest.initramfs().getFileName(), files + QEMU_TAR));
        // The launcher's JVM options (dev/monitor.jvmargs, the class-data archive), for the monitor in L1.
        arguments.addAll(NestedBootBench.monitorJvmOptions("/tmp/aether-arm64-bench.jsa"));
        boolean twoMonitors = compare || before != null;
        Duration limit = Duration.ofMinutes((twoMonitors ? 25 : 15) + (twoMonitors ? 8L : 4L) * runs);
        List<Path> carried = new ArrayList<>(List.of(guest.kernel(), guest.initramfs(), tar));
        if (before != null) carried.add(before);
        Arm64Program program = new Arm64Program(Arm64BootBench.class.getName(), List.copyOf(classpath), arguments, limit, carried);
        try (GuestRun run = host.start(program)) {
            GuestConsole console = run.console();
            console.expectLine(Pattern.compile(STATUS + "\\d+\\s*"), limit);
            String transcript = console.transcript();
            System.out.println("\n== arm64, inside L1, " + mode + ": Aether vs qemu-system-aarch64, " + runs + " runs each, medians ==");
            transcript.lines().filter(l -> l.startsWith("|")).forEach(System.out::println);
            if (!transcript.contains(STATUS + "0")) {
                System.err.println(transcript);
                System.exit(1);
            }
        }
    }

    /**
     * The tar of QEMU's private root, made once: apt's closure of {@value #QEMU_PACKAGE} for arm64,
     * every package unpacked ({@code dpkg-deb -x}), set-ID bits cleared.
     */
    static Path qemuRoot(Path cache) throws IOException, InterruptedException {
        Path tar = cache.resolve(QEMU_TAR);
        if (Files.isRegularFile(tar)) {
            return tar;
        }
        Files.createDirectories(cache);
        Path work = Files.createTempDirectory(cache, ".fetch-");
        try {
            PrivateApt apt = PrivateApt.create(work.resolve("apt"), SUITE, "arm64");
            System.err.println("arm64 bench: fetching Debian " + SUITE + "'s arm64 " + QEMU_PACKAGE + " and its closure into " + cache);
            apt.update();
            List<PrivateApt.Fetched> debs = apt.downloadClosure(QEMU_PACKAGE, MAX_PACKAGES, Files.createDirectories(work.resolve("debs")));
            Path root = Files.createDirectories(work.resolve("qemu-root"));
            // In file-name order, so that a path two packages ship comes out the same on every fetch.
            for (Path deb : debs.stream().map(PrivateApt.Fetched::deb).sorted().toList()) {
                apt.unpack(deb, root);
            }
            command(List.of("chmod", "-R", "ug-s", root.toString()), work);
            Path loader = root.resolve(LIBRARIES).resolve("ld-linux-aarch64.so.1");
            Path binary = root.resolve("usr/bin/qemu-system-aarch64");
            if (!Files.exists(loader) || !Files.isRegularFile(binary)) {
                throw new IOException("the unpacked " + QEMU_PACKAGE + " closure lacks " + (Files.exists(loader) ? binary : loader));
            }
            Path staged = work.resolve(QEMU_TAR);
            command(List.of("tar", "-cf", staged.toString(), "-C", work.toString(), "qemu-root"), work);
            Files.move(staged, tar, StandardCopyOption.ATOMIC_MOVE);
            System.err.println("arm64 bench: " + debs.size() + " packages: "
                    + String.join(" ", debs.stream().map(d -> d.name() + "=" + d.version()).toList()));
            return tar;
        } finally {
            command(List.of("rm", "-rf", work.toString()), cache);
        }
    }

    private static void command(List<String> argv, Path dir) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(argv).directory(dir.toFile()).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(5, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new IOException(String.join(" ", argv) + " failed: " + output.strip());
        }
    }

    /** Inside L1: unpacks QEMU's root, then {@link BootBench} compares the two monitors. */
    private static void inL1(String[] args) throws Throwable {
        boolean startUp = args[1].equals("start-up");
        boolean exits = args[1].equals("exits");
        boolean phases = args[1].equals("phases");
        boolean compare = args[2].equals("compare");
        String before = args[2].startsWith(BEFORE) ? args[2].substring(BEFORE.length()) : null;
        int runs = Integer.parseInt(args[3]);
        String kernel = args[4];
        String initrd = args[5];
        String tar = args[6];
        List<String> jvmOptions = List.of(args).subList(7, args.length);
        int status = 1;
        try {
            command(List.of("mkdir", "-p", L1_ROOT), Path.of("/"));
            command(List.of("tar", "-xf", tar, "-C", L1_ROOT, "--strip-components=1"), Path.of("/"));
            String libraries = L1_ROOT + "/" + LIBRARIES + ":" + L1_ROOT + "/lib/aarch64-linux-gnu";
            List<String> qemuStart = List.of("env", "QEMU_MODULE_DIR=" + L1_ROOT + "/" + LIBRARIES + "/qemu",
                    L1_ROOT + "/" + LIBRARIES + "/ld-linux-aarch64.so.1", "--library-path", libraries,
                    L1_ROOT + "/usr/bin/qemu-system-aarch64");
            long timeout = TimeUnit.SECONDS.toNanos(900);
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            List<String> monitor = List.of("-cp", System.getProperty("java.class.path"), "io.aether.cli.Main", "vm", "run");
            // As the launcher starts the monitor on arm64: the options the host gave (dev/monitor.jvmargs), JDK 25's AOT
            // cache in place of the class-data archive, and a lazy JIT.
            List<String> aotOptions = jvmOptions.stream().filter(o -> !o.startsWith("-XX:SharedArchiveFile=")
                    && !o.equals("-XX:+AutoCreateSharedArchive")).toList();
            List<String> boot = List.of("--kernel", kernel, "--initrd", initrd, "--mem", "256M", "--vcpus", "1",
                    "--cmdline", "console=ttyS0 " + GUEST_CMDLINE);
            List<Variant> variants = new ArrayList<>(List.of(
                    new Variant("aether", aotStart(java, aotOptions, List.of(LAZY_JIT), "/tmp/aether-arm64.aot"), monitor)));
            if (compare) {
                // The monitor before its downcalls were linked ahead (Libc.linkAhead), side by side with the launcher's way.
                variants.add(new Variant("aether-no-link-ahead",
                        aotStart(java, aotOptions, List.of(LAZY_JIT, NO_LINK_AHEAD), "/tmp/aether-arm64-nolink.aot"), monitor));
            }
            if (before != null) {
                // The same monitor with the given jar's classes in place of this build's (its own AOT cache, trained the same way).
                List<String> beforeMonitor = new ArrayList<>(monitor);
                beforeMonitor.set(1, before + ":" + monitor.get(1));
                variants.add(new Variant("aether-before", aotStart(java, aotOptions, List.of(LAZY_JIT), "/tmp/aether-arm64-before.aot"),
                        List.copyOf(beforeMonitor)));
            }
            for (Variant v : variants) {
                if (v.aotCache() != null) train(v);
            }
            if (exits) {
                // As the launcher runs it, and which classes the AOT cache did not hold on the boot path.
                Variant launcher = variants.getFirst();
                Path classes = Path.of("/tmp/aether-classes.txt");
                List<String> traced = with(with(with(launcher.start(), List.of("-Xlog:class+load=info:file=" + classes, TRACE_BOOT)),
                        launcher.monitor()), boot);
                System.out.print(exitCounts(traced, Path.of("/tmp/aether-exits.txt")));
                System.out.print(classSources(classes));
                status = 0;
                return;
            }
            List<BootBench.Command> commands = new ArrayList<>();
            if (startUp) {
                for (Variant v : variants) commands.add(new BootBench.Command(v.label() + "-stub", v.command(List.of("--stub"))));
                List<String> version = new ArrayList<>(qemuStart);
                version.add("-version");
                commands.add(new BootBench.Command("qemu-version", version));
                System.out.print(BootBench.compare(commands, runs, "", timeout));
                status = 0;
                return;
            }
            List<String> qemu = new ArrayList<>(qemuStart);
            qemu.addAll(List.of("-L", L1_ROOT + "/usr/share/qemu",
                    "-accel", "kvm", "-M", "virt,gic-version=3", "-cpu", "host", "-smp", "1", "-m", "256M",
                    "-nodefaults", "-no-user-config", "-nographic", "-serial", "stdio", "-no-reboot",
                    // Aether always gives the guest an entropy device, whose driver the initramfs loads: so does QEMU here.
                    "-device", "virtio-rng-device",
                    "-kernel", kernel, "-initrd", initrd, "-append", "console=ttyAMA0 " + GUEST_CMDLINE));
            System.out.println("arm64 bench: qemu-virt: " + String.join(" ", qemu));
            if (phases) {
                List<String> labels = new ArrayList<>();
                List<Path> traces = new ArrayList<>();
                for (Variant v : variants) {
                    Path trace = Path.of("/tmp/trace-" + v.label() + ".txt");
                    labels.add(v.label());
                    traces.add(trace);
                    List<String> traced = with(with(with(v.start(), TRACE_BOOT), v.monitor()), boot);
                    commands.add(new BootBench.Command(v.label(), tracedTo(trace.toString(), traced)));
                }
                commands.add(new BootBench.Command("qemu-virt", qemu));
                System.out.print(BootBench.compare(commands, runs, GuestInit.READY_MARKER, timeout));
                System.out.print(phaseTable(labels, traces));
                status = 0;
                return;
            }
            for (Variant v : variants) {
                System.out.println("arm64 bench: " + v.label() + ": " + String.join(" ", v.command(boot)));
                commands.add(new BootBench.Command(v.label(), v.command(boot)));
            }
            Spawn.Measurement probe = Spawn.run(qemu, GuestInit.READY_MARKER, timeout);
            if (probe.marker() < 0) {
                // Aether's own figures still say something; QEMU's failure is printed whole.
                System.out.println("arm64 bench: QEMU FAILED (status " + probe.exitStatus() + "), its output:\n" + probe.output());
                qemu = List.of("true");
            }
            commands.add(new BootBench.Command("qemu-virt", qemu));
            System.out.print(BootBench.compare(commands, runs, probe.marker() < 0 ? "" : GuestInit.READY_MARKER, timeout));
            status = 0;
        } finally {
            System.out.println(STATUS + status);
            System.out.flush();
        }
    }

    /**
     * One boot with {@code --trace-exits} (its trace in {@code traceFile}): the exits to the
     * monitor counted by reason and by the device they touched, as table lines.
     */
    private static String exitCounts(List<String> boot, Path traceFile) throws IOException, InterruptedException {
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder(with(boot, "--trace-exits")).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(traceFile.toFile()).start();
        if (!p.waitFor(15, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new IOException("the traced boot did not end within 15 minutes");
        }
        Map<String, Integer> counts = new TreeMap<>();
        int total = 0;
        StringBuilder steps = new StringBuilder();
        for (String line : Files.readAllLines(traceFile)) {
            // The start's steps (BootTrace), to set beside the class log's uptimes.
            if (line.startsWith("trace-boot ")) steps.append("| ").append(line).append(" |\n");
            if (!line.startsWith("[vcpu ")) continue;
            total++;
            counts.merge(exitKind(line.substring(line.indexOf(']') + 2)), 1, Integer::sum);
        }
        StringBuilder table = new StringBuilder(String.format(Locale.ROOT,
                "| exit (reason, device register) | count |%n|---|---:|%n"));
        counts.entrySet().stream().sorted(Map.Entry.<String, Integer>comparingByValue().reversed())
                .forEach(e -> table.append("| ").append(e.getKey()).append(" | ").append(e.getValue()).append(" |\n"));
        table.append(String.format(Locale.ROOT, "| all, in a boot of %.1f s (status %d) | %d |%n",
                (System.nanoTime() - t0) / 1e9, p.exitValue(), total));
        return table.append(steps).toString();
    }

    /**
     * How many classes the JVM loaded from each source (the AOT cache, the runtime image, the jars), as table lines,
     * then the product's classes that came from its jars, in load order with the JVM's uptime then: what the trained
     * AOT cache does not hold.
     */
    private static String classSources(Path log) throws IOException {
        Map<String, Integer> counts = new TreeMap<>();
        List<String> fromProductJars = new ArrayList<>();
        for (String line : Files.readAllLines(log)) {
            int at = line.indexOf(" source: ");
            if (at < 0) continue;
            String source = line.substring(at + 9).strip();
            String kind = source.startsWith("shared objects file") ? "AOT cache" : source.startsWith("jrt:/") ? "runtime image (jrt)"
                    : source.endsWith(".jar") ? "jar " + source.substring(source.lastIndexOf('/') + 1) : "other (" + source.split(" ")[0] + ")";
            counts.merge(kind, 1, Integer::sum);
            if (source.endsWith(".jar") && source.contains("aether-")) {
                // "[UPTIME][info][class,load] NAME source: ...": the name, and when the JVM loaded it.
                String loaded = line.substring(0, at);
                String uptime = line.startsWith("[") ? line.substring(1, line.indexOf(']')) : "?";
                fromProductJars.add(loaded.substring(loaded.lastIndexOf(' ') + 1) + "@" + uptime);
            }
        }
        StringBuilder table = new StringBuilder(String.format(Locale.ROOT, "| classes loaded from | count |%n|---|---:|%n"));
        counts.forEach((kind, n) -> table.append("| ").append(kind).append(" | ").append(n).append(" |\n"));
        table.append("| the product's classes from its jars, in load order | ").append(String.join(" ", fromProductJars)).append(" |\n");
        return table.toString();
    }

    /** An exit's reason and, for MMIO, the device window and register offset it touched. */
    static String exitKind(String decoded) {
        String reason = decoded.split(" ", 2)[0];
        Matcher m = Pattern.compile("addr=0x([0-9a-f]+)").matcher(decoded);
        if (!m.find()) return reason;
        long address = Long.parseUnsignedLong(m.group(1), 16);
        if (address >= Layout.UART_BASE && address < Layout.VIRTIO_MMIO_BASE) {
            return reason + " uart +0x" + Long.toHexString(address - Layout.UART_BASE);
        }
        long window = (address - Layout.VIRTIO_MMIO_BASE) / Layout.VIRTIO_MMIO_STRIDE;
        if (address >= Layout.VIRTIO_MMIO_BASE && window < Layout.MAX_VIRTIO_DEVICES) {
            return reason + " virtio-mmio " + window + " +0x" + Long.toHexString(address % Layout.VIRTIO_MMIO_STRIDE);
        }
        return reason + " 0x" + Long.toHexString(address);
    }

    /** {@code command} through a shell that sends its standard error to the end of {@code file}, then becomes it. */
    private static List<String> tracedTo(String file, List<String> command) {
        return with(List.of("sh", "-c", "exec \"$0\" \"$@\" 2>>" + file), command);
    }

    /**
     * Per step of the monitor's start, for each of {@code labels}: the medians of the step's
     * milliseconds and of its end since the process started, from the {@code trace-boot} lines of
     * every run in its file but the first (the warm-up).
     */
    private static String phaseTable(List<String> labels, List<Path> files) throws IOException {
        List<Map<String, List<double[]>>> byLabel = new ArrayList<>();
        List<String> steps = new ArrayList<>();
        for (Path file : files) {
            Map<String, List<double[]>> byStep = new TreeMap<>();
            int run = 0;
            for (String line : Files.readAllLines(file)) {
                String[] f = line.split(" ");
                if (f.length != 4 || !f[0].equals("trace-boot")) continue;
                if (f[1].equals("vm-run")) run++;
                if (run < 2) continue;
                if (!steps.contains(f[1])) steps.add(f[1]);
                byStep.computeIfAbsent(f[1], s -> new ArrayList<>()).add(new double[] {Double.parseDouble(f[2]), Double.parseDouble(f[3])});
            }
            byLabel.add(byStep);
        }
        StringBuilder table = new StringBuilder("| step (median ms: the step, its end since the process started) |");
        labels.forEach(l -> table.append(' ').append(l).append(" |"));
        table.append("\n|---|").append("---:|".repeat(labels.size())).append('\n');
        for (String step : steps) {
            table.append("| ").append(step).append(" |");
            for (Map<String, List<double[]>> byStep : byLabel) {
                List<double[]> values = byStep.getOrDefault(step, List.of());
                if (values.isEmpty()) {
                    table.append(" - |");
                    continue;
                }
                table.append(String.format(Locale.ROOT, " %.1f, %.1f |", BootBench.median(values.stream().mapToDouble(v -> v[0]).toArray()),
                        BootBench.median(values.stream().mapToDouble(v -> v[1]).toArray())));
            }
            table.append('\n');
        }
        return table.toString();
    }

    private static List<String> with(List<String> command, List<String> arguments) {
        List<String> all = new ArrayList<>(command);
        all.addAll(arguments);
        return all;
    }

    private static List<String> with(List<String> command, String argument) {
        return with(command, List.of(argument));
    }

    /**
     * One way of starting the monitor: {@code java} with its options ({@code start}), then the
     * monitor's main class and {@code vm run} ({@code monitor}).
     *
     * @param aotCache the AOT cache it uses, made by {@link #train}; null for none
     */
    private record Variant(String label, List<String> start, List<String> monitor, String aotCache, List<String> training) {

        Variant(String label, AotStart aot, List<String> monitor) {
            this(label, aot.use(), monitor, aot.cache(), aot.training());
        }

        List<String> command(List<String> arguments) {
            return with(with(start, monitor), arguments);
        }
    }

    /** The JVM's command with an AOT cache in use, and the one that trains it. */
    private record AotStart(List<String> use, List<String> training, String cache) {
    }

    private static AotStart aotStart(String java, List<String> options, List<String> extra, String cache) {
        List<String> base = with(with(List.of(java), options), extra);
        return new AotStart(with(base, List.of("-XX:AOTCache=" + cache, "-Xlog:aot*=off:stderr")),
                with(base, "-XX:AOTCacheOutput=" + cache), cache);
    }

    /**
     * The launcher's training "kernel" on arm64 (see {@code aether}): an Image header whose code
     * branches over it to {@code movz x0, #0x8; movk x0, #0x8400, lsl 16; hvc #0; b .}, PSCI
     * SYSTEM_OFF; image_size 64 KiB, 4 KiB pages, little-endian.
     */
    private static final byte[] TRAINING_IMAGE = HexFormat.of().parseHex(
            "1000001400000000" + "0000000000000000" + "0000010000000000" + "0200000000000000"
            + "0000000000000000".repeat(3) + "41524d6400000000"
            + "000180d2" + "0080b0f2" + "020000d4" + "00000014");

    /**
     * The AOT cache's training run, as the {@code aether} launcher makes it on arm64: the monitor
     * boots {@link #TRAINING_IMAGE} once (a Linux boot's classes, no kernel's time) and, at its
     * exit, the JVM assembles the cache in a second JVM. Its output goes to L1's console.
     */
    private static void train(Variant v) throws IOException, InterruptedException {
        long t0 = System.nanoTime();
        Path image = Files.write(Path.of("/tmp/aether-arm64-training.Image"), TRAINING_IMAGE);
        Process p = new ProcessBuilder(with(with(v.training(), v.monitor()), List.of("--kernel", image.toString())))
                .inheritIO().start();
        if (!p.waitFor(15, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new IOException("the AOT cache's training run did not end within 15 minutes");
        }
        Path cache = Path.of(v.aotCache());
        long bytes = Files.isRegularFile(cache) ? Files.size(cache) : -1;
        System.out.printf(Locale.ROOT, "arm64 bench: %s: AOT training run: status %d, %.1f s, cache %d bytes%n",
                v.label(), p.exitValue(), (System.nanoTime() - t0) / 1e9, bytes);
        if (bytes <= 0) throw new IOException("the AOT training run wrote no cache at " + cache);
    }
}
