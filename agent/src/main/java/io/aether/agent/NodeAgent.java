package io.aether.agent;

import io.aether.agentapi.CreateVm;
import io.aether.agentapi.CreateVolume;
import io.aether.agentapi.NodeInfo;
import io.aether.agentapi.StopVm;
import io.aether.agentapi.TakeSnapshot;
import io.aether.cgroups.CgroupLayout;
import io.aether.cgroups.Cgroups;
import io.aether.http.ApiError;
import io.aether.http.HttpServer;
import io.aether.http.Limits;
import io.aether.http.MetricsEndpoint;
import io.aether.http.Listener;
import io.aether.http.Request;
import io.aether.http.Response;
import io.aether.http.Router;
import io.aether.monitorapi.WarmPool;
import io.aether.security.ServerCredentials;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * {@code aether node}: the node agent. It keeps its VMs in a data directory, runs each as an
 * {@code aether vm monitor} process, and serves the {@code /v1} API on {@code DATA/node.sock}
 * (mode 0600) and, when asked, over post-quantum TLS with pinned client certificates.
 * Closing it stops the API; the monitors run on, and the next agent on the same data
 * directory re-adopts them.
 */
public final class NodeAgent implements AutoCloseable {

    /** Start and stop wait on a monitor process: longer than the server's default request deadline. */
    private static final Duration SLOW_ROUTE = Node.START_TIMEOUT.plus(Duration.ofSeconds(30));

    /** Volume capacity that means: the data directory's free space, looked at when the agent starts. */
    public static final long DEFAULT_VOLUME_CAPACITY = 0;

    /**
     * How the agent runs.
     *
     * @param data the data directory
     * @param monitorCommand what runs {@code aether vm monitor}, its options following
     * @param listen {@code HOST:PORT} of a TLS listener beside the Unix socket, if any
     * @param clientCertificates SHA-256 fingerprints of the client certificates the TLS listener accepts
     * @param cgroupParent the cgroup, relative to each hierarchy's root, under which each VM's group is made
     * @param warmPool how many standby monitors to keep ready (0: every start is cold)
     * @param volumeCapacityBytes what the node's volumes may add up to ({@link #DEFAULT_VOLUME_CAPACITY}: the free space at start)
     */
    public record Options(Path data, List<String> monitorCommand, int cpus, long memoryBytes, double overcommit,
                          Optional<String> listen, Set<String> clientCertificates, String cgroupParent, int warmPool,
                          long volumeCapacityBytes) {
        public Options {
            Objects.requireNonNull(data, "data");
            monitorCommand = List.copyOf(monitorCommand);
            if (monitorCommand.isEmpty()) throw new IllegalArgumentException("--monitor-command: empty");
            if (cpus < 1) throw new IllegalArgumentException("--cpus: " + cpus + " is not a positive number");
            if (memoryBytes < 1) throw new IllegalArgumentException("--memory: must be positive");
            if (!(overcommit >= 1.0 && overcommit <= 16.0)) throw new IllegalArgumentException("--overcommit: " + overcommit + " is out of range (1.0 to 16.0)");
            Objects.requireNonNull(listen, "listen");
            clientCertificates = Set.copyOf(clientCertificates);
            if (volumeCapacityBytes < 0) throw new IllegalArgumentException("--volume-capacity: must not be negative");
            if (listen.isPresent() && clientCertificates.isEmpty()) {
                throw new IllegalArgumentException("--listen: needs at least one --client-cert (the API is never served to anyone who asks)");
            }
            Objects.requireNonNull(cgroupParent, "cgroupParent");
            if (warmPool < 0 || warmPool > WarmPool.MAX_SIZE) {
                throw new IllegalArgumentException("--warm-pool: " + warmPool + " is out of range (0 to " + WarmPool.MAX_SIZE + ")");
            }
        }

        /**
         * This host's CPUs and memory, no overcommit, the Unix socket only, monitors run cold by
         * this JVM's {@code aether} (no pool: {@code aether node} asks for one).
         */
        public static Options defaults(Path data) {
            return new Options(data, Launcher.defaultPrefix(data.resolve(Launcher.CLASS_DATA_ARCHIVE)), Runtime.getRuntime().availableProcessors(), hostMemory(), 1.0,
                    Optional.empty(), Set.of(), Cgroups.DEFAULT_PARENT, 0, DEFAULT_VOLUME_CAPACITY);
        }

        public Options withMonitorCommand(List<String> value) {
            return new Options(data, value, cpus, memoryBytes, overcommit, listen, clientCertificates, cgroupParent, warmPool, volumeCapacityBytes);
        }

        public Options withCapacity(int cpusValue, long memoryValue, double overcommitValue) {
            return new Options(data, monitorCommand, cpusValue, memoryValue, overcommitValue, listen, clientCertificates, cgroupParent, warmPool, volumeCapacityBytes);
        }

        public Options withListen(String hostPort, Set<String> fingerprints) {
            return new Options(data, monitorCommand, cpus, memoryBytes, overcommit, Optional.of(hostPort), fingerprints, cgroupParent, warmPool, volumeCapacityBytes);
        }

        public Options withCgroupParent(String value) {
            return new Options(data, monitorCommand, cpus, memoryBytes, overcommit, listen, clientCertificates, value, warmPool, volumeCapacityBytes);
        }

        public Options withWarmPool(int size) {
            return new Options(data, monitorCommand, cpus, memoryBytes, overcommit, listen, clientCertificates, cgroupParent, size, volumeCapacityBytes);
        }

        /**
         * Monitors that keep their own memory out of the host's same-page merging (the
         * monitor's {@code --no-page-merging}, added to their command; see {@link Ksm}).
         */
        public Options withoutPageMerging() {
            List<String> command = new ArrayList<>(monitorCommand);
            command.add(Launcher.NO_PAGE_MERGING);
            return withMonitorCommand(command);
        }

        /** What the node's volumes may add up to; {@link #DEFAULT_VOLUME_CAPACITY}: the data directory's free space when the agent starts. */
        public Options withVolumeCapacity(long bytes) {
            return new Options(data, monitorCommand, cpus, memoryBytes, overcommit, listen, clientCertificates, cgroupParent, warmPool, bytes);
        }
    }

