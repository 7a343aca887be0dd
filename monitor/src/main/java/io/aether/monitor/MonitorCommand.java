package io.aether.monitor;

import io.aether.common.FieldException;
import io.aether.monitorapi.ControlCodec;
import io.aether.monitorapi.ControlRequest;
import io.aether.monitorapi.ControlResponse;
import io.aether.monitorapi.MonitorClient;
import io.aether.monitorapi.VmState;
import io.aether.monitorapi.WarmPool;
import io.aether.sys.Errno;
import io.aether.sys.Libc;
import io.aether.sys.NativeCallException;
import io.aether.vmm.ConsoleSession;
import io.aether.vmm.ExitPathWarmUp;
import io.aether.vmm.KvmHost;
import io.aether.vmm.MicroVm;
import io.aether.vmm.StopReason;
import io.aether.vmm.VmCreationException;
import io.aether.vmm.VmShell;
import io.aether.vmm.VmSnapshot;
import io.aether.snapshot.SnapshotException;
import io.aether.vmspec.VmSpec;
import io.aether.vmspec.VmSpecJson;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * {@code aether vm monitor}: one VM's monitor process, run by a node agent (or by hand). It reads
 * a {@link VmSpec} in its JSON form, runs the VM, and serves the control socket
 * ({@link io.aether.monitorapi.MonitorClient} is its client) until the VM stops. Parsed without
 * picocli, like {@code vm run}, for the same start-up reason.
 */
public final class MonitorCommand {

    public static final int STATUS_BAD_ARGUMENTS = 2;
    /** Recent console output kept for clients that attach later. */
    static final int CONSOLE_RING_BYTES = 64 * 1024;
    /** Where a console log rotates: a guest that prints for ever holds at most twice this on disk. */
    static final long CONSOLE_LOG_BYTES = 16L << 20;

    public static final String HELP = """
            Usage: aether vm monitor --spec FILE --socket PATH [--console-log FILE] [--no-page-merging]
                   aether vm monitor --restore DIR --socket PATH [--console-log FILE] [--paused] [--allow-clone] [--no-page-merging]
               or: aether vm monitor --standby --socket PATH [--no-page-merging]

            Run one microVM in the background and control it through a Unix socket: the node
            agent's way to run VMs, one monitor process each. With --restore, the VM is the
            snapshot in DIR (written by the socket's snapshot request), going on where it stopped.

            With --standby the monitor starts without a VM: it warms up (it runs throwaway stub
            VMs, builds a Linux-shaped one and hands a Linux boot's kinds of device access to
            throwaway devices, so that KVM, every native call, the kernel's load path and the
            exits' paths are ready), makes the next VM's shell (on x86, the KVM VM and its first
            vCPU, which a stub guest's launch or restore builds on), serves the socket, prints
            'standby PID PATH' on standard output, and waits for a launch request carrying the
            spec, or a restore request naming a snapshot directory (either optionally with a
            console log and a new socket path, to which the socket is renamed). It then runs that
            VM as if started with --spec or --restore, and answers the request once the VM runs: a
            VM starts in a few milliseconds instead of the JVM's start-up. A request that is
            refused (a bad spec or snapshot, a VM the host will not build, a snapshot restored and
            running already, a log or path it cannot take) leaves it on standby. A standby monitor
            exits (status 0, socket removed) when its parent process dies; once launched it no
            longer depends on its parent.

            The monitor leaves its parent's session (setsid), reads nothing from standard input,
            and keeps running when whoever started it dies. The guest's console output is kept
            (the last\s""" + CONSOLE_RING_BYTES / 1024 + """
            \sKiB) for clients that attach to it through the socket.

            Options:
                  --restore DIR   Restore the snapshot in DIR instead: its memory file is mapped
                                  copy-on-write (not copied), every state checked and loaded.
                                  A missing, truncated, corrupt or other-version snapshot, a
                                  memory file of the wrong size, a disk missing or resized since,
                                  or a host CPU without a feature the guest used is refused with
                                  the reason, and nothing starts. While the restored VM runs,
                                  its monitor holds DIR/restore.lock: a second restore of the
                                  same snapshot is refused, since two guests would share their
                                  random number generators' state, MAC addresses and every
                                  secret in memory.
                  --paused        With --restore: stay paused until a resume request.
                  --allow-clone   With --restore: restore even while another restore of DIR
                                  runs (and take no lock). Only for guests that reseed their
                                  randomness and change their identity after a restore.
                  --spec FILE     The VM in its JSON form, for example
                                  {"boot": {"stub": "count"}, "memory": "16M"} or
                                  {"boot": {"kernel": "/vm/vmlinuz", "initrd": "/vm/initrd.gz"},
                                   "memory": "512M", "vcpus": 2, "disks": [{"path": "/vm/root.img"}]}
                  --socket PATH   The control socket to create (mode 0600; removed on exit).
                                  Requests, one JSON line each: state,
                                  await-started, pause, resume, stop, metrics,
                                  snapshot, console-attach, console-detach,
                                  launch, restore (awaitGo: then go on the
                                  same connection; monitor-api/README.md).
                  --standby       Start without a VM and wait for a launch or restore request.
                  --console-log FILE
                                  Also append the console output to FILE; at\s""" + (CONSOLE_LOG_BYTES >> 20) + """
            \sMiB it becomes
                                  FILE.1 (replacing the last one) and FILE starts again.
                  --no-page-merging
                                  Keep the monitor's own memory out of the kernel's same-page
                                  merging (KSM). By default it is offered (the guest's memory
                                  never is): where the host runs KSM, the pages that are the
                                  same in every monitor are shared between them. Its heap may
                                  hold copies of guest data (console output, device buffers).
              -h, --help          Show this help and exit.

            Exit status (as for 'aether vm run'):
              0        the guest powered off, rebooted or halted, or a stop request ended it
              2        bad arguments, spec or snapshot (nothing was started)
              3        the guest crashed (triple fault, KVM emulation failure or failed entry)
              4        the monitor failed, or this host cannot run the guest
              130/143  stopped by SIGINT/SIGTERM (the VM was stopped cleanly first)
            """;

