package io.aether.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.aether.agentapi.ConsoleOutput;
import io.aether.agentapi.CreateVm;
import io.aether.agentapi.NodeInfo;
import io.aether.agentapi.RestartPolicy;
import io.aether.agentapi.SnapshotInfo;
import io.aether.agentapi.TakeSnapshot;
import io.aether.agentapi.StopVm;
import io.aether.agentapi.VmInfo;
import io.aether.agentapi.VmList;
import io.aether.cgroups.Quota;
import io.aether.cgroups.VmCgroup;
import io.aether.common.FieldException;
import io.aether.http.ApiError;
import io.aether.http.ApiException;
import io.aether.http.Event;
import io.aether.http.EventHub;
import io.aether.http.Response;
import io.aether.monitorapi.ControlResponse;
import io.aether.monitorapi.MonitorClient;
import io.aether.monitorapi.VmState;
import io.aether.vmspec.VmSpec;
import io.aether.vmspec.VmSpecJson;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.stream.Stream;
import java.time.Duration;
import java.util.Base64;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.ReentrantLock;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The VMs of this node: their folders, their monitor processes, their states. Every change to
 * one VM happens under that VM's lock, and is written to its record before it is answered or
 * published. A monitor that ends without being asked to is reported (stopped if the guest
 * ended, failed otherwise) and started again when the VM's restart policy says so.
 */
