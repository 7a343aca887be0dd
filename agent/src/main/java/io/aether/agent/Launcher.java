package io.aether.agent;

import io.aether.agentapi.NodeInfo;
import io.aether.cgroups.CgroupException;
import io.aether.cgroups.Quota;
import io.aether.cgroups.VmCgroup;
import io.aether.common.Uninterruptibly;
import io.aether.monitorapi.ControlRequest;
import io.aether.monitorapi.ControlResponse;
import io.aether.monitorapi.MonitorClient;
import io.aether.vmspec.VmSpec;
import io.aether.monitorapi.WarmPool;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Starts monitor processes: {@code PREFIX --spec FILE --socket PATH --console-log FILE} (or
 * {@code --restore DIR} for {@code --spec FILE}), where the
 * prefix runs {@code aether vm monitor}. Each monitor's standard output and error go to its
 * folder's {@code monitor.log}, not to a pipe: a pipe would break when the agent dies, and the
 * monitor must outlive it.
 *
 * <p>With a warm pool, a VM or a snapshot goes to a standby monitor first (its socket moved into
 * the VM's folder, its standard error moved to {@code monitor.log}); a launch the standby does
 * not answer, or a boot it refuses, falls back to a cold monitor, and the log says why. A
 * snapshot it refuses is refused: a cold monitor would only say the same a JVM start later.
 *
 * <p>Where quotas are enforced every monitor runs its VM inside the VM's cgroup: a standby's own
 * group becomes the VM's before the launch is sent ({@link StandbyGroups}), a cold monitor is
 * moved into a new group as soon as it is spawned.
 */
final class Launcher implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(Launcher.class.getName());

    /** The monitors' class-data archive in the data directory (see {@link #defaultPrefix}). */
    static final String CLASS_DATA_ARCHIVE = "monitor.jsa";
    /** The main class of the {@code aether} command, named as a string: the agent does not depend on the CLI. */
    static final String MAIN_CLASS = "io.aether.cli.Main";
    /** A monitor log over this is moved to {@code monitor.log.1} before the next start. */
    private static final long MAX_LOG_BYTES = 1 << 20;
    /** How much of a log's end is read for its last line. */
    private static final int TAIL_BYTES = 4096;

    private final List<String> prefix;
    private final int poolSize;
    /** Null when the pool size is 0. */
    private final WarmPool pool;
    private final Quotas quotas;
    /** The standbys' groups; empty without a pool or where quotas are not enforced. */
    private final Optional<StandbyGroups> standbyGroups;

    Launcher(List<String> prefix, Quotas quotas) {
        this(prefix, 0, null, quotas, Optional.empty());
    }

    private Launcher(List<String> prefix, int poolSize, WarmPool pool, Quotas quotas, Optional<StandbyGroups> standbyGroups) {
        if (prefix.isEmpty()) throw new IllegalArgumentException("the monitor command is empty");
        this.prefix = List.copyOf(prefix);
        this.poolSize = poolSize;
        this.pool = pool;
        this.quotas = quotas;
        this.standbyGroups = standbyGroups;
    }

    /**
     * How long a standby may take to start and warm up before it is killed as failed. Generous: in
     * the nested test host (emulated) a standby needs minutes, and with 30 s the pool never filled,
     * every standby killed before it was ready; a slow edge machine is no different.
     */
    static final java.time.Duration STANDBY_READY_TIMEOUT = java.time.Duration.ofMinutes(5);

    /**
     * A launcher that keeps {@code size} standby monitors in {@code directory} (0: none, every
     * start is cold), each in a group of its own where {@code quotas} are enforced.
     */
    static Launcher withPool(List<String> prefix, int size, Path directory, Quotas quotas) throws IOException {
        if (size == 0) return new Launcher(prefix, quotas);
        Files.createDirectories(directory);
        Optional<StandbyGroups> groups = quotas.standbyGroups();
        WarmPool.Placement placement = groups.<WarmPool.Placement>map(g -> g).orElse(WarmPool.Placement.NONE);
        return new Launcher(prefix, size, WarmPool.start(new WarmPool.Config(prefix, directory, size, STANDBY_READY_TIMEOUT, placement)),
                quotas, groups);
    }

    /**
     * The JVM options of {@code dev/monitor.jvmargs} (the build copies it beside this class), which
     * the {@code aether} launcher gives a monitor too: the memory quota's monitor overhead was
     * measured with them. Without them a JVM sizes its collector and JIT for a server and outgrows
     * that overhead (a monitor of a 16 MiB stub guest was OOM-killed at 112 MiB).
     */
    static List<String> monitorJvmOptions() {
        try (InputStream in = Launcher.class.getResourceAsStream("monitor.jvmargs")) {
            if (in == null) throw new IllegalStateException("monitor.jvmargs is missing from the agent's jar");
            // One option a line, as the launcher's @file reads it (none holds a space or a quote).
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().map(String::strip).filter(l -> !l.isEmpty()).toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the monitor's JVM options", e);
        }
    }

    /** The monitor's option that keeps its own memory out of the host's same-page merging ({@code PageMerging.OFF_OPTION}). */
    static final String NO_PAGE_MERGING = "--no-page-merging";

    /**
     * The system property by which the {@code aether} launcher names the monitor's class-data
     * archive, made for the class path this JVM runs with: the classes a monitor loads, the JDK's
     * and Aether's (without it a monitor maps the JDK's archive and loads Aether's classes into
     * metaspace: more private memory per VM).
     */
    static final String ARCHIVE_PROPERTY = "aether.monitor.archive";

    /**
     * {@code aether vm monitor} run with this JVM's java, class path and native access, the
     * monitor's JVM options, and a class-data archive: the one the launcher made and named
     * ({@link #ARCHIVE_PROPERTY}: exactly a monitor's classes, the least memory), or else the
     * dynamic archive {@code dynamicArchive}, which the first monitor to exit writes with the
     * classes it loaded, parsed and verified (a launched standby's: its warm-up's and its VM's),
     * and which every monitor started after maps instead of loading them from the jar again.
     * Under emulation (the nested test host) loading them took seconds of a launch.
     */
    static List<String> defaultPrefix(Path dynamicArchive) {
        String java = ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        String classPath = System.getProperty("java.class.path");
        List<String> prefix = new ArrayList<>(List.of(java));
        prefix.addAll(monitorJvmOptions());
        Optional<Path> named = monitorArchive(System.getProperty(ARCHIVE_PROPERTY));
        if (named.isPresent()) {
            prefix.add("-XX:SharedArchiveFile=" + named.get());
        } else {
            prefix.addAll(classDataArchiveOptions(classPath, dynamicArchive));
        }
        prefix.addAll(List.of("--enable-native-access=ALL-UNNAMED", "-cp", classPath, MAIN_CLASS, "vm", "monitor"));
        return List.copyOf(prefix);
    }

    /**
     * The archive {@code named} when it is a file with content: the launcher leaves an empty one
     * where it could not make it (no KVM), and a JVM given a missing archive would map none at all.
     */
    static Optional<Path> monitorArchive(String named) {
        if (named == null || named.isEmpty()) return Optional.empty();
        Path archive = Path.of(named).toAbsolutePath();
        try {
            return Files.isRegularFile(archive) && Files.size(archive) > 0 ? Optional.of(archive) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /**
     * The JVM options that keep the class-data archive {@code archive} for a class path of jars;
     * none when {@code classPath} names a directory (a build's classes): the JVM archives classes
     * from jars only, and one asked to write an archive with a directory there fails at its exit
     * with status 1, which would read as the monitor's own failure.
     */
    static List<String> classDataArchiveOptions(String classPath, Path archive) {
        for (String entry : classPath.split(File.pathSeparator, -1)) {
            if (entry.isEmpty() || Files.isDirectory(Path.of(entry))) return List.of();
        }
        return List.of("-XX:+AutoCreateSharedArchive", "-XX:SharedArchiveFile=" + archive.toAbsolutePath());
    }

    List<String> prefix() {
        return prefix;
    }

    /** What a monitor runs: a VM booted from its spec, or a snapshot restored. */
    sealed interface Source {
        List<String> arguments();
    }

    /** @param specFile {@code spec}, as written in the VM's folder (what a cold monitor reads) */
    record Boot(VmSpec spec, Path specFile) implements Source {
        public List<String> arguments() {
            return List.of("--spec", specFile.toString());
        }
    }

    /** @param allowClone restore even while another monitor runs from the same snapshot */
    record Restore(Path snapshot, boolean allowClone) implements Source {
        public List<String> arguments() {
            return allowClone ? List.of("--restore", snapshot.toString(), "--allow-clone") : List.of("--restore", snapshot.toString());
        }
    }

    /**
     * A standby monitor refused a restore (a snapshot truncated, corrupt, of another host, whose
     * disk changed, or restored and running already): a cold monitor would refuse it the same way.
     */
    static final class Refused extends IOException {
        Refused(String message) {
            super(message);
        }
    }

    /**
     * The VM's monitor could not be put under its quota: its group could not be made, or the
     * monitor could not be moved into it. Nothing was left running.
     */
    static final class Unconfined extends IOException {
        Unconfined(String message, CgroupException cause) {
            super(message + ": " + cause.getMessage(), cause);
        }
    }

    /**
     * A monitor started, with the group that holds it to its VM's quota (empty where quotas are
     * not enforced), and a standby's answer to the launch (empty for a cold monitor): a standby
     * starts the VM before it answers, so a running one needs no await-started after.
     */
    record Started(Process process, Optional<VmCgroup> group, Optional<ControlResponse.Status> launched) {
    }

    /**
     * The VM's record around a standby's launch: written with the standby as the VM's monitor
     * just before the launch is sent (its sync then runs while the standby launches), and put
     * back as it was when the standby does not take the launch.
     */
    interface LaunchRecord {
        /** The launch is about to be sent to standby process {@code pid}. Must not fail. */
        void launching(long pid);

        /** The standby told of by {@link #launching} refused or did not answer: no monitor runs the VM through it. Must not fail. */
        void notLaunched();
    }

    /**
     * A standby of the pool taken for one VM, with its group claimed (the VM's limits and name),
     * on a thread of its own when taken ahead: the caller writes the VM's folder and admits it
     * meanwhile. {@link #start} launches on it; {@link #close} gives it back to the pool, its group
     * the standby's again, when the start was not reached (the VM refused, or its folder failed).
     */
    final class Taking implements AutoCloseable {
        private final String vmId;
        private final Optional<StandbyGroups.Claim> group;
        private final RecordingClaim claim;
        /** Takes the standby; null when it was taken on the caller's thread. */
        private final Thread thread;
        private Optional<WarmPool.Taken> taken = Optional.empty();
        /** Why the claim failed (the standby stays in the pool); null when it did not. */
        private Exception failure;
        private boolean handedOn;

        /** Takes a standby, ahead on a thread of its own when {@code prepare} is the handover to send it there (null: now). */
        private Taking(String vmId, Quota quota, ControlRequest.Handover prepare) {
            this.vmId = vmId;
            this.group = standbyGroups.map(g -> g.claimFor(vmId, quota));
            this.claim = new RecordingClaim(group.<WarmPool.Claim>map(c -> c).orElse(WarmPool.Claim.NONE));
            this.thread = prepare != null ? Thread.ofVirtual().name("claim-" + vmId).start(() -> take(prepare)) : null;
            if (prepare == null) take(null);
        }

        /**
         * Takes the standby and, when {@code prepare}, sends it the handover awaiting its go: the
         * standby checks and builds the VM while the caller writes the VM's folder.
         */
        private void take(ControlRequest.Handover prepare) {
            try {
                taken = pool.take(claim);
            } catch (IOException | RuntimeException e) {
                failure = e;
                return;
            }
            if (prepare == null || taken.isEmpty()) return;
            try {
                taken.get().prepare(prepare);
                StartTrace.markOn("prepare-sent");
            } catch (IOException e) {
                // Not sent: the launch sends the handover whole, and meets the same failure there.
                LOG.log(Level.FINE, "cannot send the handover of " + vmId + " ahead: " + e.getMessage(), e);
            }
        }

        /** The standby taken, once its claim has ended (empty: none was ready); from now on {@link #start}'s. */
        private Optional<WarmPool.Taken> handOn(LaunchRecord record) throws IOException {
            handedOn = true;
            join();
            claim.record = record;
            if (failure instanceof IOException e) throw e;
            if (failure instanceof RuntimeException e) throw e;
            return taken;
        }

        private void join() {
            if (thread != null) Uninterruptibly.join(thread); // the claim must end before it is used or undone
        }

        /** Gives the standby back, its group the standby's again, unless {@link #start} took it over. */
        @Override
        public void close() {
            if (handedOn) return;
            handedOn = true;
            join();
            if (taken.isEmpty()) return;
            try {
                taken.get().giveBack();
            } catch (IOException e) {
                // The standby was killed and has exited: the group it was given for the VM goes.
                group.ifPresent(StandbyGroups.Claim::abandon);
                LOG.log(Level.WARNING, "cannot give the standby monitor taken for " + vmId + " back to the pool: " + e.getMessage(), e);
            }
        }
    }

    /** The group's claim, and the record told of the launch once {@link #start} has it. */
    private static final class RecordingClaim implements WarmPool.Claim {
        private final WarmPool.Claim group;
        private LaunchRecord record;

        RecordingClaim(WarmPool.Claim group) {
            this.group = group;
        }

        @Override
        public void claim(String standby) throws IOException {
            group.claim(standby);
        }

        @Override
        public void unclaim(String standby) throws IOException {
            group.unclaim(standby);
        }

        @Override
        public void sending(long pid) {
            record.launching(pid);
        }
    }

    /**
     * Takes a standby for VM {@code vmId} under {@code quota} and claims its group, on a thread of
     * its own, for {@link #start} to launch on; empty without a pool.
     */
    Optional<Taking> takeAhead(String vmId, Quota quota, Source source, Path socket, Path consoleLog) {
        return pool == null ? Optional.empty() : Optional.of(new Taking(vmId, quota, handover(source, consoleLog, socket)));
    }

    /** What a standby is sent for {@code source}: the VM's console log and socket in its folder. */
    private static ControlRequest.Handover handover(Source source, Path consoleLog, Path socket) {
        return switch (source) {
            case Boot boot -> new ControlRequest.Launch(boot.spec(), Optional.of(consoleLog), Optional.of(socket));
            case Restore restore -> new ControlRequest.Restore(restore.snapshot().toAbsolutePath(), restore.allowClone(),
                    Optional.of(consoleLog), Optional.of(socket));
        };
    }

    /**
     * Starts a monitor for VM {@code vmId}'s {@code source}, held to {@code quota}: a VM to boot
     * or a snapshot to restore goes to a standby monitor of the pool when one is ready (the one
     * {@code ahead} took, else one taken now), else to a cold one; {@code record} is told about a
     * standby's launch before it is sent.
     *
     * @throws Refused when a standby refused a snapshot (nothing was started, the standby is back in the pool)
     * @throws Unconfined when the monitor could not be put under its quota (nothing runs)
     */
    Started start(Source source, String vmId, Quota quota, Path socket, Path consoleLog, Path monitorLog, LaunchRecord record,
            Optional<Taking> ahead) throws IOException {
        rotate(monitorLog);
        if (pool != null) {
            ControlRequest.Handover handover = handover(source, consoleLog, socket);
            Taking taking = ahead.orElseGet(() -> new Taking(vmId, quota, null));
            try {
                Optional<WarmPool.Taken> taken = taking.handOn(record);
                StartTrace.mark("standby-claimed");
                if (taken.isPresent()) {
                    WarmPool.Launched launched = taken.get().launch(handover);
                    StartTrace.mark("standby-answered");
                    moveErrors(launched.errors(), monitorLog);
                    return new Started(launched.process(), taking.group.flatMap(StandbyGroups.Claim::group), Optional.of(launched.status()));
                }
                LOG.info("no standby monitor is ready for " + vmId + ": starting a cold monitor");
            } catch (MonitorClient.RefusedException e) {
                record.notLaunched();
                if (source instanceof Restore) throw new Refused("the standby monitor refused the spec or snapshot: " + e.reason());
                LOG.log(Level.WARNING, "the standby monitor did not take " + vmId + " (" + e.getMessage() + "): starting a cold monitor");
            } catch (IOException e) {
                record.notLaunched();
                // A standby that did not answer has exited (the pool waited): the group it was given goes.
                taking.group.ifPresent(StandbyGroups.Claim::abandon);
                LOG.log(Level.WARNING, "the standby monitor did not take " + vmId + " (" + e.getMessage() + "): starting a cold monitor");
            }
        }
        Optional<VmCgroup> group;
        try {
            group = quotas.create(vmId, quota);
            StartTrace.mark("cgroup-made");
        } catch (CgroupException e) {
            throw new Unconfined("cannot make its cgroup", e);
        }
        Process process;
        try {
            process = startCold(source, socket, consoleLog, monitorLog);
        } catch (IOException | RuntimeException e) {
            group.ifPresent(Quotas::remove);
            throw e;
        }
        StartTrace.mark("spawned");
        if (group.isPresent()) confine(group.get(), process);
        StartTrace.mark("moved-into-cgroup");
        return new Started(process, group, Optional.empty());
    }

    /**
     * Moves a cold monitor just spawned into its group, at once: memory is charged to the group
     * it was in when it first touched it. A monitor that ended before it could be moved used next
     * to nothing, and its end is reported as any other's; one that runs on outside is killed.
     *
     * @throws Unconfined when it could not be moved (it is killed, its group removed)
     */
    private static void confine(VmCgroup group, Process process) throws Unconfined {
        try {
            group.attach(process.pid());
        } catch (CgroupException e) {
            try {
                if (process.waitFor(1, TimeUnit.SECONDS)) return;
                process.destroyForcibly();
                process.waitFor(Node.EXIT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException i) {
                Thread.currentThread().interrupt();
                process.destroyForcibly();
            }
            Quotas.remove(group);
            throw new Unconfined("cannot put its monitor into its cgroup", e);
        }
    }

    /** The standby's standard error, still open in it, becomes the VM's monitor log (a rename in the data directory). */
    private static void moveErrors(Path errors, Path monitorLog) {
        try {
            Files.move(errors, monitorLog, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            LOG.log(Level.WARNING, "cannot move " + errors + " to " + monitorLog + ": the monitor's messages stay there", e);
        }
    }

    private static void rotate(Path monitorLog) throws IOException {
        if (Files.exists(monitorLog) && Files.size(monitorLog) > MAX_LOG_BYTES) {
            Files.move(monitorLog, monitorLog.resolveSibling(monitorLog.getFileName() + ".1"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** What the pool holds now, with the memory of its ready monitors. */
    NodeInfo.Pool poolInfo() {
        if (pool == null) return new NodeInfo.Pool(0, 0, 0, 0, 0);
        WarmPool.Stats stats = pool.stats();
        long memory = pool.readyPids().stream().mapToLong(Launcher::privateBytes).sum();
        return new NodeInfo.Pool(poolSize, stats.ready(), stats.starting(), stats.failed(), memory);
    }

    /** A process's private memory (Private_Clean + Private_Dirty of /proc/PID/smaps_rollup); 0 once it is gone. */
    static long privateBytes(long pid) {
        try {
            long kib = 0;
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "smaps_rollup"))) {
                if (line.startsWith("Private_Clean:") || line.startsWith("Private_Dirty:")) {
                    kib += Long.parseLong(line.substring(line.indexOf(':') + 1).replace("kB", "").strip());
                }
            }
            return kib * 1024;
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
    }

    /** Ends the standby monitors; launched ones run on. */
    @Override
    public void close() {
        if (pool != null) pool.close();
    }

    private Process startCold(Source source, Path socket, Path consoleLog, Path monitorLog) throws IOException {
        List<String> command = new ArrayList<>(prefix);
        command.addAll(source.arguments());
        command.addAll(List.of("--socket", socket.toString(), "--console-log", consoleLog.toString()));
        return new ProcessBuilder(command)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(monitorLog.toFile()))
                .start();
    }

    /**
     * Why a monitor ended, for the VM's reason.
     *
     * @param status its exit status, when the agent is its parent (known); empty for an adopted one
     */
    static String describeExit(long pid, Optional<Integer> status, Path monitorLog) {
        String said = lastLine(monitorLog).map(l -> ": " + l).orElse("");
        if (status.isEmpty()) return "monitor process " + pid + " vanished" + said;
        int s = status.get();
        return switch (s) {
            case 0 -> "the guest ended (monitor exit status 0)" + said;
            case 2 -> "the monitor refused the spec or snapshot (exit status 2)" + said;
            case 3 -> "the guest crashed (exit status 3)" + said;
            case 4 -> "the monitor failed (exit status 4)" + said;
            default -> s > 128
                    ? "monitor process " + pid + " was killed by signal " + (s - 128) + " (exit status " + s + ")" + said
                    : "monitor process " + pid + " exited with status " + s + said;
        };
    }

    /** The last line of text in {@code log} (printable, at most 200 characters), if there is one. */
    static Optional<String> lastLine(Path log) {
        try (RandomAccessFile f = new RandomAccessFile(log.toFile(), "r")) {
            long length = f.length();
            int n = (int) Math.min(length, TAIL_BYTES);
            byte[] tail = new byte[n];
            f.seek(length - n);
            f.readFully(tail);
            List<String> lines = new String(tail, StandardCharsets.UTF_8).lines().map(String::strip).filter(l -> !l.isEmpty()).toList();
            if (lines.isEmpty()) return Optional.empty();
            String last = lines.getLast().codePoints().map(c -> c >= ' ' && c < 0x7F ? c : '?')
                    .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString();
            return Optional.of(last.length() > 200 ? last.substring(0, 200) + "..." : last);
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** Whether {@code pid} is a live process (a zombie is not: it has ended, only its parent has not reaped it). */
    static boolean alive(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            // "pid (comm) S ...": the state follows the last ')' (comm may hold parentheses).
            int close = stat.lastIndexOf(')');
            char state = close >= 0 && close + 2 < stat.length() ? stat.charAt(close + 2) : '?';
            return state != 'Z' && state != 'X';
        } catch (IOException e) {
            return false;
        }
    }
}