    private final Node node;
    private final HttpServer server;
    private final Router routes;
    private final Path socket;
    private final Optional<String> fingerprint;
    /** The request path's warm-up, started with a warm pool; null without one. */
    private volatile Thread warmUp;
    /** Set by {@link #close}: the warm-up stops after its round (an interrupt would cut its server's stop short). */
    private volatile boolean closing;

    private NodeAgent(Node node, HttpServer server, Router routes, Path socket, Optional<String> fingerprint) {
        this.node = node;
        this.server = server;
        this.routes = routes;
        this.socket = socket;
        this.fingerprint = fingerprint;
    }

    /** Opens the data directory, re-adopts the monitors found there, and serves the API. */
    public static NodeAgent start(Options options) throws IOException {
        Quotas quotas = Quotas.open(CgroupLayout.detect(), options.cgroupParent());
        DataDir data = DataDir.open(options.data());
        // The monitors' class-data archive is made afresh by each agent: the JVM ignores, and never
        // rewrites, one made with an older jar.
        Files.deleteIfExists(data.root().resolve(Launcher.CLASS_DATA_ARCHIVE));
        Node node = Node.open(data, Launcher.withPool(options.monitorCommand(), options.warmPool(), data.root().resolve("pool"), quotas),
                new NodeInfo.Capacity(options.cpus(), options.memoryBytes(), options.overcommit()), Capabilities.probe(quotas), quotas);
        Path socket = data.root().resolve("node.sock");
        List<Listener> listeners = new ArrayList<>(List.of(new Listener.UnixSocket(socket)));
        Optional<String> fingerprint = Optional.empty();
        if (options.listen().isPresent()) {
            String hostPort = options.listen().get();
            int colon = hostPort.lastIndexOf(':');
            int port;
            try {
                port = Integer.parseInt(hostPort.substring(colon + 1));
            } catch (NumberFormatException e) {
                port = -1;
            }
            if (colon < 1 || port < 0 || port > 65_535) throw new IllegalArgumentException("--listen: '" + hostPort + "' is not HOST:PORT");
            ServerCredentials credentials = ServerCredentials.loadOrCreate(data.root().resolve("tls"), "aether-node");
            fingerprint = Optional.of(credentials.fingerprint());
            listeners.add(new Listener.Tcp(hostPort.substring(0, colon), port, credentials,
                    new Listener.ClientAuth.Pinned(options.clientCertificates())));
        }
        try {
            long volumeCapacity = options.volumeCapacityBytes() != DEFAULT_VOLUME_CAPACITY ? options.volumeCapacityBytes()
                    : Files.getFileStore(data.root()).getUsableSpace();
            Volumes volumes = new Volumes(VolumeStore.open(data.root(), volumeCapacity), node);
            Router routes = routes(node, volumes);
            NodeAgent agent = new NodeAgent(node, HttpServer.start(listeners, routes, Limits.DEFAULTS), routes, socket, fingerprint);
            // A pool is asked for fast starts: the create's path is warmed up too, in the background
            // while the pool fills (its standbys take seconds to warm up themselves).
            if (options.warmPool() > 0) {
                agent.warmUp = Thread.ofPlatform().daemon().name("agent-warm-up").start(() -> agent.warmUpRequestPath(RequestWarmUp.ROUNDS));
            }
            return agent;
        } catch (IOException | RuntimeException e) {
            node.close();
            throw e;
        }
    }