final class Node implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(Node.class.getName());
    private static final ObjectMapper MAPPER = new ObjectMapper();

    static final Duration CLIENT_TIMEOUT = Duration.ofSeconds(5);
    /** A monitor is a JVM: on a loaded host its start takes seconds. */
    static final Duration START_TIMEOUT = Duration.ofSeconds(60);
    /** How long a stopped monitor may take to exit before it is killed. */
    static final Duration EXIT_TIMEOUT = Duration.ofSeconds(15);
    static final Duration BACKOFF_MIN = Duration.ofMillis(500);
    static final Duration BACKOFF_MAX = Duration.ofSeconds(30);
    /** A VM that ran this long before it ended starts its backoff afresh. */
    static final Duration STABLE_RUN = Duration.ofSeconds(60);
    /** How often a cold monitor's socket is tried until it answers. */
    private static final Duration POLL = Duration.ofMillis(20);
    /** The longest one await-started waits: a monitor that ends meanwhile is noticed by then at the latest. */
    private static final Duration START_WAIT_SLICE = Duration.ofSeconds(1);

    private final DataDir data;
    private final Launcher launcher;
    private final Admission admission;
    private final Events events;
    private final NodeInfo.Capabilities capabilities;
    private final Quotas quotas;
    private final Map<String, Vm> vms = new ConcurrentHashMap<>();
    /** Ids being created: taken, not yet visible. */
    private final Set<String> creating = new HashSet<>();
    /** VM folders the agent could not read at start: left alone for a person to look at, counted in {@code GET /v1/node}. */
    private final List<String> unreadable = new java.util.concurrent.CopyOnWriteArrayList<>();
    private volatile boolean closed;

    /** One VM. Its spec never changes; everything else is guarded by {@link #lock}. */
    static final class Vm {
        final String id;
        final VmSpec spec;
        final JsonNode specJson;
        final ReentrantLock lock = new ReentrantLock();
        volatile VmRecord record;
        /** Its monitor now; null without one. Read without the lock only to report it. */
        volatile Run run;
        /** Published once its create has succeeded. */
        boolean announced;
        boolean deleted;
        /** Restarts in a row after runs shorter than {@link #STABLE_RUN}: the backoff's exponent. */
        int quickEnds;

        Vm(String id, VmSpec spec, VmRecord record) {
            this.id = id;
            this.spec = spec;
            this.record = record;
            try {
                this.specJson = MAPPER.readTree(VmSpecJson.write(spec));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /**
     * How a monitor ended: why, whether the guest ended on its own (exit status 0), and whether
     * the guest ran at all (it ended or crashed: exit status 0 or 3) rather than the monitor
     * failing to run it.
     */
    record Ending(String reason, boolean clean, boolean guestRan) {
        Ending(String reason, boolean clean) {
            this(reason, clean, clean);
        }
    }

    /** One monitor process's life. */
    static final class Run {
        final long pid;
        final Process child;
        final MonitorClient client;
        /** The cgroup that holds it to its quota; empty where quotas are not enforced. */
        final Optional<VmCgroup> group;
        final long startedNanos = System.nanoTime();
        final CompletableFuture<Ending> ended = new CompletableFuture<>();
        /** Set once an API call has dealt with the end (a stop, a failed start): the watcher then leaves it. */
        boolean handled;

        Run(long pid, Process child, MonitorClient client, Optional<VmCgroup> group) {
            this.pid = pid;
            this.child = child;
            this.client = client;
            this.group = group;
        }
    }

    private Node(DataDir data, Launcher launcher, Admission admission, NodeInfo.Capabilities capabilities, Quotas quotas) {
        this.data = data;
        this.launcher = launcher;
        this.admission = admission;
        this.events = new Events();
        this.capabilities = capabilities;
        this.quotas = quotas;
    }

    /** Opens the node on {@code data}: every VM folder read, every live monitor re-adopted, every dead one reported failed. */
    static Node open(DataDir data, Launcher launcher, NodeInfo.Capacity capacity, NodeInfo.Capabilities capabilities, Quotas quotas)
            throws IOException {
        Node node = new Node(data, launcher, new Admission(capacity), capabilities, quotas);
        try {
            node.adoptAll();
            quotas.removeGroupsOtherThan(Set.copyOf(data.ids()));
        } catch (IOException | RuntimeException e) {
            node.close();
            throw e;
        }
        return node;
    }

    /** Reads every VM folder; a damaged one is skipped with a warning (the others run on), not deleted. */
    private void adoptAll() throws IOException {
        for (String id : data.ids()) {
            DataDir.Stored stored;
            try {
                stored = data.read(id);
            } catch (IOException | RuntimeException e) {
                LOG.warning("skipping the VM folder " + data.folder(id) + ": " + e.getMessage());
                unreadable.add(id);
                continue;
            }
            Vm vm = new Vm(id, stored.spec(), stored.record());
            vm.announced = true;
            vms.put(id, vm);
            vm.lock.lock();
            try {
                adopt(vm);
            } finally {
                vm.lock.unlock();
            }
        }
    }

    Events events() {
        return events;
    }

    // ---- the API's operations ----

    VmInfo create(CreateVm request) {
        StartTrace.begin();
        VmSpec spec;
        Optional<Launcher.Restore> restore = Optional.empty();
        if (request.restore() != null) {
            // Only a snapshot of this node's own VMs: never a host path from the network.
            CreateVm.Restore r = request.restore();
            Vm source = vms.get(r.vm());
            if (source == null) throw new ApiError.BadRequest("restore.vm", "no VM named " + r.vm()).exception();
            Path snapshot = data.snapshots(r.vm()).resolve(r.snapshot());
            if (!Files.isRegularFile(snapshot.resolve("state"))) {
                throw new ApiError.BadRequest("restore.snapshot", "VM " + r.vm() + " has no snapshot named " + r.snapshot()).exception();
            }
            // The snapshot holds its VM's spec, MAC addresses included: the monitor's answers are checked against it.
            spec = source.spec;
            restore = Optional.of(new Launcher.Restore(snapshot, r.allowClone()));
        } else {
            try {
                spec = VmSpecJson.read(request.spec().toString());
                spec.checkHost(VmSpec.MAX_VCPUS);
            } catch (FieldException e) {
                throw new ApiError.BadRequest("spec." + e.field(), e.problem()).exception();
            }
        }
        Quota quota = quotas.quotaFor(spec, request.resources());
        String id;
        synchronized (creating) {
            id = request.id() != null ? request.id() : freshId();
            if (vms.containsKey(id) || creating.contains(id)) throw conflict("a VM named " + id + " exists");
            int socketPath = data.socket(id).toString().getBytes(StandardCharsets.UTF_8).length;
            if (socketPath > DataDir.MAX_SOCKET_PATH) {
                throw new ApiError.BadRequest("id", "too long for this node: its monitor socket " + data.socket(id) + " would take "
                        + socketPath + " bytes (at most " + DataDir.MAX_SOCKET_PATH + ")").exception();
            }
            creating.add(id);
        }
        // A VM started takes its standby and claims the standby's group for itself beside the
        // folder's writing and the admission; given back below when the start is not reached.
        Optional<Launcher.Taking> ahead = Optional.empty();
        try {
            if (restore.isEmpty()) spec = spec.withMacsFor(id);
            if (request.start()) {
                Launcher.Source source = restore.isPresent() ? restore.get() : new Launcher.Boot(spec, data.specFile(id));
                ahead = launcher.takeAhead(id, quota, source, data.socket(id), data.consoleLog(id));
                StartTrace.mark("claim-begun");
            }
            Thread folderSync = null;
            VmRecord record = new VmRecord(id, request.labels(), request.restartPolicy(), request.start() ? "running" : "stopped",
                    "created", null, null, 0, null, request.resources());
            try {
                StartTrace.mark("checked");
                data.create(spec, record);
                StartTrace.mark("folder-written");
                // A VM started is synced while its monitor starts it (its start syncs the record it
                // then writes); the create is answered once both are durable.
                if (request.start()) folderSync = Thread.ofVirtual().name("sync-" + id).start(() -> sync(id));
                else syncCreated(id);
            } catch (FileAlreadyExistsException e) {
                throw conflict("a VM named " + id + " exists");
            } catch (IOException e) {
                throw new UncheckedIOException("cannot create the folder of " + id, e);
            }
            Vm vm = new Vm(id, spec, record);
            vm.lock.lock();
            try {
                if (request.start()) {
                    try {
                        start(vm, false, restore, ahead);
                    } catch (RuntimeException e) {
                        // Nothing half-created: the folder goes, the VM was never visible.
                        vm.deleted = true;
                        awaitSync(folderSync);
                        try {
                            data.delete(id);
                        } catch (IOException d) {
                            LOG.log(Level.WARNING, "cannot remove the folder of the VM " + id + " that failed to start", d);
                        }
                        throw e;
                    }
                    awaitSync(folderSync);
                    StartTrace.mark("folder-synced");
                }
                vms.put(id, vm);
                vm.announced = true;
                events.publish(id, vm.record.state(), vm.record.reason());
                VmInfo info = started(vm);
                StartTrace.end("answer");
                return info;
            } finally {
                vm.lock.unlock();
            }
        } finally {
            // Before the id is free again: the standby's group may carry its name until given back.
            ahead.ifPresent(Launcher.Taking::close);
            synchronized (creating) {
                creating.remove(id);
            }
        }
    }

    VmList list() {
        return new VmList(vms.values().stream().sorted(java.util.Comparator.comparing(v -> v.id)).map(this::info).toList());
    }

    VmInfo get(String id) {
        return info(find(id));
    }

    VmInfo start(String id) {
        StartTrace.begin();
        return locked(find(id), vm -> {
            start(vm, false, Optional.empty(), Optional.empty());
            VmInfo info = started(vm);
            StartTrace.end("answer");
            return info;
        });
    }

    VmInfo pause(String id) {
        return locked(find(id), vm -> control(vm, "pause"));
    }

    VmInfo resume(String id) {
        return locked(find(id), vm -> control(vm, "resume"));
    }

    VmInfo stop(String id, StopVm how) {
        return locked(find(id), vm -> {
            stop(vm, how);
            return info(vm);
        });
    }

    void delete(String id, boolean force) {
        locked(find(id), vm -> {
            if (vm.run != null) {
                if (!force) throw conflict("cannot delete " + id + ": the VM is " + vm.record.state() + " (stop it first, or delete with ?force=true)");
                stop(vm, StopVm.forced());
            }
            vm.deleted = true;
            try {
                data.delete(id);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot remove the folder of " + id, e);
            }
            vms.remove(id);
            events.publish(id, "deleted", null);
            return null;
        });
    }

    /**
     * Writes a snapshot of the running or paused VM into {@code snapshots/NAME} of its folder; the
     * VM goes on afterwards when {@code request.resume()}, else it stays paused. A name taken is
     * refused (a snapshot is never overwritten); a snapshot that fails leaves no folder.
     */
    SnapshotInfo snapshot(String id, TakeSnapshot request) {
        return locked(find(id), vm -> {
            Run run = vm.run;
            if (run == null) throw conflict("cannot snapshot " + id + ": the VM is " + vm.record.state());
            Path dir = data.snapshots(id).resolve(request.name());
            if (Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) throw conflict("cannot snapshot " + id + ": a snapshot named " + request.name() + " exists");
            ControlResponse.SnapshotTaken taken;
            try {
                Files.createDirectories(dir.getParent());
                taken = run.client.snapshot(dir.toAbsolutePath(), request.resume(), null);
            } catch (IOException e) {
                try {
                    DataDir.deleteSnapshot(dir);
                } catch (IOException d) {
                    LOG.log(Level.WARNING, "cannot remove the failed snapshot " + dir, d);
                }
                String why = e instanceof MonitorClient.RefusedException r ? r.reason() : "its monitor did not answer: " + e.getMessage();
                throw conflict("cannot snapshot " + id + ": " + why);
            }
            try {
                ControlResponse.Status status = run.client.state();
                save(vm, vm.record.withState(status.state().id(), status.reason().orElse(null), run.pid));
            } catch (IOException e) {
                // the watcher reports a monitor that went
            }
            SnapshotInfo written = describeSnapshot(request.name(), dir);
            return new SnapshotInfo(written.name(), taken.memoryBytes(), written.stateBytes(), written.time(), taken.memoryDataBytes(), taken.millis());
        });
    }

    /** The VM's snapshots, sorted by name; a folder without a state file (a snapshot cut short) is not one. */
    SnapshotInfo.List snapshots(String id) {
        Vm vm = find(id);
        Path top = data.snapshots(vm.id);
        if (!Files.isDirectory(top)) return new SnapshotInfo.List(List.of());
        try (Stream<Path> all = Files.list(top)) {
            return new SnapshotInfo.List(all.filter(p -> Files.isRegularFile(p.resolve("state"), LinkOption.NOFOLLOW_LINKS))
                    .sorted().map(p -> describeSnapshot(p.getFileName().toString(), p)).toList());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list the snapshots of " + id, e);
        }
    }

    private static SnapshotInfo describeSnapshot(String name, Path dir) {
        try {
            Path state = dir.resolve("state");
            return new SnapshotInfo(name, Files.size(dir.resolve("memory")), Files.size(state),
                    Files.getLastModifiedTime(state).toInstant().toString(), null, null);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the snapshot " + dir, e);
        }
    }

    /** The most a logs request returns: the end of the console log, which the monitor bounds on disk. */
    static final int MAX_LOG_BYTES = 1 << 20;

    /** The last {@code bytes} of the VM's console log, kept after it stops or fails (empty before its first start). */
    byte[] logs(String id, int bytes) {
        if (bytes < 1 || bytes > MAX_LOG_BYTES) {
            throw new ApiError.BadRequest("bytes", bytes + " is out of range (1 to " + MAX_LOG_BYTES + ")").exception();
        }
        Vm vm = find(id);
        try (java.io.RandomAccessFile log = new java.io.RandomAccessFile(data.consoleLog(vm.id).toFile(), "r")) {
            long length = log.length();
            int n = (int) Math.min(length, bytes);
            byte[] tail = new byte[n];
            log.seek(length - n);
            log.readFully(tail);
            return tail;
        } catch (java.io.FileNotFoundException e) {
            return new byte[0];
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the console log of " + id, e);
        }
    }

    NodeInfo node() {
        return new NodeInfo(admission.capacity(), admission.admitted(), capabilities, List.copyOf(unreadable), launcher.poolInfo());
    }

    /** Each VM as a metrics scrape sees it, by id; only a running or paused VM's monitor is asked (one being built may not answer yet). */
    List<AgentMetrics.Subject> metricsSubjects() {
        return vms.values().stream().sorted(java.util.Comparator.comparing(v -> v.id)).map(vm -> {
            Run run = vm.run;
            VmState state = VmState.valueOf(vm.record.state().toUpperCase(java.util.Locale.ROOT));
            boolean answers = run != null && (state == VmState.RUNNING || state == VmState.PAUSED);
            return new AgentMetrics.Subject(vm.id, state, vm.spec.vcpus(), vm.spec.memory().bytes(),
                    answers ? Optional.of(data.socket(vm.id)) : Optional.empty(),
                    run == null ? Optional.empty() : run.group.flatMap(Quotas::usage),
                    run == null ? java.util.OptionalLong.empty() : java.util.OptionalLong.of(run.pid));
        }).toList();
    }

    /**
     * The VM's console as an event stream: the monitor's recent output (when {@code replay}),
     * then the live output, each chunk an {@code output} event. The stream ends when the VM
     * stops; a client that goes away detaches (the monitor's console connection is closed), and
     * the guest notices nothing either way.
     */
    Response console(String id, boolean replay) {
        Vm vm = find(id);
        MonitorClient client = locked(vm, v -> {
            if (v.run == null) throw conflict("cannot attach to the console of " + id + ": the VM is " + v.record.state());
            return v.run.client;
        });
        MonitorClient.Console console;
        try {
            console = client.attachConsole(replay);
        } catch (IOException e) {
            throw conflict("cannot attach to the console of " + id + ": " + e.getMessage());
        }
        EventHub hub = new EventHub(256);
        Thread.ofVirtual().name("console-" + id).start(() -> pumpConsole(console, hub));
        return new Response.Events(hub, List.of());
    }

    private static void pumpConsole(MonitorClient.Console console, EventHub hub) {
        try (console; hub) {
            // The server subscribes its client once the handler has answered: wait for it, so the replay reaches it.
            long deadline = System.nanoTime() + CLIENT_TIMEOUT.toNanos();
            while (hub.subscribers() == 0) {
                if (System.nanoTime() > deadline) return;
                Thread.sleep(5);
            }
            // A client that left is noticed on the next write; the read is then ended by closing the console.
            Thread watchdog = Thread.ofVirtual().start(() -> {
                try {
                    while (hub.subscribers() > 0) Thread.sleep(200);
                    console.close();
                } catch (InterruptedException | IOException e) {
                    // the pump ended first
                }
            });
            try {
                InputStream in = console.output();
                byte[] buffer = new byte[8192];
                int n;
                while ((n = in.read(buffer)) > 0 && hub.subscribers() > 0) {
                    hub.publish(Event.json("output", new ConsoleOutput(Base64.getEncoder().encodeToString(java.util.Arrays.copyOf(buffer, n)))));
                }
            } finally {
                watchdog.interrupt();
            }
        } catch (IOException | InterruptedException e) {
            // The client detached or the monitor went: the stream ends.
        }
    }

    // ---- what the operations do, under the VM's lock ----

    /**
     * Starts a monitor for the VM and returns once its VM runs; a monitor that fails leaves the VM
     * failed, with the reason. It boots the VM's spec, or restores {@code restore} (the first start
     * of a restored VM only: a restored VM stopped and started again boots afresh), in the standby
     * {@code ahead} took when there is one.
     */
    private void start(Vm vm, boolean underPolicy, Optional<Launcher.Restore> restore, Optional<Launcher.Taking> ahead) {
        if (vm.run != null) throw conflict("cannot start " + vm.id + ": the VM is " + vm.record.state());
        Quota quota = quotas.quotaFor(vm.spec, vm.record.resources());
        try {
            admission.reserve(vm.id, vm.spec);
        } catch (IllegalStateException e) {
            throw conflict("cannot start " + vm.id + ": " + e.getMessage());
        }
        Launcher.Started started;
        StartTrace.mark("admitted");
        // A monitor exists from its spawn or launch (created: building the VM), and the VM is
        // wanted running: one that ends at once is restarted as its policy says; a restart is
        // counted when it happens.
        VmRecord starting = (underPolicy ? vm.record.restarted() : vm.record).withDesired("running");
        RecordedLaunch recorded = new RecordedLaunch(vm, starting.withState("running", null, null));
        try {
            Launcher.Source source = restore.isPresent() ? restore.get() : new Launcher.Boot(vm.spec, data.specFile(vm.id));
            started = launcher.start(source, vm.id, quota, data.socket(vm.id), data.consoleLog(vm.id), data.monitorLog(vm.id), recorded, ahead);
            StartTrace.mark("monitor-started");
        } catch (RuntimeException e) {
            recorded.notLaunched();
            throw e;
        } catch (IOException e) {
            String reason = switch (e) {
                case Launcher.Refused r -> r.getMessage();
                case Launcher.Unconfined u -> u.getMessage();
                default -> "cannot start a monitor: " + e.getMessage();
            };
            recordEnd(vm, new Ending(reason, false), underPolicy, System.nanoTime());
            throw conflict("cannot start " + vm.id + ": " + reason);
        }
        Process process = started.process();
        Run run = new Run(process.pid(), process, new MonitorClient(data.socket(vm.id), CLIENT_TIMEOUT), started.group());
        vm.run = run;
        watch(vm, run);
        // A standby's launch is answered with the VM running: no second round trip to ask, and the
        // record written before the launch (with the standby's pid, synced while it launched) is
        // the VM's as it stands; only the reply is left after the answer.
        boolean launchedRunning = started.launched().filter(status -> status.state() == VmState.RUNNING).isPresent();
        Thread syncing;
        // Waited for first in every case: the record written beside the launch must not land after the one written here.
        boolean recordedThisMonitor = recorded.matches(run.pid);
        StartTrace.mark("record-joined");
        if (launchedRunning && recordedThisMonitor) {
            remember(vm, recorded.written);
            syncing = null;
        } else {
            // Renamed into place at once (a restarted agent finds the monitor by it), synced while
            // the monitor builds the VM, and durable before the start is answered. A running state
            // learnt later need not wait for the disk: after a crash of the machine the monitor is
            // gone too, and the synced record (created or running, with its pid) makes the next
            // agent report the VM failed either way.
            save(vm, starting.withState(launchedRunning ? "running" : "created", null, run.pid), false);
            StartTrace.mark("record-renamed");
            syncing = Thread.ofVirtual().name("sync-record-" + vm.id).start(() -> syncRecord(vm));
        }
        try {
            if (!launchedRunning) {
                awaitRunning(vm, run, underPolicy).ifPresent(status -> save(vm, vm.record.withState(status.state().id(), null, run.pid), false));
            }
            StartTrace.mark("running");
        } finally {
            awaitSync(syncing);
            StartTrace.mark("record-synced");
        }
    }

    /**
     * The VM's record around a standby's launch, under the VM's lock: written (not yet made the
     * VM's in memory, nor announced) with the standby as its monitor, and synced, on a thread of
     * its own that starts just before the launch is sent, so that neither holds the launch up.
     * A standby that does not take the launch gets the record put back as it was: an agent killed
     * after that finds the VM as it would have without the launch (a cold monitor spawned next is
     * found by its socket). An agent killed before finds a record naming the standby, or the one
     * before: it re-adopts the launched standby by its socket, or reports the VM failed (a standby
     * that got no launch ends with its agent).
     */
    private final class RecordedLaunch implements Launcher.LaunchRecord {
        private final Vm vm;
        private final VmRecord expected;
        /** Writes {@link #written} and syncs it; null before the launch. */
        private Thread writing;
        /** The record on disk naming the standby, once {@link #writing} has written it; null until then, and once put back. */
        private volatile VmRecord written;

        RecordedLaunch(Vm vm, VmRecord expected) {
            this.vm = vm;
            this.expected = expected;
        }

        @Override
        public void launching(long pid) {
            VmRecord next = expected.withState(expected.state(), null, pid);
            writing = Thread.ofVirtual().name("record-" + vm.id).start(() -> {
                try {
                    data.writeUnsynced(next);
                } catch (IOException e) {
                    // Written after the answer instead, as a cold monitor's is.
                    LOG.log(Level.WARNING, "cannot write the record of " + vm.id, e);
                    return;
                }
                written = next;
                syncRecord(vm);
            });
            StartTrace.mark("record-writing");
        }

        @Override
        public void notLaunched() {
            awaitSync(writing);
            if (written == null) return;
            written = null;
            try {
                data.writeUnsynced(vm.record);
            } catch (IOException e) {
                LOG.log(Level.WARNING, "cannot write the record of " + vm.id + " back after a launch its standby did not take", e);
            }
        }

        /** Whether the record names monitor {@code pid}, on disk and durable (waited for). */
        boolean matches(long pid) {
            awaitSync(writing);
            VmRecord r = written;
            return r != null && r.pid() == pid;
        }
    }

    /** Waits for {@code syncing} to end; nothing to wait for when null. */
    private static void awaitSync(Thread syncing) {
        if (syncing == null) return;
        try {
            syncing.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Waits until the monitor runs the VM and returns its state; empty when the guest has run and
     * ended already (a stub that halts at once). A monitor that ends without running the guest
     * fails the start.
     */
    private Optional<ControlResponse.Status> awaitRunning(Vm vm, Run run, boolean underPolicy) {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        String last = "no answer";
        while (true) {
            Ending ending = run.ended.getNow(null);
            if (ending != null && ending.guestRan()) {
                endRun(vm, run, ending, true);
                return Optional.empty();
            }
            if (ending != null) {
                endRun(vm, run, ending, underPolicy);
                throw conflict("cannot start " + vm.id + ": " + ending.reason());
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                kill(run);
                Ending killed = awaitEnd(run, EXIT_TIMEOUT).orElse(new Ending("monitor process " + run.pid + " would not die", false));
                String reason = "the monitor did not run the VM within " + START_TIMEOUT.toSeconds() + " s (" + last + "); "
                        + killed.reason();
                endRun(vm, run, new Ending(reason, false), underPolicy);
                throw conflict("cannot start " + vm.id + ": " + reason);
            }
            try {
                // The monitor answers as soon as its VM runs: no polling once its socket is up.
                ControlResponse.Status status = run.client.awaitStarted(Duration.ofNanos(Math.min(left, START_WAIT_SLICE.toNanos())));
                if (status.state() == VmState.RUNNING || status.state() == VmState.PAUSED) return Optional.of(status);
                last = "the monitor says " + status.state().id();
                // Stopped or failed already: its exit follows.
                if (status.state() != VmState.CREATED) awaitEnd(run, POLL);
            } catch (IOException e) {
                // A cold monitor's socket is not up until its JVM has started.
                last = e.getMessage();
                awaitEnd(run, POLL);
            }
        }
    }

    private VmInfo control(Vm vm, String action) {
        Run run = vm.run;
        if (run == null) throw conflict("cannot " + action + " " + vm.id + ": the VM is " + vm.record.state());
        ControlResponse.Status status;
        try {
            status = action.equals("pause") ? run.client.pause() : run.client.resume();
        } catch (MonitorClient.RefusedException e) {
            throw conflict(e.reason());
        } catch (IOException e) {
            throw conflict("cannot " + action + " " + vm.id + ": its monitor did not answer: " + e.getMessage());
        }
        save(vm, vm.record.withState(status.state().id(), status.reason().orElse(null), run.pid));
        return info(vm);
    }

    /**
     * Stops the VM's monitor: asked to stop gracefully when {@code how} says so, forced when it
     * refuses or the guest has not ended in time, killed when it does not answer or exit.
     */
    private void stop(Vm vm, StopVm how) {
        Run run = vm.run;
        if (run == null && vm.record.desired().equals("running")) {
            // Between two runs under its restart policy: stopping it cancels the restart.
            save(vm, vm.record.withDesired("stopped"));
            return;
        }
        if (run == null) throw conflict("cannot stop " + vm.id + ": the VM is " + vm.record.state());
        save(vm, vm.record.withDesired("stopped"));
        String note = "";
        boolean done = false;
        if (how.graceful()) {
            try {
                run.client.stop(true, Duration.ofMillis(how.timeoutMillis()));
                done = true;
            } catch (MonitorClient.RefusedException e) {
                done = e.code().equals(ControlResponse.Refused.CONFLICT); // it has stopped already
                note = done ? "" : " (graceful stop refused: " + e.reason() + "; forced)";
            } catch (IOException e) {
                note = " (no graceful stop within " + how.timeoutMillis() + " ms; forced)";
            }
        }
        if (!done) {
            try {
                run.client.stop(false, Duration.ZERO);
            } catch (MonitorClient.RefusedException e) {
                if (!e.code().equals(ControlResponse.Refused.CONFLICT)) kill(run);
            } catch (IOException e) {
                kill(run);
                note += " (monitor did not answer; killed)";
            }
        }
        Optional<Ending> ending = awaitEnd(run, EXIT_TIMEOUT);
        if (ending.isEmpty()) {
            kill(run);
            awaitEnd(run, EXIT_TIMEOUT);
            note += " (monitor did not exit; killed)";
        }
        endRun(vm, run, new Ending("stopped through the API" + note, true), false);
    }

    /** The monitor is gone: the VM's share is released and its end recorded, published, and acted on if {@code restart}. */
    private void endRun(Vm vm, Run run, Ending ending, boolean restart) {
        run.handled = true;
        vm.run = null;
        run.group.ifPresent(Quotas::remove);
        recordEnd(vm, ending, restart, run.startedNanos);
    }

    /**
     * Records that the VM has no monitor any more, and starts it again later if {@code restart}
     * and its policy say so; it stays wanted running only while a restart is pending.
     */
    private void recordEnd(Vm vm, Ending ending, boolean restart, long startedNanos) {
        admission.release(vm.id);
        RestartPolicy policy = RestartPolicy.parse(vm.record.restartPolicy());
        boolean again = restart && vm.record.desired().equals("running")
                && (policy == RestartPolicy.ALWAYS || policy == RestartPolicy.ON_FAILURE && !ending.clean());
        VmRecord ended = ending.clean() ? vm.record.withState("stopped", ending.reason(), null) : vm.record.failed(ending.reason(), null);
        save(vm, ended.withDesired(again ? "running" : "stopped"));
        if (!again) return;
        long ran = System.nanoTime() - startedNanos;
        vm.quickEnds = ran < STABLE_RUN.toNanos() ? vm.quickEnds + 1 : 0;
        Duration backoff = BACKOFF_MIN.multipliedBy(1L << Math.min(vm.quickEnds, 10));
        scheduleRestart(vm, backoff.compareTo(BACKOFF_MAX) > 0 ? BACKOFF_MAX : backoff);
    }

    private void scheduleRestart(Vm vm, Duration backoff) {
        Thread.ofVirtual().name("restart-" + vm.id).start(() -> {
            sleep(backoff);
            vm.lock.lock();
            try {
                if (closed || vm.deleted || vm.run != null || !vm.record.desired().equals("running")) return;
                try {
                    start(vm, true, Optional.empty(), Optional.empty());
                } catch (ApiException e) {
                    // start recorded the failure and, as the policy says, planned the next try.
                }
            } finally {
                vm.lock.unlock();
            }
        });
    }

    /**
     * Waits on its own virtual thread for the monitor to end: a child through its exit status, an
     * adopted monitor (another process's child once) by its pid.
     */
    private void watch(Vm vm, Run run) {
        Thread.ofVirtual().name("watch-" + vm.id).start(() -> {
            Optional<Integer> status = Optional.empty();
            try {
                if (run.child != null) {
                    status = Optional.of(run.child.waitFor());
                } else {
                    while (Launcher.alive(run.pid)) Thread.sleep(100);
                }
            } catch (InterruptedException e) {
                return;
            }
            Ending ending = new Ending(Launcher.describeExit(run.pid, status, data.monitorLog(vm.id)), status.equals(Optional.of(0)),
                    status.equals(Optional.of(0)) || status.equals(Optional.of(3)));
            run.ended.complete(ending);
            if (closed) return;
            vm.lock.lock();
            try {
                if (vm.run == run && !run.handled && !vm.deleted && !closed) endRun(vm, run, ending, true);
            } finally {
                vm.lock.unlock();
            }
        });
    }

    /** At start: takes over a live monitor that runs this VM, or reports the VM failed (and restarts it if its policy says so). */
    private void adopt(Vm vm) {
        VmRecord r = vm.record;
        boolean hadMonitor = r.pid() != null && Set.of("created", "running", "paused").contains(r.state());
        // An agent killed between spawning a monitor and recording its pid left it running: its socket finds it.
        boolean startCutShort = r.pid() == null && r.state().equals("created") && r.desired().equals("running");
        if (!hadMonitor && !startCutShort) return;
        String reason;
        MonitorClient client = new MonitorClient(data.socket(vm.id), CLIENT_TIMEOUT);
        try {
            ControlResponse.Status status = client.state();
            long pid = r.pid() != null ? r.pid() : status.pid();
            if (status.pid() != pid) {
                reason = "the socket of monitor process " + pid + " is answered by process " + status.pid();
            } else if (!status.spec().equals(vm.spec)) {
                reason = "monitor process " + pid + " runs another spec than the VM's";
            } else if (status.state() == VmState.STOPPED || status.state() == VmState.FAILED) {
                reason = status.reason().orElse("the VM " + status.state().id());
            } else {
                Run run = new Run(pid, null, client, quotas.find(vm.id));
                vm.run = run;
                admission.hold(vm.id, vm.spec);
                save(vm, r.withState(status.state().id(), null, pid));
                watch(vm, run);
                return;
            }
        } catch (IOException e) {
            if (r.pid() == null) {
                reason = "the agent ended while the VM's monitor was starting, and no monitor answers on its socket";
            } else {
                long pid = r.pid();
                reason = Launcher.alive(pid)
                        ? "monitor process " + pid + " does not answer on its socket: " + e.getMessage()
                        : Launcher.describeExit(pid, Optional.empty(), data.monitorLog(vm.id)) + " while the agent was down";
            }
        }
        long pid = r.pid() != null ? r.pid() : 0;
        Run gone = new Run(pid, null, client, pid != 0 && Launcher.alive(pid) ? Optional.empty() : quotas.find(vm.id));
        gone.ended.complete(new Ending(reason, false));
        endRun(vm, gone, new Ending(reason, false), true);
    }

    // ---- helpers ----

    private VmInfo info(Vm vm) {
        Run run = vm.run;
        return info(vm, run == null ? null : run.group.flatMap(Quotas::usage).orElse(null));
    }

    /**
     * A create's or start's answer: without the usage of a VM that has run for milliseconds.
     * Reading it (6 or 7 files of the cgroup) was 0.3 to 0.6 ms of the answer's path; a GET reads it.
     */
    private VmInfo started(Vm vm) {
        return info(vm, null);
    }

    private VmInfo info(Vm vm, VmInfo.Usage usage) {
        VmRecord r = vm.record;
        return new VmInfo(vm.id, r.state(), r.reason(), r.pid(), r.labels(), r.restartPolicy(), r.restarts(), r.lastFailure(), vm.specJson,
                quotas.report(vm.spec, r.resources()), usage);
    }

    private Vm find(String id) {
        Vm vm = vms.get(id);
        if (vm == null) throw new ApiError.NotFound("no VM named " + id).exception();
        return vm;
    }

    private interface Locked<T> {
        T apply(Vm vm);
    }

    private <T> T locked(Vm vm, Locked<T> action) {
        vm.lock.lock();
        try {
            if (vm.deleted) throw new ApiError.NotFound("no VM named " + vm.id).exception();
            return action.apply(vm);
        } finally {
            vm.lock.unlock();
        }
    }

    /** Writes the record durably, then makes it the VM's; a change of state is published. */
    private void save(Vm vm, VmRecord next) {
        save(vm, next, true);
    }

    /** As {@link #save(Vm, VmRecord)}; unless {@code durable} the record is renamed into place without waiting for the disk. */
    private void save(Vm vm, VmRecord next, boolean durable) {
        if (!vm.deleted) {
            try {
                if (durable) {
                    data.write(next);
                } else {
                    data.writeUnsynced(next);
                }
            } catch (IOException e) {
                // The VM's real state is what it is: keep it in memory, say so, and let the next write try again.
                LOG.log(Level.WARNING, "cannot write the record of " + vm.id, e);
            }
        }
        remember(vm, next);
    }

    /** Makes {@code next}, on disk already, the VM's record; a change of state is published. */
    private void remember(Vm vm, VmRecord next) {
        VmRecord before = vm.record;
        vm.record = next;
        boolean changed = !next.state().equals(before.state()) || !java.util.Objects.equals(next.reason(), before.reason());
        if (vm.announced && changed) events.publish(vm.id, next.state(), next.reason());
    }

    /** Makes a folder just created durable; one that cannot be is removed, as a create that failed. */
    private void syncCreated(String id) throws IOException {
        try {
            data.sync(id);
        } catch (IOException e) {
            try {
                data.delete(id);
            } catch (IOException d) {
                e.addSuppressed(d);
            }
            throw e;
        }
    }

    /** Makes the VM's folder durable as it is now; a failure is logged, as a record's is. */
    private void sync(String id) {
        try {
            data.sync(id);
        } catch (IOException e) {
            LOG.log(Level.WARNING, "cannot sync the folder of " + id, e);
        }
    }

    /** Makes the VM's record durable as it is now (its folder was before); a failure is logged. */
    private void syncRecord(Vm vm) {
        try {
            data.syncRecord(vm.id);
        } catch (IOException e) {
            LOG.log(Level.WARNING, "cannot sync the record of " + vm.id, e);
        }
    }

    private static Optional<Ending> awaitEnd(Run run, Duration limit) {
        try {
            return Optional.of(run.ended.get(limit.toMillis(), TimeUnit.MILLISECONDS));
        } catch (TimeoutException e) {
            return Optional.empty();
        } catch (ExecutionException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }

    private static void kill(Run run) {
        if (run.child != null) {
            run.child.destroyForcibly();
        } else {
            ProcessHandle.of(run.pid).ifPresent(ProcessHandle::destroyForcibly);
        }
    }

    /**
     * Holds a fresh VM name as a create in flight holds its VM's, until {@link #releaseName}: a
     * create of that name runs every check a create makes and is then refused as a conflict,
     * before anything is made ({@link RequestWarmUp}'s creates).
     */
    String holdFreshName() {
        synchronized (creating) {
            String id = freshId();
            creating.add(id);
            return id;
        }
    }

    void releaseName(String id) {
        synchronized (creating) {
            creating.remove(id);
        }
    }

    private String freshId() {
        while (true) {
            String id = "vm-" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
            if (!vms.containsKey(id) && !creating.contains(id)) return id;
        }
    }

    private static ApiException conflict(String message) {
        return new ApiError.Conflict(message).exception();
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ApiError.Unavailable("interrupted", Duration.ofSeconds(1)).exception();
        }
    }

    /** Stops watching; the monitors run on, and the next agent re-adopts them. The standby ones end. */
    @Override
    public void close() {
        closed = true;
        launcher.close();
        events.close();
        data.close();
    }
}
