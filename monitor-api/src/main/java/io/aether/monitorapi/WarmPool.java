package io.aether.monitorapi;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Standby monitors ({@code aether vm monitor --standby}) kept started, so that a VM starts without
 * waiting for a JVM: {@link #launch} hands the VM to a ready one and the pool starts another in
 * the background, once the launched monitor's threads want less than half a CPU (its guest has
 * booted, or waits) or {@link Config#bootWait()} has passed since the first launch it waits for:
 * a new standby's JVM start and warm-up would otherwise take the CPU the guest boots on. A
 * standby that dies is reaped and replaced; one that fails to start is retried
 * after a delay that doubles with each failure in a row (up to {@link #MAX_RETRY_DELAY}), so a
 * broken install costs a process every few seconds, not a fork storm.
 *
 * <p>The pool owns its directory: each standby's socket and standard error live there as
 * {@code standby-PID-N.sock} and {@code .err}. A launched monitor's socket moves where the
 * launch says; its standard error stays the file {@link Launched#errors()} names, for the caller
 * to move beside the VM. Standby monitors exit when the pool's process dies (they watch their
 * parent), so a restarted agent starts a fresh pool and removes what the old one left.
 *
 * <p>A {@link Placement} keeps each standby where its VM will need it (the agent: a cgroup of
 * its own), and a {@link Claim} readies that place for one launch before the launch is sent, so
 * the guest runs there from its first instruction and nothing is moved on the launch's path.
 */
public final class WarmPool implements AutoCloseable {

    public static final int DEFAULT_SIZE = 2;
    /** More standby monitors than this would only hold memory: each is a JVM. */
    public static final int MAX_SIZE = 64;
    static final Duration FIRST_RETRY_DELAY = Duration.ofMillis(100);
    static final Duration MAX_RETRY_DELAY = Duration.ofSeconds(10);
    /** How long the replacement of a standby handed out waits at least, so that it does not compete with the launched VM. */
    static final Duration REFILL_DELAY = Duration.ofMillis(200);
    /**
     * How long at most the replacement waits for the launched VMs' start to calm, by default: a
     * Linux guest boots in well under a second on a host's own KVM, in seconds nested.
     */
    public static final Duration DEFAULT_BOOT_WAIT = Duration.ofSeconds(10);
    /** A launched monitor whose threads want less than this many CPUs has calmed: its guest idles or waits. */
    static final double CALM_CPUS = 0.5;
    /** How often a launched monitor's demand for CPU is sampled while the refill waits for it. */
    static final Duration BOOT_SAMPLE = Duration.ofMillis(100);
    /** Calm samples in a row that make a launched monitor calm: a booting guest's short waits (a lock, a disk read) are not. */
    static final int CALM_SAMPLES = 3;
    /** How long a standby may take to answer a launch (it checks the spec's files or the snapshot, and opens the log). */
    static final Duration LAUNCH_TIMEOUT = Duration.ofSeconds(10);
    /** The line a standby monitor prints on standard output once it answers on its socket. */
    public static final String READY_LINE_PREFIX = "standby ";

    /**
     * @param command the monitor's command line up to its options, for example
     *     {@code [/opt/aether/aether, vm, monitor]}; the pool adds {@code --standby --socket PATH}
     * @param directory where the standby sockets are made (it must exist)
     * @param size how many standby monitors to keep ready, 0 to {@link #MAX_SIZE}
     * @param readyTimeout how long a standby may take to start before it is killed as failed
     * @param bootWait how long at most the replacement of a standby handed out waits until the
     *     launched monitor's threads want less than half a CPU (its guest has booted, or waits),
     *     so that a new standby's start and warm-up do not take the CPU the new VM boots on;
     *     {@link Duration#ZERO}: it waits only {@link #REFILL_DELAY}
     */
    public record Config(List<String> command, Path directory, int size, Duration readyTimeout, Placement placement, Duration bootWait) {
        public Config {
            command = List.copyOf(command);
            if (command.isEmpty()) throw new IllegalArgumentException("command: empty");
            Objects.requireNonNull(directory, "directory");
            if (size < 0 || size > MAX_SIZE) throw new IllegalArgumentException("size: " + size + " is out of range (0 to " + MAX_SIZE + ")");
            if (readyTimeout == null || readyTimeout.isNegative() || readyTimeout.isZero()) {
                throw new IllegalArgumentException("readyTimeout: " + readyTimeout + " is not positive");
            }
            Objects.requireNonNull(placement, "placement");
            if (bootWait == null || bootWait.isNegative()) throw new IllegalArgumentException("bootWait: " + bootWait + " is negative");
        }

        /** Replacements that wait at most {@link #DEFAULT_BOOT_WAIT} for a launched VM's start. */
        public Config(List<String> command, Path directory, int size, Duration readyTimeout, Placement placement) {
            this(command, directory, size, readyTimeout, placement, DEFAULT_BOOT_WAIT);
        }

        /** Standby monitors left where they start. */
        public Config(List<String> command, Path directory, int size, Duration readyTimeout) {
            this(command, directory, size, readyTimeout, Placement.NONE);
        }

        /** {@link #DEFAULT_SIZE} standby monitors, each given 30 s to start. */
        public Config(List<String> command, Path directory) {
            this(command, directory, DEFAULT_SIZE, Duration.ofSeconds(30));
        }
    }

    /**
     * Where each standby monitor waits, made by the pool's user. Called from the pool's threads;
     * each standby is named by its {@code standby-PID-N}.
     */
    public interface Placement {
        /** Nothing: standby monitors stay where they start. */
        Placement NONE = new Placement() {
            @Override
            public void place(String standby, long pid) {
            }

            @Override
            public void release(String standby) {
            }
        };

        /**
         * Puts the standby in its place right after it is spawned, before its JVM starts up and
         * warms up. On failure the standby is killed and, once it has exited, released, then
         * counted as failed.
         */
        void place(String standby, long pid) throws IOException;

        /**
         * The standby left the pool without a VM (it exited or was killed, or the pool closed):
         * its place goes. Called once it has exited, possibly more than once for one standby.
         */
        void release(String standby);
    }

    /** What one launch needs of the standby that takes it, made ready before the launch is sent. */
    public interface Claim {
        /** Nothing to ready. */
        Claim NONE = new Claim() {
            @Override
            public void claim(String standby) {
            }

            @Override
            public void unclaim(String standby) {
            }
        };

        /**
         * Readies the placed standby for this launch (the agent: its group gets the VM's limits
         * and name). On failure it changes nothing, and the standby stays in the pool.
         */
        void claim(String standby) throws IOException;

        /**
         * The standby refused the launch, or was given back before one was sent: gives it back its
         * place as a standby. On failure the standby is killed rather than kept in the pool.
         */
        void unclaim(String standby) throws IOException;

        /**
         * The claim is made and the launch is about to be sent to standby process {@code pid}
         * (the agent writes the VM's record with that monitor now, so that its sync runs beside
         * the launch). It must not fail: what it could not do the caller does after the answer.
         */
        default void sending(long pid) {
        }
    }

    /**
     * A monitor that took a VM: the process (the caller supervises it now), its control socket,
     * its standard error, and the VM's first status.
     */
    public record Launched(Process process, Path socket, Path errors, ControlResponse.Status status) {
    }

    /** What the pool holds and has done, for metrics. */
    public record Stats(int ready, int starting, long started, long failed, long reaped, Optional<String> lastFailure) {
    }

    /** A standby monitor the pool started. */
    private record Standby(String name, Process process, Path socket, Path errors) {
    }

    private final Config config;
    private final Object lock = new Object();
    private final Deque<Standby> ready = new ArrayDeque<>();
    private final Set<Standby> starting = new HashSet<>();
    /** Taken for a launch that has not answered yet: still counted, so a refused one does not overfill the pool. */
    private final Set<Standby> launching = new HashSet<>();
    private final Thread refiller;
    private long sequence;
    private long started;
    private long failed;
    private long reaped;
    private int failuresInARow;
    /** No standby is started before this: a retry delay, or a launched one's refill delay. */
    private long nextStartNanos;
    /** Launched monitors whose start the refill waits out, until {@link #bootWaitEndNanos} at most. */
    private final List<Process> booting = new ArrayList<>();
    private long bootWaitEndNanos;
    private String lastFailure;
    private boolean closed;

    private WarmPool(Config config) {
        this.config = config;
        this.refiller = Thread.ofPlatform().name("warm-pool").daemon().unstarted(this::refill);
    }

    /**
     * Starts filling the pool in the background, after removing what an earlier pool left in
     * its directory: files, and a standby monitor still answering there (its parent died before
     * the standby could note which process its parent was, so it did not see it go).
     *
     * @throws IOException naming the directory when it is missing or unreadable
     */
    public static WarmPool start(Config config) throws IOException {
        if (!Files.isDirectory(config.directory())) throw new IOException(config.directory() + ": no such directory");
        try (DirectoryStream<Path> leftovers = Files.newDirectoryStream(config.directory(), "standby-*")) {
            for (Path p : leftovers) {
                if (p.getFileName().toString().endsWith(".sock")) endLeftover(p);
                Files.deleteIfExists(p);
            }
        }
        WarmPool pool = new WarmPool(config);
        pool.refiller.start();
        return pool;
    }

    /**
     * Hands {@code launch}'s VM (one to boot, or a snapshot to restore) to a ready standby monitor
     * and returns it, now the caller's; empty when none is ready (start a monitor cold instead).
     * The pool starts a replacement.
     *
     * @throws MonitorClient.RefusedException when the monitor refused the launch (a spec the host
     *     cannot run, a snapshot it cannot restore, a log or socket path it cannot take): nothing
     *     changed, and the standby monitor is back in the pool
     * @throws IOException when the monitor did not answer; it is killed
     */
    public Optional<Launched> launch(ControlRequest.Handover launch) throws IOException {
        return launch(launch, Claim.NONE);
    }

    /**
     * As {@link #launch(ControlRequest.Handover)}, with {@code claim} made on the standby first.
     *
     * @throws IOException as there, and when the claim failed (nothing was sent; the standby
     *     stays in the pool); when the monitor did not answer it is killed and has exited
     */
    public Optional<Launched> launch(ControlRequest.Handover launch, Claim claim) throws IOException {
        Optional<Taken> taken = take(claim);
        return taken.isEmpty() ? Optional.empty() : Optional.of(taken.get().launch(launch));
    }

    /**
     * Takes a ready standby monitor and makes {@code claim} on it, ahead of its launch, so that the
     * caller can do its own steps meanwhile (the agent: the VM's folder); empty when none is ready.
     * The standby is counted as launching until {@link Taken#launch} or {@link Taken#giveBack}.
     *
     * @throws IOException when the claim failed: nothing changed, the standby stays in the pool
     */
    public Optional<Taken> take(Claim claim) throws IOException {
        Standby standby = take();
        if (standby == null) return Optional.empty();
        try {
            claim.claim(standby.name());
        } catch (IOException | RuntimeException e) {
            settle(standby, true);
            throw e;
        }
        return Optional.of(new Taken(standby, claim));
    }

    /** A standby monitor taken and claimed for one launch: launched once, or given back. */
    public final class Taken {
        private final Standby standby;
        private final Claim claim;
        private boolean done;
        /** The handover sent ahead by {@link #prepare}, awaiting its go; null if none was. */
        private ControlRequest.Handover preparedHandover;
        private MonitorClient.Prepared prepared;

        private Taken(Standby standby, Claim claim) {
            this.standby = standby;
            this.claim = claim;
        }

        /**
         * Hands {@code launch}'s VM to the standby, as {@link WarmPool#launch(ControlRequest.Handover, Claim)}
         * once its claim is made.
         */
        public Launched launch(ControlRequest.Handover launch) throws IOException {
            finish();
            MonitorClient.Prepared ahead = prepared;
            if (ahead != null && !preparedHandover.equals(launch.awaitingGo())) {
                // Not what was prepared (the caller changed its mind): that one is given up first.
                ahead.close();
                ahead = null;
            }
            claim.sending(standby.process().pid());
            ControlResponse.Status status;
            try {
                status = ahead != null ? ahead.go() : new MonitorClient(standby.socket(), LAUNCH_TIMEOUT).hand(launch);
            } catch (MonitorClient.RefusedException e) {
                IOException notPlaced = putBack();
                if (notPlaced != null) e.addSuppressed(notPlaced);
                throw e;
            } catch (IOException | RuntimeException e) {
                settle(standby, false);
                // Waited for, so that what the claim made for the VM is empty when the caller cleans it up.
                destroyAndWait(standby.process());
                throw e;
            }
            settle(standby, false);
            return new Launched(standby.process(), launch.socket().orElse(standby.socket()), standby.errors(), status);
        }

        /**
         * No launch comes (the caller refused the VM, or failed before its launch): the claim is
         * undone and the standby is ready again.
         *
         * @throws IOException when the claim could not be undone: the standby is killed and has exited
         */
        public void giveBack() throws IOException {
            finish();
            // Without its go the standby undoes what it prepared; its next handover waits for that.
            if (prepared != null) prepared.close();
            IOException notPlaced = putBack();
            if (notPlaced != null) throw notPlaced;
        }

        /**
         * Sends {@code launch} to the standby ahead of {@link #launch}, awaiting its go
         * ({@link ControlRequest.Handover#awaitGo}): the standby checks and builds (or restores)
         * the VM while the caller gets the folder that holds the console log and the socket ready.
         * {@link #launch} with the same handover then lets it go; {@link #giveBack} gives it up.
         * Once per standby taken; a failure to send leaves {@link #launch} to send it whole.
         */
        public void prepare(ControlRequest.Handover launch) throws IOException {
            if (done || prepared != null) throw new IllegalStateException("standby monitor " + standby.name() + " was prepared, launched or given back already");
            prepared = new MonitorClient(standby.socket(), LAUNCH_TIMEOUT).prepare(launch);
            preparedHandover = launch.awaitingGo();
        }

        private void finish() {
            if (done) throw new IllegalStateException("standby monitor " + standby.name() + " was launched or given back already");
            done = true;
        }

        /** Undoes the claim and readies the standby again; when that fails, kills it and returns why. */
        private IOException putBack() {
            IOException failed = null;
            try {
                claim.unclaim(standby.name());
            } catch (IOException e) {
                failed = e;
            } catch (RuntimeException e) {
                failed = new IOException(e.toString(), e);
            }
            settle(standby, failed == null);
            if (failed != null) destroyAndWait(standby.process());
            return failed;
        }
    }

    private static void destroyAndWait(Process process) {
        process.destroyForcibly();
        try {
            process.waitFor(LAUNCH_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Ends the standby monitor answering on {@code socket}, if one does (and only a standby: never a launched VM's monitor). */
    private static void endLeftover(Path socket) {
        try {
            if (new MonitorClient(socket, Duration.ofSeconds(1)).call(new ControlRequest.State()) instanceof ControlResponse.Standby s) {
                ProcessHandle.of(s.pid()).ifPresent(ProcessHandle::destroy);
            }
        } catch (IOException e) {
            // Nobody answers: a stale socket file, removed by the caller.
        }
    }

    public Stats stats() {
        synchronized (lock) {
            return new Stats(ready.size(), starting.size(), started, failed, reaped, Optional.ofNullable(lastFailure));
        }
    }

    /** Waits until {@code count} standby monitors are ready, or the time is up; returns whether they are. */
    public boolean awaitReady(int count, Duration wait) throws InterruptedException {
        long deadline = System.nanoTime() + wait.toNanos();
        synchronized (lock) {
            while (ready.size() < count) {
                long left = deadline - System.nanoTime();
                if (left <= 0 || closed) return false;
                TimeUnit.NANOSECONDS.timedWait(lock, left);
            }
            return true;
        }
    }

    /** The ready standby monitors' process ids, oldest first (for memory accounting). */
    public List<Long> readyPids() {
        synchronized (lock) {
            return ready.stream().map(s -> s.process().pid()).toList();
        }
    }

    /** The oldest live ready standby, now launching; a dead one not reaped yet stays for its exit handler. */
    private Standby take() {
        synchronized (lock) {
            for (Iterator<Standby> it = ready.iterator(); it.hasNext(); ) {
                Standby s = it.next();
                if (s.process().isAlive()) {
                    it.remove();
                    launching.add(s);
                    return s;
                }
            }
            return null;
        }
    }

    /** A launch answered: the standby is the caller's now, or (refused) ready again. */
    private void settle(Standby standby, boolean refused) {
        synchronized (lock) {
            if (!launching.remove(standby)) return; // it died meanwhile
            if (refused && !closed) {
                ready.addFirst(standby);
            } else {
                // Its replacement waits: a JVM starting now would take the CPU the new VM boots on.
                nextStartNanos = Math.max(nextStartNanos, System.nanoTime() + REFILL_DELAY.toNanos());
                if (!refused) {
                    // The wait's bound runs from the first launch waited for: a stream of launches never holds the refill longer.
                    if (booting.isEmpty()) bootWaitEndNanos = System.nanoTime() + config.bootWait().toNanos();
                    booting.add(standby.process());
                }
            }
            lock.notifyAll(); // the refiller replaces one handed out
        }
        if (refused && closed) standby.process().destroy();
    }

    private void refill() {
        while (true) {
            synchronized (lock) {
                try {
                    // After a failure, one start at a time: the delays then apply to each try.
                    while (!closed && (held() >= config.size() || System.nanoTime() < nextStartNanos
                            || failuresInARow > 0 && !starting.isEmpty())) {
                        long wait = nextStartNanos - System.nanoTime();
                        if (wait > 0 && held() < config.size()) {
                            TimeUnit.NANOSECONDS.timedWait(lock, wait);
                        } else {
                            lock.wait();
                        }
                    }
                } catch (InterruptedException e) {
                    return;
                }
                if (closed) return;
            }
            try {
                awaitBootsCalm();
            } catch (InterruptedException e) {
                return;
            }
            startOne();
        }
    }

    /**
     * Waits until every launched monitor the refill waits for has calmed (its threads wanted less
     * than {@link #CALM_CPUS} over {@link #CALM_SAMPLES} samples in a row), has exited, or cannot be
     * measured, or until the wait's bound.
     */
    private void awaitBootsCalm() throws InterruptedException {
        Map<Process, Long> before = new HashMap<>();
        Map<Process, Integer> calmInARow = new HashMap<>();
        long sampledAt = 0;
        while (true) {
            List<Process> watched;
            synchronized (lock) {
                if (closed || System.nanoTime() - bootWaitEndNanos >= 0) booting.clear();
                booting.removeIf(p -> !p.isAlive());
                if (booting.isEmpty()) return;
                watched = List.copyOf(booting);
            }
            long elapsed = System.nanoTime() - sampledAt;
            sampledAt = System.nanoTime();
            List<Process> calm = new ArrayList<>();
            for (Process p : watched) {
                OptionalLong demand = CpuDemand.nanos(p.pid());
                Long then = before.put(p, demand.orElse(-1));
                boolean calmNow = then != null && then >= 0 && demand.isPresent() && demand.getAsLong() - then < CALM_CPUS * elapsed;
                if (!calmNow) calmInARow.remove(p);
                int inARow = calmNow ? calmInARow.merge(p, 1, Integer::sum) : 0;
                if (demand.isEmpty() || inARow >= CALM_SAMPLES) calm.add(p);
            }
            synchronized (lock) {
                booting.removeAll(calm);
                if (booting.isEmpty()) return;
            }
            Thread.sleep(BOOT_SAMPLE);
        }
    }

    private int held() {
        return ready.size() + starting.size() + launching.size();
    }

    private void startOne() {
        String name;
        Path socket;
        Path errors;
        synchronized (lock) {
            name = "standby-" + ProcessHandle.current().pid() + "-" + sequence++;
            socket = config.directory().resolve(name + ".sock");
            errors = config.directory().resolve(name + ".err");
        }
        List<String> command = new ArrayList<>(config.command());
        command.addAll(List.of("--standby", "--socket", socket.toString()));
        Process process;
        try {
            process = new ProcessBuilder(command)
                    .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                    .redirectError(errors.toFile())
                    .start();
        } catch (IOException e) {
            failure("cannot start " + command.getFirst() + ": " + e.getMessage());
            return;
        }
        Standby standby = new Standby(name, process, socket, errors);
        String unplaced = place(standby);
        if (unplaced != null) {
            // Ended and released before it is counted, so that its replacement is placed after the release.
            destroyAndWait(process);
            config.placement().release(name);
            String why = "standby monitor " + process.pid() + " did not start: " + unplaced + lastErrorLine(errors);
            deleteQuietly(errors);
            synchronized (lock) {
                started++;
                failure(why);
            }
            return;
        }
        synchronized (lock) {
            started++;
            starting.add(standby);
            if (closed) process.destroy();
        }
        process.onExit().thenRun(() -> exited(standby));
        Thread.ofVirtual().name("warm-pool-start").start(() -> watchStart(standby));
    }

    /** Reads the standby's ready line, then checks that it answers as a standby on its socket. */
    private void watchStart(Standby standby) {
        Process process = standby.process();
        Thread timer = Thread.ofVirtual().start(() -> {
            try {
                Thread.sleep(config.readyTimeout());
                process.destroyForcibly();
            } catch (InterruptedException e) {
                // Ready in time, or gone.
            }
        });
        String problem;
        try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            String line = out.readLine();
            if (line == null) {
                // It is ending (or closed its output, which a monitor never does): its exit is counted by exited().
                if (!process.waitFor(1, TimeUnit.SECONDS)) process.destroyForcibly();
                return;
            }
            if (!line.startsWith(READY_LINE_PREFIX)) {
                problem = "its first line was not the ready line: " + ControlCodec.printable(line);
            } else {
                ControlResponse answer = new MonitorClient(standby.socket(), LAUNCH_TIMEOUT).call(new ControlRequest.State());
                problem = answer.equals(new ControlResponse.Standby(process.pid())) ? null : "its socket answered " + answer;
            }
        } catch (IOException e) {
            problem = e.getMessage();
        } catch (InterruptedException e) {
            problem = "interrupted";
        } finally {
            timer.interrupt();
        }
        String why = problem == null ? null : "standby monitor " + process.pid() + " did not start: " + problem + lastErrorLine(standby.errors());
        boolean exited;
        synchronized (lock) {
            exited = !starting.remove(standby); // counted there
            if (!exited && problem == null && process.isAlive() && !closed) {
                ready.addLast(standby);
                failuresInARow = 0;
                lock.notifyAll();
                return;
            }
            // Counted as it leaves starting, so that stats never show it in neither.
            if (!exited && why != null) failure(why);
        }
        destroyAndWait(process);
        // Released here as well as on its exit, whichever comes first (the second is a no-op).
        config.placement().release(standby.name());
    }

    /**
     * Places a standby as soon as it is spawned, before its JVM has done any work worth counting:
     * its start and warm-up, the most CPU it ever takes, run where its placement says (the agent:
     * at the lowest CPU weight, so that they never take the CPU of a VM booting beside them).
     * Returns the problem, or null.
     */
    private String place(Standby standby) {
        try {
            config.placement().place(standby.name(), standby.process().pid());
            return null;
        } catch (IOException | RuntimeException e) {
            return "it could not be placed: " + e.getMessage();
        }
    }

    private void exited(Standby standby) {
        String why = "standby monitor " + standby.process().pid() + " exited with status " + standby.process().exitValue()
                + " before it was ready" + lastErrorLine(standby.errors());
        boolean pools;
        synchronized (lock) {
            boolean wasStarting = starting.remove(standby);
            boolean wasReady = ready.remove(standby) || launching.remove(standby);
            if (wasReady) reaped++;
            if (wasStarting) failure(why);
            pools = wasStarting || wasReady;
            lock.notifyAll();
        }
        if (pools) {
            deleteQuietly(standby.socket());
            deleteQuietly(standby.errors());
            config.placement().release(standby.name());
        }
    }

    private void failure(String why) {
        synchronized (lock) {
            failed++;
            lastFailure = why;
            long delay = Math.min(MAX_RETRY_DELAY.toNanos(), FIRST_RETRY_DELAY.toNanos() << Math.min(failuresInARow, 20));
            failuresInARow++;
            nextStartNanos = System.nanoTime() + delay;
            lock.notifyAll();
        }
    }

    /** The last line of a standby's standard error (at most its last KiB), as ": LINE", or nothing. */
    private static String lastErrorLine(Path errors) {
        try (RandomAccessFile file = new RandomAccessFile(errors.toFile(), "r")) {
            long length = file.length();
            int n = (int) Math.min(length, 1024);
            byte[] tail = new byte[n];
            file.seek(length - n);
            file.readFully(tail);
            String text = new String(tail, StandardCharsets.UTF_8).strip();
            if (text.isEmpty()) return "";
            return ": " + ControlCodec.printable(text.substring(text.lastIndexOf('\n') + 1));
        } catch (IOException e) {
            return "";
        }
    }

    private static void deleteQuietly(Path path) {
        try {
            if (Files.exists(path, LinkOption.NOFOLLOW_LINKS)) Files.delete(path);
        } catch (IOException e) {
            // Removed by its monitor meanwhile, or the next pool's start removes it.
        }
    }

    /** Stops every standby monitor the pool holds (SIGTERM: each removes its socket) and the refilling. */
    @Override
    public void close() {
        List<Standby> all;
        synchronized (lock) {
            closed = true;
            all = new ArrayList<>(ready);
            all.addAll(starting);
            lock.notifyAll();
        }
        refiller.interrupt();
        for (Standby s : all) s.process().destroy();
        for (Standby s : all) {
            try {
                if (!s.process().waitFor(5, TimeUnit.SECONDS)) destroyAndWait(s.process());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                s.process().destroyForcibly();
            }
            // Here as well as on its exit, which may come later: the pool's user cleans up once the pool is closed.
            config.placement().release(s.name());
        }
    }
}