    /** Rounds of a standby's warm-up through the request path, and throwaway VMs it runs. */
    static final int WARM_UP_ROUNDS = 300;
    static final int WARM_UP_VMS = 2;
    /** Throwaway restores of the warm-up's snapshot: the VM's restore (KVM's state loaded, each device's) compiled, not only linked. */
    static final int WARM_UP_RESTORES = 8;
    /** Handovers awaiting their go sent to a scratch socket: the go's classes loaded and its path linked. */
    static final int WARM_UP_GOS = 50;
    /** Bytes the warm-up's counting stub prints before it is snapshotted: past the JIT's threshold in exits. */
    static final int WARM_UP_COUNTER_BYTES = 150;
    /** How often a standby monitor checks that its parent lives. */
    static final long PARENT_POLL_MILLIS = 100;

    private static volatile boolean signalled;

    private MonitorCommand() {
    }

    /** Set when SIGINT/SIGTERM started the JVM's shutdown; the signal's exit status then stands. */
    public static boolean signalled() {
        return signalled;
    }

    record Options(boolean help, boolean standby, Path spec, Path socket, Path consoleLog, Path restore, boolean paused, boolean allowClone,
                   boolean pageMerging) {

        static Options parse(List<String> args) {
            boolean help = false;
            boolean standby = false;
            Path spec = null;
            Path socket = null;
            Path consoleLog = null;
            Path restore = null;
            boolean paused = false;
            boolean allowClone = false;
            boolean pageMerging = true;
            for (int i = 0; i < args.size(); i++) {
                String arg = args.get(i);
                int eq = arg.startsWith("--") ? arg.indexOf('=') : -1;
                String name = eq < 0 ? arg : arg.substring(0, eq);
                switch (name) {
                    case "-h", "--help" -> help = true;
                    case "--standby" -> standby = true;
                    case "--paused" -> paused = true;
                    case "--allow-clone" -> allowClone = true;
                    case PageMerging.OFF_OPTION -> pageMerging = false;
                    case "--spec", "--socket", "--console-log", "--restore" -> {
                        String value = eq >= 0 ? arg.substring(eq + 1) : i + 1 < args.size() ? args.get(++i) : null;
                        if (value == null || value.isEmpty()) throw new IllegalArgumentException(name + " needs a path");
                        Path given = switch (name) {
                            case "--spec" -> spec;
                            case "--socket" -> socket;
                            case "--restore" -> restore;
                            default -> consoleLog;
                        };
                        if (given != null) throw new IllegalArgumentException("option '" + name + "' should be given only once");
                        switch (name) {
                            case "--spec" -> spec = Path.of(value);
                            case "--socket" -> socket = Path.of(value);
                            case "--restore" -> restore = Path.of(value);
                            default -> consoleLog = Path.of(value);
                        }
                    }
                    default -> throw new IllegalArgumentException((arg.startsWith("-") ? "unknown option '" + name + "'" : "unexpected argument '" + arg + "'")
                            + " (see 'aether vm monitor --help')");
                }
            }
            if (standby && (spec != null || restore != null)) throw new IllegalArgumentException("--standby takes no --spec or --restore: the launch request carries the spec");
            if (standby && consoleLog != null) throw new IllegalArgumentException("--standby takes no --console-log: the launch request carries it");
            if (!help && spec != null && restore != null) throw new IllegalArgumentException("--spec and --restore exclude each other");
            if (!help && !standby && spec == null && restore == null) throw new IllegalArgumentException("--spec is required (or --restore, or --standby)");
            if (!help && restore == null && (paused || allowClone)) {
                throw new IllegalArgumentException((paused ? "--paused" : "--allow-clone") + " goes with --restore");
            }
            if (!help && socket == null) throw new IllegalArgumentException("--socket is required");
            return new Options(help, standby, spec, socket, consoleLog, restore, paused, allowClone, pageMerging);
        }
    }