    /**
     * One line on this host's same-page merging for the agent's start-up log; with {@code start}
     * ({@code aether node --ksm}) it first starts KSM where it is stopped (a host setting, needs root).
     */
    public static String pageMerging(boolean start) {
        return Ksm.HOST.startUp(start);
    }

    /** The API's Unix socket. */
    public Path socket() {
        return socket;
    }

    /** The TLS listener's port (0 without one). */
    public int port() {
        return fingerprint.isPresent() ? server.port() : 0;
    }

    /** The SHA-256 fingerprint of the TLS listener's certificate, for clients to pin. */
    public Optional<String> fingerprint() {
        return fingerprint;
    }

    /** The API server's counters. */
    io.aether.http.Stats apiStats() {
        return server.stats();
    }

    Events events() {
        return node.events();
    }

    /** Runs {@code rounds} of the create request's path ({@link RequestWarmUp}); returns how many ran. */
    int warmUpRequestPath(int rounds) {
        return RequestWarmUp.run(routes, node, socket.resolveSibling(RequestWarmUp.SOCKET), rounds, () -> closing);
    }

    /** Stops serving; the monitors run on. */
    @Override
    public void close() {
        closing = true;
        Thread w = warmUp;
        if (w != null) {
            try {
                w.join(Duration.ofSeconds(10));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        node.close();
        server.close();
    }

    static Router routes(Node node, Volumes volumes) {
        String openApi = openApiDocument();
        PrometheusRegistry metrics = new PrometheusRegistry();
        metrics.register(new AgentMetrics(node::metricsSubjects, node.node().capacity(), () -> node.node().pool(), AgentMetrics.MONITOR_DEADLINE, Ksm.HOST));
        return new Router()
                .get("/openapi.json", req -> new Response.Text(200, "application/json", openApi))
                .get("/metrics", MetricsEndpoint.of(metrics))
                .get("/v1/node", req -> Response.ok(node.node()))
                .get("/v1/volumes", req -> Response.ok(volumes.list()))
                .post("/v1/volumes", req -> new Response.Json(201, volumes.create(req.body(CreateVolume.class))))
                .get("/v1/volumes/{name}", req -> Response.ok(volumes.get(req.param("name"))))
                .add("DELETE", "/v1/volumes/{name}", req -> {
                    volumes.delete(req.param("name"));
                    return new Response.Empty(204);
                }, 0, SLOW_ROUTE)
                .add("POST", "/v1/vms", req -> new Response.Json(201, volumes.createVm(req.body(CreateVm.class), node::create)), Limits.DEFAULTS.maxBodyBytes(), SLOW_ROUTE)
                .get("/v1/vms", req -> Response.ok(node.list()))
                .get("/v1/vms/{id}", req -> Response.ok(node.get(req.param("id"))))
                .add("POST", "/v1/vms/{id}/start", req -> Response.ok(node.start(req.param("id"))), 4096, SLOW_ROUTE)
                .post("/v1/vms/{id}/pause", req -> Response.ok(node.pause(req.param("id"))))
                .post("/v1/vms/{id}/resume", req -> Response.ok(node.resume(req.param("id"))))
                .add("POST", "/v1/vms/{id}/stop", req -> {
                    StopVm how = req.body(StopVm.class);
                    return Response.ok(node.stop(req.param("id"), how));
                }, 4096, Duration.ofMillis(StopVm.MAX_TIMEOUT_MILLIS).plus(SLOW_ROUTE))
                .add("DELETE", "/v1/vms/{id}", req -> {
                    node.delete(req.param("id"), flag(req, "force", false));
                    return new Response.Empty(204);
                }, 0, SLOW_ROUTE)
                .add("POST", "/v1/vms/{id}/snapshot", req -> new Response.Json(201, node.snapshot(req.param("id"), req.body(TakeSnapshot.class))),
                        4096, io.aether.monitorapi.MonitorClient.SNAPSHOT_TIME.plus(SLOW_ROUTE))
                .get("/v1/vms/{id}/snapshots", req -> Response.ok(node.snapshots(req.param("id"))))
                .get("/v1/vms/{id}/console", req -> node.console(req.param("id"), flag(req, "replay", true)))
                // The console is bytes; a tail cut inside a UTF-8 character shows a replacement character there.
                .get("/v1/vms/{id}/logs", req -> new Response.Text(200, "text/plain; charset=utf-8",
                        new String(node.logs(req.param("id"), number(req, "bytes", 64 * 1024)), StandardCharsets.UTF_8)))
                .get("/v1/events", req -> new Response.Events(node.events().hub(), node.events().after(after(req))));
    }

    private static boolean flag(Request req, String name, boolean absent) {
        Optional<String> v = req.query(name);
        if (v.isEmpty()) return absent;
        return switch (v.get()) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new ApiError.BadRequest(name, "expected true or false").exception();
        };
    }

    private static int number(Request req, String name, int absent) {
        Optional<String> v = req.query(name);
        if (v.isEmpty()) return absent;
        try {
            return Integer.parseInt(v.get());
        } catch (NumberFormatException e) {
            throw new ApiError.BadRequest(name, "expected a whole number").exception();
        }
    }

    /** {@code ?after=SEQ}: replay what the agent still has after that event; absent: nothing, only what comes. */
    private static long after(Request req) {
        Optional<String> v = req.query("after");
        if (v.isEmpty()) return Long.MAX_VALUE;
        try {
            long seq = Long.parseLong(v.get());
            if (seq < 0) throw new NumberFormatException();
            return seq;
        } catch (NumberFormatException e) {
            throw new ApiError.BadRequest("after", "expected an event sequence number (0 or more)").exception();
        }
    }

    private static String openApiDocument() {
        try (InputStream in = NodeAgent.class.getResourceAsStream("openapi.json")) {
            if (in == null) throw new IllegalStateException("openapi.json is missing from the agent's jar");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read openapi.json", e);
        }
    }

    /** MemTotal of /proc/meminfo; the JVM's view of the machine otherwise. */
    static long hostMemory() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        } catch (IOException | NumberFormatException e) {
            // fall through
        }
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean()).getTotalMemorySize();
    }
}
