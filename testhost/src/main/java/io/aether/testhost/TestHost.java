package io.aether.testhost;

import io.aether.guest.GuestArtifacts;
import io.aether.guest.GuestFetcher;
import io.aether.guest.Initramfs;
import io.aether.guest.KernelModules;
import java.io.File;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.jar.Manifest;
import java.util.jar.JarFile;
import java.util.jar.Attributes;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.Semaphore;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Runs real Linux guests for tests: directly on a host with hardware KVM, or inside the
 * nested test host where /dev/kvm is PVM (QEMU TCG emulating an AMD CPU with SVM, whose
 * kvm-amd gives a hardware-like /dev/kvm to the monitor).
 *
 * <p>A test asks for the host, starts a {@link Scenario}, and talks to the guest's console:
 * <pre>{@code
 * TestHost host = TestHost.shared();       // an IOException naming the reason when it cannot work
 * try (GuestRun run = host.start(Scenario.aetherVm("--vcpus", "2", "--mem", "256M").build())) {
 *     run.console().expectLine(GuestInit.READY_MARKER);
 *     assertEquals(List.of("2"), run.console().exec("nproc").lines());
 *     run.console().exitShell(Duration.ofMinutes(1));   // the guest powers off, the monitor ends
 *     assertEquals(0, run.awaitExit(Duration.ofMinutes(1)));
 * }
 * }</pre>
 * Everything that can be is cached across runs under {@code ~/.cache/aether}: the guest
 * ({@code guest/}, shared with {@code aether guest fetch}) and the jlink'ed Java runtime
 * ({@code testhost/jdk-<key>}). One run at a time per machine: QEMU's emulation takes every
 * core, so {@link #start} waits for a run in another test or JVM to end.
 */
public final class TestHost {

    /**
     * What L1 runs the monitor on: 2 emulated cores and 3 GiB; its first serial port is the
     * scenario's console (stdio), a second one ({@link L1Channel}) follows.
     */
    static final List<String> L1_MACHINE = List.of("-accel", "tcg,thread=multi", "-cpu", "EPYC,+svm", "-smp", "2",
            "-m", "3G", "-M", "q35", "-nodefaults", "-no-user-config", "-nographic", "-serial", "stdio", "-no-reboot");
    /** Under emulation a JVM mostly interprets and compiles: keep C2, perf data and GC threads out of the way. */
    static final String NESTED_JVM_OPTIONS = "--enable-native-access=ALL-UNNAMED -XX:+UseSerialGC"
            + " -XX:TieredStopAtLevel=1 -XX:-UsePerfData -Xshare:auto";
    static final String DIRECT_JVM_OPTIONS = "--enable-native-access=ALL-UNNAMED";
    /** Test frameworks, and ONNX Runtime's 50 MiB native bundle that only model inference loads. */
    private static final Pattern NOT_PRODUCT = Pattern.compile(
            "(junit-|aether-testkit|opentest4j|apiguardian|surefire|onnxruntime).*");
    /** QEMU's firmware for microvm and its option ROMs for -kernel. */
    private static final List<String> QEMU_FIRMWARE = List.of("bios-microvm.bin", "qboot.rom", "linuxboot.bin",
            "linuxboot_dma.bin", "pvh.bin", "kvmvapic.bin");
    private static final Duration LOCK_WAIT = Duration.ofMinutes(20);

    private static final Object SETUP = new Object();
    private static final Semaphore RUN_LOCK = new Semaphore(1);
    private static TestHost shared;
    private static String unavailable;

    private final HostProbe probe;
    private final HostProbe.Mode mode;
    private final GuestArtifacts guest;
    private final Path cacheDir;
    /** The QEMU that emulates L1; present in the nested mode. */
    private final Optional<QemuCommand> l1Qemu;
    private Path jdk;
    private Set<Path> jdkLibraries;
    private List<String> applets;

    private TestHost(HostProbe probe, HostProbe.Mode mode, GuestArtifacts guest, Path cacheDir,
                     Optional<QemuCommand> l1Qemu) {
        this.probe = probe;
        this.mode = mode;
        this.guest = guest;
        this.cacheDir = cacheDir;
        this.l1Qemu = l1Qemu;
    }

    /**
     * The test host of this machine, prepared once per JVM (the guest fetched or found in the
     * cache) and shared by the tests that run in it. A machine that cannot run guests is an
     * exception with the reason, remembered so that later callers get it at once. Tests turn it
     * into a skip, or a failure under {@code CI=true} (the testkit's {@code Prerequisites}).
     */
    public static TestHost shared() throws IOException {
        synchronized (SETUP) {
            if (shared != null) {
                return shared;
            }
            if (unavailable == null) {
                try {
                    shared = prepare(HostProbe.probe());
                    return shared;
                } catch (Unavailable e) {
                    unavailable = e.getMessage();
                }
            }
            throw new IOException(unavailable);
        }
    }

    private static final class Unavailable extends Exception {
        Unavailable(String reason) {
            super(reason);
        }
    }

    /** A test host for a program that runs once (the demo, the benchmarks): prepared afresh. */
    public static TestHost open() throws IOException {
        return open(HostProbe.probe());
    }

    /**
     * A nested test host even where hardware KVM would allow the direct mode: for the tests of
     * the nested host itself.
     */
    static TestHost openNested() throws IOException {
        HostProbe p = HostProbe.probe();
        return open(new HostProbe(p.hardwareVirtualization(), p.pvm(), p.devKvm(), p.qemu(), Optional.of("nested")));
    }

    private static TestHost open(HostProbe probe) throws IOException {
        try {
            return prepare(probe);
        } catch (Unavailable e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    private static TestHost prepare(HostProbe probe) throws Unavailable {
        HostProbe.Mode mode = probe.mode().orElseThrow(() -> new Unavailable(probe.unavailableReason()));
        GuestArtifacts guest;
        try {
            guest = new GuestFetcher(GuestFetcher.defaultCacheRoot(), TestHost::progress).fetch(false);
        } catch (IOException e) {
            throw new Unavailable("cannot fetch the guest kernel and initramfs (apt and network to Debian's mirror"
                    + " are needed once): " + e.getMessage());
        }
        Optional<QemuCommand> l1Qemu = Optional.empty();
        if (mode == HostProbe.Mode.NESTED) {
            try {
                QemuChoice choice = QemuChoice.parse(Optional.ofNullable(System.getenv(QemuChoice.VARIABLE)));
                TrixieQemu trixie = new TrixieQemu(TrixieQemu.defaultDirectory(), Path.of("/etc/apt"), TestHost::progress);
                l1Qemu = Optional.of(choice.resolve(probe.qemu().orElseThrow(), trixie::ensure, TestHost::progress));
            } catch (IOException e) {
                throw new Unavailable("no QEMU for the nested test host: " + e.getMessage());
            }
        }
        progress("mode " + mode.name().toLowerCase(Locale.ROOT) + "; guest " + guest.kernelRelease() + " in "
                + guest.directory() + l1Qemu.map(q -> "; L1 on " + q.describe()).orElse(""));
        return new TestHost(probe, mode, guest, GuestFetcher.userCacheDirectory().resolve("testhost"), l1Qemu);
    }

    /** A scenario run: opens its own {@link GuestRun}, so that running it again starts afresh. */
    @FunctionalInterface
    public interface Body {
        void run(TestHost host) throws Exception;
    }

    /** How many times a scenario runs at most when the emulated host stalls. */
    static final int STALL_ATTEMPTS = 3;

    /**
     * Runs {@code body}, and in the nested host runs it again, up to {@link #STALL_ATTEMPTS} times
     * in all, if the emulated host itself stalled ({@link HostStalledException}: L1's heartbeat
     * stopped, or L1's kernel reported a panic, a lockup or an RCU stall). QEMU 7.2's emulation
     * of nested SVM stalled or panicked L1 in 3 of 62 boots; trixie's QEMU 10, which the nested
     * host runs on ({@link QemuChoice}), in none of 62. A console that stays silent while L1's
     * heartbeat goes on is a hang of the monitor or its guest and is never retried. Each stall
     * is said on stderr; the last stall, or any other failure, propagates. On hardware KVM
     * (direct mode) nothing is retried.
     */
    public void retryingStalls(Body body) throws Exception {
        retryingStalls(mode, () -> {
            body.run(this);
            return null;
        });
    }

    /** The retry rule of {@link #retryingStalls(Body)}, for a body in a given mode. */
    static void retryingStalls(HostProbe.Mode mode, java.util.concurrent.Callable<?> body) throws Exception {
        for (int attempt = 1; ; attempt++) {
            try {
                body.call();
                return;
            } catch (HostStalledException e) {
                if (mode != HostProbe.Mode.NESTED || attempt >= STALL_ATTEMPTS) throw e;
                progress("WARNING: " + e.getMessage().lines().findFirst().orElse("the emulated host stalled")
                        + "; running the scenario again (attempt " + (attempt + 1) + " of " + STALL_ATTEMPTS + ")");
            }
        }
    }

    /** How this host runs guests. */
    public HostProbe.Mode mode() {
        return mode;
    }

    /** The guest that scenarios boot ({@code $GUEST_KERNEL}, {@code $GUEST_INITRD}). */
    public GuestArtifacts guest() {
        return guest;
    }

    /**
     * This JVM's classpath less test frameworks and ONNX Runtime: what {@code aether} runs with
     * in a scenario unless it {@linkplain Scenario.Builder#classpath names its own}.
     */
    public static List<Path> productClasspath() {
        return productClasspath(System.getProperty("java.class.path", ""));
    }

    static List<Path> productClasspath(String classPath) {
        Set<Path> result = new LinkedHashSet<>();
        for (String entry : classPath.split(File.pathSeparator)) {
            if (!entry.isBlank()) {
                addProductEntry(Path.of(entry).toAbsolutePath().normalize(), result);
            }
        }
        return List.copyOf(result);
    }

    /**
     * Adds {@code p} and, for a jar, the entries its manifest's {@code Class-Path} names: run with
     * {@code java -jar aether.jar}, the class path property holds that one jar, and the product's
     * other jars are listed in its manifest.
     */
    private static void addProductEntry(Path p, Set<Path> result) {
        if (!Files.exists(p) || NOT_PRODUCT.matcher(p.getFileName().toString()).matches() || !result.add(p)) {
            return;
        }
        if (!Files.isRegularFile(p) || !p.getFileName().toString().endsWith(".jar")) {
            return;
        }
        try (JarFile jar = new JarFile(p.toFile())) {
            Manifest manifest = jar.getManifest();
            String classPath = manifest == null ? null : manifest.getMainAttributes().getValue(Attributes.Name.CLASS_PATH);
            if (classPath != null) {
                for (String relative : classPath.trim().split("\\s+")) {
                    addProductEntry(p.getParent().resolve(relative).normalize(), result);
                }
            }
        } catch (IOException e) {
            // Not a readable jar: it stays on the class path as it is, without manifest entries.
        }
    }

    /**
     * Starts {@code scenario}; waits first while another run (in this or another JVM) goes on.
     * The caller closes the returned run.
     */
    public GuestRun start(Scenario scenario) throws IOException {
        RunLock lock = RunLock.acquire(cacheDir.resolve("run.lock"));
        try {
            GuestRun run = switch (mode) {
                case NESTED -> startNested(scenario, lock);
                case DIRECT -> startDirect(scenario, lock);
            };
            lock = null;
            return run;
        } finally {
            if (lock != null) {
                lock.close();
            }
        }
    }

    private GuestRun startNested(Scenario scenario, RunLock lock) throws IOException {
        long t0 = System.nanoTime();
        NestedImage image = nestedImage(scenario);
        Initramfs layout = image.layout();
        Path initrd = Files.createTempFile("aether-l1-", ".cpio");
        L1Channel l1 = null;
        Process qemu;
        try {
            layout.write(initrd, false);
            progress(String.format(Locale.ROOT, "L1 initramfs: %d entries, %.0f MiB, written in %.1f s",
                    layout.entries().size(), Files.size(initrd) / 1048576.0, (System.nanoTime() - t0) / 1e9));
            l1 = L1Channel.open();
            List<String> arguments = new ArrayList<>(L1_MACHINE);
            arguments.addAll(List.of("-serial", l1.serialArgument(), "-kernel", guest.kernel().toString(),
                    "-initrd", initrd.toString(), "-append", NestedImage.KERNEL_CMDLINE));
            qemu = l1Qemu.orElseThrow().processBuilder(arguments).start();
        } catch (IOException | RuntimeException e) {
            try {
                if (l1 != null) {
                    l1.close();
                }
            } finally {
                Files.deleteIfExists(initrd);
            }
            throw e;
        }
        L1Channel channel = l1;
        return new GuestRun(qemu, scenario.timeout(), run -> exitStatus(run.transcript()),
                () -> {
                    try (lock; channel) {
                        Files.deleteIfExists(initrd);
                    }
                }, channel, scenario.stallLimits());
    }

    /** The scenario's status from L1's last {@code AETHER-L1-EXIT <n>} line. */
    static OptionalInt exitStatus(String transcript) {
        OptionalInt status = OptionalInt.empty();
        for (String line : transcript.lines().toList()) {
            Matcher m = NestedImage.EXIT_LINE.matcher(line);
            if (m.matches()) {
                status = OptionalInt.of(Integer.parseInt(m.group(1)));
            }
        }
        return status;
    }

    NestedImage nestedImage(Scenario scenario) throws IOException {
        List<NestedImage.ModuleLoad> modules = new ArrayList<>();
        for (Path m : guest.hostModules()) {
            String name = KernelModules.canonicalName(m.getFileName().toString().replaceFirst("\\.ko$", ""));
            modules.add(new NestedImage.ModuleLoad(m, name.equals("kvm_amd") ? "nested=1" : ""));
        }
        Set<Path> libraries = new TreeSet<>();
        Optional<Path> runtime = Optional.empty();
        List<Path> classpath = List.of();
        if (scenario.needsJava()) {
            runtime = Optional.of(jdk());
            libraries.addAll(jdkLibraries);
            classpath = scenario.classpath().orElseGet(TestHost::productClasspath);
        }
        Set<Path> hostFiles = new LinkedHashSet<>();
        Optional<Path> qemu = Optional.empty();
        if (scenario.needsQemu()) {
            Path binary = probe.qemu().orElseThrow();
            qemu = Optional.of(binary);
            hostFiles.add(binary);
            libraries.addAll(SharedLibraries.resolve(List.of(binary), binary.getParent(), Set.of()));
            Path data = qemuDataDirectory(binary);
            for (String f : QEMU_FIRMWARE) {
                if (Files.isRegularFile(data.resolve(f))) {
                    hostFiles.add(data.resolve(f));
                }
            }
        }
        return new NestedImage(guest.busybox(), applets(), modules, runtime, classpath,
                scenario.jvmOptions().orElse(NESTED_JVM_OPTIONS), libraries, hostFiles, qemu,
                guest.kernel(), guest.initramfs(), scenario);
    }

    /** Where QEMU looks for firmware: {@code ../share/qemu} beside its {@code bin}. */
    private static Path qemuDataDirectory(Path binary) {
        return binary.toAbsolutePath().getParent().resolveSibling("share").resolve("qemu");
    }

    private synchronized Path jdk() throws IOException {
        if (jdk == null) {
            Path javaHome = Path.of(System.getProperty("java.home"));
            Path image;
            try {
                image = JdkImage.ensure(cacheDir, javaHome, JdkImage.MODULES, TestHost::progress);
            } catch (IOException e) {
                throw new IOException("cannot make the Java runtime for the nested host: " + e.getMessage(), e);
            }
            List<Path> binaries = new ArrayList<>();
            binaries.add(image.resolve("bin/java"));
            Set<String> provided = new HashSet<>();
            try (Stream<Path> walk = Files.walk(image.resolve("lib"))) {
                for (Path p : walk.filter(Files::isRegularFile).toList()) {
                    if (p.getFileName().toString().endsWith(".so") && SharedLibraries.isElf(p)) {
                        binaries.add(p);
                        provided.add(p.getFileName().toString());
                    }
                }
            }
            jdkLibraries = SharedLibraries.resolve(binaries, image.toRealPath(), provided);
            jdk = image;
        }
        return jdk;
    }

    private synchronized List<String> applets() throws IOException {
        if (applets == null) {
            String out = HostCommand.require("listing the busybox applets",
                    List.of(guest.busybox().toString(), "--list-full"), null, Duration.ofSeconds(30));
            applets = out.lines().toList();
        }
        return applets;
    }

    private GuestRun startDirect(Scenario scenario, RunLock lock) throws IOException {
        Path dir = Files.createTempDirectory("aether-scenario-");
        try {
            Optional<ScenarioFiles.JavaCommand> java = Optional.empty();
            if (scenario.needsJava()) {
                List<String> classpath = scenario.classpath().orElseGet(TestHost::productClasspath).stream()
                        .map(Path::toString).toList();
                java = Optional.of(new ScenarioFiles.JavaCommand(
                        Path.of(System.getProperty("java.home"), "bin", "java").toString(), classpath,
                        scenario.jvmOptions().orElse(DIRECT_JVM_OPTIONS)));
            }
            for (Map.Entry<String, Scenario.FileContent> f : ScenarioFiles.of(scenario, java).entrySet()) {
                Path target = dir.resolve(f.getKey());
                Files.createDirectories(target.getParent());
                switch (f.getValue()) {
                    case Scenario.HostFile h -> Files.copy(h.path(), target);
                    case Scenario.Text t -> Files.write(target, t.bytes());
                }
                target.toFile().setExecutable(switch (f.getValue()) {
                    case Scenario.HostFile h -> (h.permissions() & 0100) != 0;
                    case Scenario.Text t -> (t.permissions() & 0100) != 0;
                }, false);
            }
            ProcessBuilder pb = new ProcessBuilder("/bin/sh", "./run.sh").directory(dir.toFile()).redirectErrorStream(true);
            Map<String, String> env = pb.environment();
            env.putAll(ScenarioFiles.environment(dir, guest.kernel(), guest.initramfs(),
                    scenario.needsQemu() ? probe.qemu() : Optional.empty(), scenario.needsJava()));
            env.put("PATH", dir.resolve("bin") + File.pathSeparator + env.getOrDefault("PATH", "/usr/bin:/bin"));
            Process p = pb.start();
            return new GuestRun(HostProbe.Mode.DIRECT, p, scenario.timeout(),
                    run -> OptionalInt.of(run.processExitValue()),
                    () -> {
                        try {
                            JdkImage.deleteTree(dir);
                        } finally {
                            lock.close();
                        }
                    });
        } catch (IOException | RuntimeException e) {
            JdkImage.deleteTree(dir);
            throw e;
        }
    }

    static void progress(String line) {
        System.err.println("testhost: " + line);
    }

    /** One run at a time: a lock within this JVM and a file lock across JVMs. */
    private static final class RunLock implements AutoCloseable {
        private final FileChannel channel;
        private final FileLock fileLock;

        private RunLock(FileChannel channel, FileLock fileLock) {
            this.channel = channel;
            this.fileLock = fileLock;
        }

        static RunLock acquire(Path file) throws IOException {
            long deadline = System.nanoTime() + LOCK_WAIT.toNanos();
            try {
                if (!RUN_LOCK.tryAcquire(LOCK_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
                    throw new IOException("another run in this JVM did not end within " + LOCK_WAIT.toMinutes() + " minutes");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while waiting for another run to end", e);
            }
            try {
                Files.createDirectories(file.getParent());
                FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                boolean told = false;
                while (true) {
                    FileLock l = channel.tryLock();
                    if (l != null) {
                        return new RunLock(channel, l);
                    }
                    if (!told) {
                        progress("waiting for another process's nested run to end (" + file + ")");
                        told = true;
                    }
                    if (System.nanoTime() > deadline) {
                        channel.close();
                        throw new IOException("another process held " + file + " for " + LOCK_WAIT.toMinutes() + " minutes");
                    }
                    Thread.sleep(500);
                }
            } catch (IOException | RuntimeException e) {
                RUN_LOCK.release();
                throw e;
            } catch (InterruptedException e) {
                RUN_LOCK.release();
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while waiting for another run to end", e);
            }
        }

        @Override
        public void close() throws IOException {
            try {
                fileLock.release();
                channel.close();
            } finally {
                RUN_LOCK.release();
            }
        }
    }
}