    /** Reads the spec file: bounded, UTF-8, every complaint prefixed with the file's name. */
    static VmSpec readSpec(Path file) {
        try {
            if (!Files.exists(file)) throw new IllegalArgumentException(file + ": no such file");
            if (!Files.isRegularFile(file)) throw new IllegalArgumentException(file + ": not a regular file");
            byte[] bytes;
            try (InputStream in = Files.newInputStream(file)) {
                // At most one byte more than a spec may have: enough to tell it is too long, whatever the file's size now.
                bytes = in.readNBytes(VmSpecJson.MAX_CHARS + 1);
            }
            if (bytes.length > VmSpecJson.MAX_CHARS) {
                throw new IllegalArgumentException(file + ": spec: more than a spec may have (" + VmSpecJson.MAX_CHARS + " bytes)");
            }
            return VmSpecJson.read(StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes)).toString());
        } catch (FieldException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException(file + ": spec: not UTF-8", e);
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    /** Runs the command line (without the leading {@code vm monitor}) and returns the exit status. */
    public static int run(List<String> args) throws InterruptedException {
        Options options;
        try {
            options = Options.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("aether vm monitor: " + e.getMessage());
            return STATUS_BAD_ARGUMENTS;
        }
        if (options.help()) {
            System.out.print(HELP);
            System.out.flush();
            return 0;
        }
        if (options.pageMerging()) PageMerging.enable("aether vm monitor", System.err);
        if (options.restore() != null) return restore(options);
        if (options.standby()) return runStandby(options.socket());
        VmSpec spec;
        try {
            spec = readSpec(options.spec()).withMacsFor(UUID.randomUUID().toString());
            // Files first, so that a missing kernel is named before what the host can boot.
            spec.checkHost(VmSpec.MAX_VCPUS);
        } catch (FieldException e) {
            System.err.println("aether vm monitor: " + options.spec() + ": " + e.getMessage());
            return STATUS_BAD_ARGUMENTS;
        } catch (IllegalArgumentException e) {
            System.err.println("aether vm monitor: " + e.getMessage());
            return STATUS_BAD_ARGUMENTS;
        }
        try {
            KvmHost.requireLinuxBootable(spec, Path.of("/"));
        } catch (VmCreationException e) {
            System.err.println("aether vm monitor: " + e.getMessage());
            return new StopReason.HostError(e.getMessage()).exitStatus();
        }
        ConsoleLog log;
        try {
            log = openLog(options);
        } catch (IOException e) {
            System.err.println("aether vm monitor: --console-log " + options.consoleLog() + ": cannot open: " + e.getMessage());
            return STATUS_BAD_ARGUMENTS;
        }
        ConsoleRing ring = new ConsoleRing(CONSOLE_RING_BYTES);
        return serve(options, spec, null, ring, log, console(ring, log));
    }

    /** The guest's console: the ring first (attached clients), then the log, flushed by line. */
    static OutputStream console(ConsoleRing ring, ConsoleLog log) {
        return ConsoleSession.lineFlushing(consoleTarget(ring, log));
    }

    /** Where {@link #console}'s bytes go: the ring, and the log when there is one. */
    static OutputStream consoleTarget(ConsoleRing ring, ConsoleLog log) {
        return log == null ? ring : tee(ring, log);
    }

    private static ConsoleLog openLog(Options options) throws IOException {
        return options.consoleLog() == null ? null : new ConsoleLog(options.consoleLog(), CONSOLE_LOG_BYTES);
    }

    /**
     * {@code --restore}: the snapshot checked and its VM built before anything else starts (no
     * socket, no detaching), so that a refusal leaves nothing behind.
     */
    private static int restore(Options options) throws InterruptedException {
        Path dir = options.restore();
        VmSpec spec;
        try {
            spec = VmSnapshot.spec(dir);
            KvmHost.requireLinuxBootable(spec, Path.of("/"));
        } catch (SnapshotException e) {
            System.err.println("aether vm monitor: --restore " + e.getMessage());
            return STATUS_BAD_ARGUMENTS;
        } catch (VmCreationException e) {
            System.err.println("aether vm monitor: " + e.getMessage());
            return new StopReason.HostError(e.getMessage()).exitStatus();
        }
        FileChannel lock = null;
        if (!options.allowClone()) {
            try {
                lock = RestoreLock.acquire(dir);
            } catch (IOException e) {
                System.err.println("aether vm monitor: --restore " + e.getMessage());
                return STATUS_BAD_ARGUMENTS;
            }
        }
        ConsoleLog log;
        try {
            log = openLog(options);
        } catch (IOException e) {
            System.err.println("aether vm monitor: --console-log " + options.consoleLog() + ": cannot open: " + e.getMessage());
            RestoreLock.release(lock);
            return STATUS_BAD_ARGUMENTS;
        }
        ConsoleRing ring = new ConsoleRing(CONSOLE_RING_BYTES);
        OutputStream console = console(ring, log);
        MicroVm vm;
        try {
            vm = VmSnapshot.restore(dir, console, null, System.err);
        } catch (SnapshotException e) {
            System.err.println("aether vm monitor: --restore " + e.getMessage());
            if (log != null) log.close();
            RestoreLock.release(lock);
            return STATUS_BAD_ARGUMENTS;
        }
        try {
            return serve(options, spec, vm, ring, log, console);
        } finally {
            // Held until the process ends (the kernel drops it then, however it ends); unreachable, its cleaner would close it.
            Reference.reachabilityFence(lock);
        }
    }

    /** Serves the control socket and runs the VM ({@code restored}, or one built from {@code spec}); returns the exit status. */
    private static int serve(Options options, VmSpec spec, MicroVm restored, ConsoleRing ring, ConsoleLog log, OutputStream console)
            throws InterruptedException {
        detachFromSession();
        Monitor monitor = new Monitor(spec, ring, log);
        ControlServer server;
        try {
            server = ControlServer.start(options.socket(), monitor::handle, ring);
        } catch (IOException e) {
            System.err.println("aether vm monitor: --socket " + e.getMessage());
            if (restored != null) restored.close();
            if (log != null) log.close();
            return STATUS_BAD_ARGUMENTS;
        }
        monitor.serving(server);
        CountDownLatch done = new CountDownLatch(1);
        Thread hook = shutdownHook(() -> monitor.requestStop(new StopReason.Requested("signal")), done);
        return runServed(spec, restored, options.paused() ? Start.PAUSED : Start.RUNNING, monitor, server, ring, log, console, hook, done);
    }

    /**
     * {@code --standby}: warms up, serves the socket, says so on standard output, and waits for a
     * launch (then runs its VM as {@link #run} does), for a signal, or for its parent to die.
     */
    private static int runStandby(Path socket) throws InterruptedException {
        // Read first: a parent that dies during the warm-up, or before the watcher runs, is still seen to go.
        Optional<Long> parent = ProcessHandle.current().parent().map(ProcessHandle::pid);
        detachFromSession();
        // In the background until launched: a pool's refill must not slow the VM that just started.
        boolean niced = StandbyPriority.lower();
        try {
            warmUp();
        } catch (RuntimeException e) {
            System.err.println("aether vm monitor: standby: the warm-up VM failed: " + e.getMessage());
            return new StopReason.HostError(e.getMessage()).exitStatus();
        }
        ConsoleRing ring = new ConsoleRing(CONSOLE_RING_BYTES);
        Standby standby = new Standby(ring, CONSOLE_LOG_BYTES, niced, shellAhead());
        ControlServer server;
        try {
            server = ControlServer.start(socket, standby::handle, ring);
        } catch (IOException e) {
            System.err.println("aether vm monitor: --socket " + e.getMessage());
            return STATUS_BAD_ARGUMENTS;
        }
        standby.serving(server);
        try {
            warmUpSocket(socket);
        } catch (IllegalStateException e) {
            System.err.println("aether vm monitor: standby: " + e.getMessage());
            server.close();
            return new StopReason.HostError(e.getMessage()).exitStatus();
        }
        // The acceptor alone back at nice 0, once the socket's warm-up is done: it only wakes for a
        // connection, and the threads it starts for them inherit its priority, so a launch's accept,
        // read and parse no longer wait at nice 10 for a core (on a loaded host, 1 to 3 ms).
        if (niced) StandbyPriority.raise(server.acceptorTid());
        CountDownLatch done = new CountDownLatch(1);
        Thread hook = shutdownHook(() -> {
            Monitor launched = standby.giveUp();
            if (launched != null) launched.requestStop(new StopReason.Requested("signal"));
        }, done);
        Thread.ofPlatform().name("standby-parent").daemon().start(() -> giveUpWhenOrphaned(standby, parent));
        System.out.println(WarmPool.READY_LINE_PREFIX + ProcessHandle.current().pid() + " " + socket);
        System.out.flush();
        Optional<Standby.Launched> launched = standby.await();
        if (launched.isEmpty()) {
            ring.close();
            server.close();
            done.countDown();
            removeHook(hook);
            return 0;
        }
        Standby.Launched l = launched.get();
        standby.raiseAll();
        try {
            return runServed(l.spec(), l.vm(), Start.STARTED, l.monitor(), server, ring, l.log(), l.console(), hook, done);
        } finally {
            // Held until the process ends, as --restore holds it.
            Reference.reachabilityFence(l.restoreLock());
        }
    }

    /**
     * The launch's VM made ahead as far as no spec decides ({@link VmShell}): after the warm-up's
     * VMs are closed, so that none of their teardown is left for it. None where the host makes
     * none or refuses it now (the launch then builds its whole VM).
     */
    private static VmShell shellAhead() {
        try {
            return VmShell.prebuild().orElse(null);
        } catch (RuntimeException e) {
            System.err.println("aether vm monitor: standby: cannot make the VM's shell ahead: " + e.getMessage());
            return null;
        }
    }

    /**
     * A standby monitor is its parent's (a node agent's pool): when the parent dies the kernel
     * gives the process a new parent, and the standby ends rather than wait for a launch that
     * nobody will send. Polled: a parent-death signal would follow the thread that forked, not
     * the process.
     */
    private static void giveUpWhenOrphaned(Standby standby, Optional<Long> parent) {
        while (standby.waiting()) {
            try {
                Thread.sleep(PARENT_POLL_MILLIS);
            } catch (InterruptedException e) {
                return;
            }
            if (!ProcessHandle.current().parent().map(ProcessHandle::pid).equals(parent)) {
                standby.giveUp();
                return;
            }
        }
    }

    /**
     * What a standby does before it says it is ready: a throwaway stub VM through the path a
     * launched one takes (the launch request's JSON, the spec's checks, the VM built, run to its
     * end and closed, the status answered), and one snapshotted and restored, so that the
     * classes are loaded, the native calls linked and {@code /dev/kvm} proven before a VM waits
     * on them.
     */
    static void warmUp() throws InterruptedException {
        VmSpec spec = VmSpec.stub(VmSpec.StubProgram.HELLO);
        String line = ControlCodec.write(new ControlRequest.Launch(spec, Optional.empty(), Optional.of(Path.of("/vm.sock")))).strip();
        // Often enough for the JIT to compile the request's path (its thresholds are a few hundred calls).
        for (int i = 0; i < WARM_UP_ROUNDS; i++) {
            ControlRequest.Launch launch = (ControlRequest.Launch) ControlCodec.readRequest(line);
            launch.spec().withMacsFor(UUID.randomUUID().toString()).checkHost(VmSpec.MAX_VCPUS);
            ControlCodec.readResponse(ControlCodec.write(new Monitor(launch.spec(), new ConsoleRing(64), null).status()).strip());
        }
        Path dir;
        try {
            dir = Files.createTempDirectory("aether-standby-warm-up-");
        } catch (IOException e) {
            throw new IllegalStateException("cannot make the warm-up's temporary directory: " + e.getMessage(), e);
        }
        try {
            for (int i = 0; i < WARM_UP_VMS; i++) {
                ConsoleRing ring = new ConsoleRing(CONSOLE_RING_BYTES);
                // Printing into a console log, as a launched VM does: opening one was 2 to 5 ms of a launch when its code ran cold.
                ConsoleLog log = new ConsoleLog(dir.resolve("console.log"), CONSOLE_LOG_BYTES);
                Monitor monitor = new Monitor(spec, ring, log);
                int status = runVm(spec, null, Start.RUNNING, monitor, console(ring, log));
                if (status != 0) throw new IllegalStateException("exit status " + status + ": " + monitor.status().reason().orElse("no reason"));
                monitor.metrics();
                ring.close();
                log.close();
            }
            warmUpRestore(dir.resolve("snapshot"));
            if (LINUX_WARM_UP_ARCH.equals(System.getProperty("os.arch"))) {
                warmUpLinuxBuild(dir);
                // The device accesses of a Linux boot that the stubs never make, compiled before a boot waits on them.
                ExitPathWarmUp.run(WARM_UP_ROUNDS);
            }
        } catch (IOException e) {
            throw new IllegalStateException("the warm-up's console log, snapshot or restore failed: " + e.getMessage(), e);
        } finally {
            deleteTree(dir);
        }
    }

    private static void deleteTree(Path dir) {
        try (java.util.stream.Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        } catch (IOException e) {
            System.err.println("aether vm monitor: standby: cannot remove the warm-up's " + dir + ": " + e.getMessage());
        }
    }

    /**
     * A throwaway counting stub snapshotted into {@code snapshot} and restored: a standby may be
     * handed a snapshot, and the restore's code (the state file read and checked, the memory
     * file mapped, every device's state loaded) is then loaded and linked.
     */
    private static void warmUpRestore(Path snapshot) throws IOException, InterruptedException {
        // Two exits a byte (LSR, THR): enough that the vCPU's own exit loop (KVM_RUN, the exit's
        // decoding and completion) is compiled before a launched boot's exits wait on it.
        CountDownLatch counted = new CountDownLatch(WARM_UP_COUNTER_BYTES);
        try (MicroVm vm = MicroVm.create(VmSpec.stub(VmSpec.StubProgram.COUNT), signal(counted), null)) {
            vm.start(false);
            if (!counted.await(10, TimeUnit.SECONDS)) {
                throw new IllegalStateException("the warm-up counter printed " + (WARM_UP_COUNTER_BYTES - counted.getCount()) + " of "
                        + WARM_UP_COUNTER_BYTES + " bytes");
            }
            vm.pause();
            vm.snapshot(snapshot, null);
        }
        // A restore's launch request, its lock and its state file's read and checks, often enough
        // for the JIT to compile them: with one restore here a launched restore still ran them
        // cold, 2 to 3 ms of its time (docs/BENCHMARKS.md (d), "The restore path warmed").
        String request = ControlCodec.write(new ControlRequest.Restore(snapshot.toAbsolutePath(), false, Optional.empty(),
                Optional.of(Path.of("/vm.sock")))).strip();
        for (int i = 0; i < WARM_UP_ROUNDS; i++) {
            ControlRequest.Restore restore = (ControlRequest.Restore) ControlCodec.readRequest(request);
            RestoreLock.release(RestoreLock.acquire(restore.snapshot()));
            VmSnapshot.spec(restore.snapshot());
        }
        for (int i = 0; i < WARM_UP_RESTORES; i++) {
            CountDownLatch countedOn = new CountDownLatch(1);
            // Taken as a restore's launch takes it: on cold code the lock was about 6 ms of each restore.
            FileChannel lock = RestoreLock.acquire(snapshot);
            try (MicroVm vm = VmSnapshot.restore(snapshot, signal(countedOn), null, null)) {
                vm.start(false);
                if (!countedOn.await(10, TimeUnit.SECONDS)) throw new IllegalStateException("the restored warm-up counter printed nothing");
            } finally {
                RestoreLock.release(lock);
            }
        }
    }

    /** The protected-mode kernel's size in {@link #minimalBzImage}. */
    static final int MINIMAL_KERNEL_BYTES = 8192;

    /** The architecture whose Linux boot path {@link #warmUpLinuxBuild} knows (a bzImage's). */
    static final String LINUX_WARM_UP_ARCH = "amd64";

    /**
     * A throwaway VM built, never started, the way a Linux guest's is: a bzImage loaded with an
     * initrd and a command line, its zero page, ACPI tables and a virtio disk. The stub VMs take
     * none of that path, so a standby's first Linux launch loaded and linked it all: in the nested
     * test host, where that runs emulated, about a second of the create (docs/BENCHMARKS.md (a)).
     */
    static void warmUpLinuxBuild(Path dir) throws IOException {
        Path kernel = Files.write(dir.resolve("warm-up.bzImage"), minimalBzImage());
        Path initrd = Files.write(dir.resolve("warm-up.initrd"), new byte[512]);
        Path disk = Files.write(dir.resolve("warm-up.img"), new byte[4096]);
        VmSpec spec = VmSpec.linux(kernel)
                .withBoot(new VmSpec.Boot.Linux(kernel, Optional.of(initrd), VmSpec.DEFAULT_CMDLINE))
                .withDisks(List.of(new VmSpec.Disk(disk, false)));
        // A Linux launch's request and checks, as warmUp's stub launch: in the nested host, cold, reading a
        // Linux spec's fields was 10 to 20 ms of a launch. (The host's Linux check is not asked: on a PVM host
        // it reads /proc/cpuinfo with java.util.regex, which a standby would then hold for nothing.)
        String line = ControlCodec.write(new ControlRequest.Launch(spec, Optional.of(dir.resolve("console.log")),
                Optional.of(Path.of("/vm.sock")))).strip();
        for (int i = 0; i < WARM_UP_ROUNDS; i++) {
            ControlRequest.Launch launch = (ControlRequest.Launch) ControlCodec.readRequest(line);
            launch.spec().withMacsFor(UUID.randomUUID().toString()).checkHost(VmSpec.MAX_VCPUS);
        }
        try (MicroVm vm = MicroVm.create(spec, OutputStream.nullOutputStream(), null)) {
            vm.state();
        }
    }

    /**
     * A small file Linux's boot protocol (2.15, the x86 boot.rst) accepts as a bzImage with a
     * 64-bit entry: one setup sector, then 8 KiB of protected-mode code (zeros, never run): more
     * than the loader reads of a kernel to parse its header, so that it is loaded from the file
     * into guest memory as a real kernel is.
     */
    static byte[] minimalBzImage() {
        ByteBuffer image = ByteBuffer.allocate(2 * 512 + MINIMAL_KERNEL_BYTES).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        image.put(0x1F1, (byte) 1);                 // setup_sects
        image.putInt(0x1F4, MINIMAL_KERNEL_BYTES / 16); // syssize, in 16-byte paragraphs
        image.putShort(0x1FE, (short) 0xAA55);       // boot_flag
        image.put(0x200, (byte) 0xEB).put(0x201, (byte) 0x66); // jump over the header, which ends at 0x268
        image.putInt(0x202, 0x5372_6448);            // "HdrS"
        image.putShort(0x206, (short) 0x020F);       // version 2.15
        image.put(0x211, (byte) 0x01);               // loadflags: LOADED_HIGH
        image.putInt(0x22C, 0x7FFF_FFFF);            // initrd_addr_max
        image.putInt(0x230, 0x20_0000);              // kernel_alignment
        image.put(0x234, (byte) 1);                  // relocatable_kernel
        image.putShort(0x236, (short) 0x0001);       // xloadflags: XLF_KERNEL_64
        image.putInt(0x238, 2048);                   // cmdline_size
        image.putInt(0x260, 0x10_0000);              // init_size
        return image.array();
    }

    /** A console that counts {@code printed} down by each byte the guest prints, and drops them. */
    private static OutputStream signal(CountDownLatch printed) {
        return new OutputStream() {
            @Override
            public void write(int b) {
                printed.countDown();
            }

            @Override
            public void write(byte[] data, int offset, int length) {
                for (int i = 0; i < length; i++) printed.countDown();
            }
        };
    }

    /**
     * The control socket's path (accept, read, parse, answer) taken often enough to be compiled,
     * and a launch's move of a socket made once, on a throwaway socket beside the real one.
     */
    private static void warmUpSocket(Path socket) {
        MonitorClient self = new MonitorClient(socket, Duration.ofSeconds(5));
        Path scratch = socket.resolveSibling(socket.getFileName() + ".warm-up");
        try {
            for (int i = 0; i < WARM_UP_ROUNDS; i++) self.call(new ControlRequest.State());
            // A handover awaiting its go, as the agent sends one: the go's read on the server's side.
            VmSpec spec = VmSpec.stub(VmSpec.StubProgram.HELLO);
            ControlResponse.Status prepared = new ControlResponse.Status(VmState.RUNNING, Optional.empty(), spec, 0);
            try (ControlServer moved = ControlServer.start(scratch, r -> ControlServer.awaitGo() ? prepared : new ControlResponse.Standby(0),
                    new ConsoleRing(64))) {
                MonitorClient scratchClient = new MonitorClient(scratch, Duration.ofSeconds(5));
                for (int i = 0; i < WARM_UP_GOS; i++) scratchClient.prepare(new ControlRequest.Launch(spec, Optional.empty(), Optional.empty())).go();
                moved.moveTo(scratch.resolveSibling(scratch.getFileName() + ".moved"));
            }
        } catch (IOException e) {
            throw new IllegalStateException("the standby's own socket does not answer: " + e.getMessage(), e);
        }
    }

    /** SIGINT/SIGTERM run {@code stop}; the hook then holds the JVM until {@code done}, when the socket is gone too. */
    private static Thread shutdownHook(Runnable stop, CountDownLatch done) {
        Thread hook = new Thread(() -> {
            signalled = true;
            stop.run();
            try {
                done.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        Runtime.getRuntime().addShutdownHook(hook);
        return hook;
    }

    private static void removeHook(Thread hook) {
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // Shutdown is already in progress: the hook is running and waits for done.
        }
    }

    /** Runs the VM behind its served socket, then cleans up: the ring, the log, the socket, the hook. */
    private static int runServed(VmSpec spec, MicroVm first, Start start, Monitor monitor, ControlServer server,
            ConsoleRing ring, ConsoleLog log, OutputStream console, Thread hook, CountDownLatch done) throws InterruptedException {
        try {
            return runVm(spec, first, start, monitor, console);
        } finally {
            ring.close();
            if (log != null) log.close();
            server.close();
            done.countDown();
            removeHook(hook);
        }
    }

    /**
     * Leaves the parent's session and process group: a hang-up of its terminal or a signal to
     * its group does not reach the VM. A process that already leads a group (started by a shell
     * with job control) cannot; it says so and runs on.
     */
    private static void detachFromSession() {
        try {
            Libc.setsid();
        } catch (NativeCallException e) {
            if (e.errno() != Errno.EPERM) throw e;
            System.err.println("aether vm monitor: still in the parent's session (it leads a process group); start it with setsid(1) to detach");
        }
    }

    /** Both: the ring first (attached clients), then the log. Neither throws. */
    private static OutputStream tee(ConsoleRing ring, ConsoleLog log) {
        return new OutputStream() {
            @Override
            public void write(int b) {
                ring.write(b);
                log.write(b);
            }

            @Override
            public void write(byte[] data, int offset, int length) {
                ring.write(data, offset, length);
                log.write(data, offset, length);
            }

            @Override
            public void flush() {
                log.flush();
            }
        };
    }

    /** How the run loop starts the first VM: running, paused (a restore asked so), or not at all (a standby's launch started it). */
    enum Start { RUNNING, PAUSED, STARTED }

    /**
     * The VM's life: {@code first} (or one built from {@code spec} when null) started as
     * {@code start} says, run, rebuilt after a reboot when the spec says so; returns the exit status.
     */
    private static int runVm(VmSpec spec, MicroVm first, Start start, Monitor monitor, OutputStream console) throws InterruptedException {
        StopReason reason = null;
        try {
            boolean restarted = false;
            while (true) {
                MicroVm vm;
                try {
                    vm = first != null && !restarted ? first : MicroVm.create(spec, console, null);
                } catch (IllegalArgumentException e) {
                    System.err.println("aether vm monitor: " + e.getMessage());
                    reason = new StopReason.HostError(e.getMessage());
                    return STATUS_BAD_ARGUMENTS;
                } catch (VmCreationException | NativeCallException e) {
                    System.err.println("aether vm monitor: " + e.getMessage());
                    reason = new StopReason.HostError(e.getMessage());
                    return reason.exitStatus();
                }
                try {
                    if (restarted || start != Start.STARTED) {
                        monitor.running(vm, restarted);
                        vm.start(start == Start.PAUSED && !restarted);
                        monitor.started();
                    }
                    reason = vm.awaitStop();
                } finally {
                    vm.close();
                    try {
                        console.flush();
                    } catch (IOException e) {
                        // The ring never fails a write.
                    }
                }
                if (reason instanceof StopReason.Reboot && spec.onReboot() == VmSpec.OnReboot.RESTART && !monitor.shuttingDown()) {
                    restarted = true;
                    continue;
                }
                if (Monitor.failure(reason)) System.err.println("aether: " + reason.message());
                return reason.exitStatus();
            }
        } finally {
            monitor.finished(reason != null ? reason : new StopReason.HostError("the monitor ended"));
        }
    }
}
