package io.aether.fabric;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.aether.agentapi.AllocationReports;
import io.aether.agentapi.JoinRequest;
import io.aether.common.FieldException;
import io.aether.discovery.BeaconListener;
import io.aether.discovery.MulticastGroup;
import io.aether.fabricapi.JobSpec;
import io.aether.fabricapi.JobSpecJson;
import io.aether.fabricapi.Node;
import io.aether.http.ApiError;
import io.aether.http.HttpServer;
import io.aether.http.Limits;
import io.aether.http.Listener;
import io.aether.http.Request;
import io.aether.http.Response;
import io.aether.http.Router;
import io.aether.security.CertificateAuthority;
import io.aether.security.KeyId;
import java.security.cert.X509Certificate;
import java.io.IOException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * {@code aether controller}: this machine's share of the fabric's replicated state, the scheduler
 * run by whichever controller leads, and the {@code /v1} API.
 *
 * <pre>
 * GET    /v1/nodes              {"nodes": [...]}
 * GET    /v1/jobs               {"jobs": [...]}: each with its spec, version and pending reason
 * GET    /v1/jobs/{name}        {"job": ..., "allocations": [...]}; 404 for an unknown job
 * POST   /v1/jobs[?strict=true] a job spec (JSON); 201 {"job": NAME, "version": N}; 400 naming the field; 409 with strict if it can never fit
 * DELETE /v1/jobs/{name}[?purgeVolumes=true]  204: stopped (its volumes kept on their nodes unless purged); 404 for an unknown job
 * GET    /v1/volumes           {"volumes": [...]}: each job volume with its job, replica, name, size, node and state
 * DELETE /v1/volumes/{id}      204: a stopped job's volume deleted ({@code job.replica.name}); 404 for an unknown one, 409 while its job runs
 * GET    /v1/allocations        {"allocations": [...]}: each with its node's reported state, a running model's url and commit
 * GET    /v1/events?after=N     {"events": [...]}: at most 1,000 after sequence number N
 * POST   /v1/tokens             {"ttlSeconds": N}; 201 {"token": SECRET, "expires": ISO-8601}: a one-time join token
 * POST   /v1/sessions           {"role", "ttlSeconds"}; 201 {"id", "token", "role", "expires"}: a dashboard login, this controller only
 * DELETE /v1/sessions/{id}      204: ends it; 404 for an unknown or expired one
 * POST   /v1/nodes              a JoinRequest (agent-api); 201 {"node", "keyId", "certificate", "authority"}: the node's certificate; 403 with the reason
 * GET    /v1/nodes/{name}/desired   the node's DesiredVms (agent-api); 404 for an unknown node, 403 for a revoked one
 * POST   /v1/nodes/{name}/reports   AllocationReports (agent-api); 204; 404 for an unknown node, 403 for a revoked one
 * POST   /v1/nodes/{name}/drain     {"node": NAME, "status": "DRAINING"}: no new work, its replicas move; 404, 409 if revoked
 * POST   /v1/nodes/{name}/revoke    {"node": NAME, "status": "REVOKED"}: refused from now on, its replicas move; 404
 * GET    /v1/nodes/pending      {"discovery": true|false, "pending": [...]}: nodes heard on the multicast group that have not joined
 * GET    /openapi.json          the OpenAPI 3.1 document of all of the above
 * </pre>
 *
 * Reads are linearizable (through the leader), so a submit is seen by the next read on any
 * controller.
 */
public final class Controller implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(Controller.class.getName());
    /** How often the leader looks for work to place even when nothing was submitted (nodes join, replicas are preempted). */
    static final Duration RECONCILE_EVERY = Duration.ofSeconds(1);
    /** Placements per {@code ApplyPlan} command: about 0.9 MB of log entry, far below Ratis's 4 MiB. */
    static final int MAX_PLACEMENTS_PER_PLAN = 10_000;
    /** A job spec is at most {@link JobSpecJson#MAX_CHARS} characters, each at most 4 bytes. */
    static final long MAX_SUBMIT_BYTES = 4L * JobSpecJson.MAX_CHARS;
    /** A report of {@link AllocationReports#MAX_REPORTS} VMs with the longest reasons takes about half of this. */
    static final long MAX_REPORT_BYTES = 1L << 20;

    private final ReplicatedFabric fabric;
    private final Clock clock;
    private final ScheduledExecutorService reconciler;
    private final HttpServer server;
    /** What the router serves, as {@code METHOD TEMPLATE}: the OpenAPI document's test compares it with the document. */
    private final List<String> servedRoutes;
    private final Object reconciling = new Object();
    private final JoinTokens tokens;
    private final NodeRegistration registration;
    private final FabricTrust trust;
    private final Access access;
    private final Sessions sessions;
    private final List<Listener> listeners;
    private final ClientIdentities clients;
    /** Per node, when it last pulled or reported through this controller: not replicated, each controller sees its own nodes. */
    private final Map<String, Instant> lastContact = new ConcurrentHashMap<>();
    private final AtomicLong revokedRequests = new AtomicLong();
    /** Set once the API is up (a TLS listener's port is known only then); until then no node is listed as pending. */
    private volatile Optional<ControllerDiscovery> discovery = Optional.empty();

    private Controller(ReplicatedFabric fabric, ControllerConfig config, Clock clock, List<Listener> given, Duration reconcileEvery,
            Optional<MulticastGroup> group) throws IOException {
        this.fabric = fabric;
        this.clock = clock;
        this.trust = FabricTrust.open(fabric, config.dataDir(), config.self(), pinnedClients(given), clock);
        this.sessions = new Sessions(clock, new SecureRandom(), Sessions.MAX_LIVE);
        this.access = new Access(trust, sessions);
        List<Listener> listeners = given.stream().map(this::withFabricClients).toList();
        this.listeners = listeners;
        Optional<String> tlsFingerprint = listeners.stream().filter(Listener.Tcp.class::isInstance).map(l -> ((Listener.Tcp) l).credentials().fingerprint()).findFirst();
        this.tokens = new JoinTokens(fabric, clock, new SecureRandom(), tlsFingerprint);
        this.clients = new ClientIdentities(fabric, trust, clock, tlsFingerprint);
        this.registration = new NodeRegistration(tokens);
        this.reconciler = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("fabric-reconciler").daemon().factory());
        Router router = clients.mount(routes()).guardedBy(access);
        this.servedRoutes = router.routes();
        this.server = HttpServer.start(listeners, router, Limits.DEFAULTS);
        this.discovery = group.flatMap(g -> startDiscovery(g, listeners));
        reconciler.scheduleWithFixedDelay(this::reconcileQuietly, reconcileEvery.toMillis(), reconcileEvery.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Starts this controller: its Raft server (which joins the group) and its API on {@code listeners}. */
    public static Controller start(ControllerConfig config, List<Listener> listeners) throws IOException {
        return start(config, listeners, RECONCILE_EVERY, Optional.empty());
    }

    /**
     * As {@link #start(ControllerConfig, List)}, and on the multicast {@code group}: nodes that have
     * not joined are listed as pending from their beacons, and a controller with a TLS listener
     * announces it (its id, its certificate's key, the port).
     */
    public static Controller start(ControllerConfig config, List<Listener> listeners, MulticastGroup group) throws IOException {
        return start(config, listeners, RECONCILE_EVERY, Optional.of(group));
    }

    /** As {@link #start(ControllerConfig, List)}, with the background scheduling pass every {@code reconcileEvery} (tests make it rare to control when plans happen). */
    static Controller start(ControllerConfig config, List<Listener> listeners, Duration reconcileEvery) throws IOException {
        return start(config, listeners, reconcileEvery, Optional.empty());
    }

    static Controller start(ControllerConfig config, List<Listener> listeners, Duration reconcileEvery, Optional<MulticastGroup> group) throws IOException {
        ReplicatedFabric fabric = ReplicatedFabric.start(config);
        try {
            return new Controller(fabric, config, Clock.systemUTC(), listeners, reconcileEvery, group);
        } catch (IOException | RuntimeException e) {
            fabric.close();
            throw e;
        }
    }

    /** The TCP port of the API's TLS listener (not the dashboard's); fails if there is none. */
    public int port() {
        return server.port(listeners.stream().filter(Listener.Tcp.class::isInstance).findFirst()
                .orElseThrow(() -> new IllegalStateException("this controller has no TLS listener")));
    }

    /** The port of the browser listener ({@link Listener.Browser}); fails if there is none. */
    public int dashboardPort() {
        return server.port(dashboardListener().orElseThrow(() -> new IllegalStateException("this controller has no dashboard listener")));
    }

    /** {@code https://HOST:PORT/} of the browser listener, if this controller has one. */
    public Optional<String> dashboardUrl() {
        return dashboardListener().map(l -> "https://" + (l.host().contains(":") ? "[" + l.host() + "]" : l.host()) + ":" + server.port(l) + "/");
    }

    private Optional<Listener.Browser> dashboardListener() {
        return listeners.stream().filter(Listener.Browser.class::isInstance).map(Listener.Browser.class::cast).findFirst();
    }

    /**
     * A TLS listener admits the fabric's node certificates (checked against the replicated state
     * at each handshake), the fingerprints it was given pinned, and clients without a certificate
     * for registration only ({@link Access}).
     */
    private Listener withFabricClients(Listener listener) {
        return listener instanceof Listener.Tcp tcp ? new Listener.Tcp(tcp.host(), tcp.port(), tcp.credentials(), new Listener.ClientAuth.Checked(trust)) : listener;
    }

    private static Set<String> pinnedClients(List<Listener> listeners) {
        Set<String> pinned = new HashSet<>();
        for (Listener l : listeners) {
            if (l instanceof Listener.Tcp(String host, int port, var credentials, Listener.ClientAuth.Pinned(Set<String> fingerprints))) pinned.addAll(fingerprints);
        }
        return pinned;
    }

    /** Client certificates refused at a handshake or a request since this controller started. */
    long certificatesRefused() {
        return trust.refused();
    }

    /** Requests refused for what their caller may not do since this controller started. */
    long requestsRefused() {
        return access.refused();
    }

    /** Browser-listener requests refused since this controller started for an unknown, ended, expired or missing session token (each a 401). */
    long sessionsRefused() {
        return sessions.refused();
    }

    /** Node joins this controller refused since it started. */
    long registrationsRefused() {
        return registration.refused();
    }

    /** Discovery is a convenience: a machine without a multicast-capable interface still runs a controller, without it. */
    private Optional<ControllerDiscovery> startDiscovery(MulticastGroup group, List<Listener> listeners) {
        try {
            return Optional.of(ControllerDiscovery.start(group, announcement(listeners)));
        } catch (IOException | RuntimeException e) {
            LOG.warning("discovery is off: " + e.getMessage());
            return Optional.empty();
        }
    }

    /** What this controller announces: only a TLS listener can be reached from another machine. */
    private Optional<ControllerDiscovery.Announcement> announcement(List<Listener> listeners) {
        return listeners.stream().filter(Listener.Tcp.class::isInstance).map(Listener.Tcp.class::cast).findFirst()
                .map(tcp -> new ControllerDiscovery.Announcement(fabric.id(), KeyId.of(tcp.credentials().certificate().getPublicKey()), server.port(tcp)));
    }

    /** Controller beacons sent since this controller started (0 without discovery or a TLS listener). */
    long announced() {
        return discovery.map(ControllerDiscovery::announced).orElse(0L);
    }

    /** Pulls and reports by revoked nodes refused since this controller started. */
    long revokedRequests() {
        return revokedRequests.get();
    }

    List<String> servedRoutes() {
        return servedRoutes;
    }

    ReplicatedFabric fabric() {
        return fabric;
    }

    /**
     * If this controller leads, advances the rollouts that have a step to take, then plans and
     * proposes what the scheduler decides; a plan that changes nothing is not proposed. The state
     * machine checks each step and the plan again when it applies them.
     */
    void reconcile() throws IOException {
        reconcile(MAX_PLACEMENTS_PER_PLAN);
    }

    /**
     * As {@link #reconcile()}, committing at most {@code maxPlacements} placements per
     * {@code ApplyPlan}: a larger plan is committed as consecutive batches of it, each checked
     * against the state as the one before left it. (One plan of 100,000 placements is an 8.9 MB
     * log entry, over Ratis's 4 MiB limit: refused every pass, the fleet's work was never placed.)
     * A refused batch ends the pass; the next pass plans again.
     */
    void reconcile(int maxPlacements) throws IOException {
        synchronized (reconciling) {
            if (!fabric.isLeader()) return;
            Instant now = clock.instant();
            for (String job : fabric.readLocal(s -> Rollouts.due(s, now))) fabric.propose(new Command.AdvanceRollout(job, now));
            Command.Plan plan = fabric.readLocal(s -> Scheduler.plan(Scheduler.View.of(s)));
            if (plan.changesNothing(fabric.readLocal(FabricState::pending))) return;
            // A plan that preempts goes whole: its placements are what justify its preemptions.
            for (Command.Plan batch : plan.preemptions().isEmpty() ? plan.batches(maxPlacements) : List.of(plan)) {
                if (fabric.propose(new Command.ApplyPlan(batch, clock.instant())) instanceof Outcome.Refused(String reason)) {
                    LOG.fine(() -> "plan refused, the next pass plans again: " + reason);
                    return;
                }
            }
        }
    }

    private void reconcileQuietly() {
        try {
            trust.record();
            reconcile();
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.WARNING, "scheduling pass failed; the next one retries: " + e.getMessage());
        }
    }

    private Router routes() {
        return Dashboard.mount(new Router())
                .get("/v1/nodes", this::nodes)
                .get("/v1/nodes/pending", this::pending)
                .get("/v1/jobs", req -> read("jobs"))
                .get("/v1/allocations", req -> read("allocations"))
                .get("/v1/jobs/{name}", this::job)
                .add("POST", "/v1/jobs", this::submit, MAX_SUBMIT_BYTES, Duration.ofSeconds(30))
                .delete("/v1/jobs/{name}", this::stop)
                .get("/v1/volumes", req -> read("volumes"))
                .delete("/v1/volumes/{id}", this::deleteVolume)
                .get("/v1/events", this::events)
                .add("POST", "/v1/tokens", this::createToken, 1024, Duration.ofSeconds(30))
                .add("POST", "/v1/sessions", this::createSession, 1024, Duration.ofSeconds(30))
                .delete("/v1/sessions/{id}", this::endSession)
                .add("POST", "/v1/nodes", this::join, 64 * 1024, Duration.ofSeconds(30))
                .get("/v1/nodes/{name}/desired", this::desired)
                .add("POST", "/v1/nodes/{name}/reports", this::report, MAX_REPORT_BYTES, Duration.ofSeconds(30))
                .add("POST", "/v1/nodes/{name}/drain", req -> changeNode(req, new Command.DrainNode(req.param("name"), clock.instant())), 0,
                        Duration.ofSeconds(30))
                .add("POST", "/v1/nodes/{name}/revoke", req -> changeNode(req, new Command.RevokeNode(req.param("name"), clock.instant())), 0,
                        Duration.ofSeconds(30));
    }

    private Response createToken(Request req) throws IOException {
        JsonNode ttl = req.body(JsonNode.class).path("ttlSeconds");
        if (!ttl.isIntegralNumber() || !ttl.canConvertToLong()) throw new ApiError.BadRequest("ttlSeconds", "expected a whole number of seconds").exception();
        JoinTokens.Issued issued;
        try {
            issued = tokens.create(Duration.ofSeconds(ttl.longValue()));
        } catch (IllegalArgumentException e) {
            throw new ApiError.BadRequest("ttlSeconds", e.getMessage().replaceFirst("^ttl: ", "")).exception();
        }
        return new Response.Json(201, JsonNodeFactory.instance.objectNode().put("token", issued.secret()).put("expires", issued.expires().toString()));
    }

    private Response createSession(Request req) {
        JsonNode body = req.body(JsonNode.class);
        if (!body.isObject()) throw new ApiError.BadRequest("body", "expected {\"role\", \"ttlSeconds\"}").exception();
        for (String field : (Iterable<String>) body::fieldNames) {
            if (!field.equals("role") && !field.equals("ttlSeconds")) throw new ApiError.BadRequest(field, "unknown field").exception();
        }
        Access.Need role = Access.role(body.path("role").asText("")).orElseThrow(() -> new ApiError.BadRequest("role", "expected read, operate or admin").exception());
        JsonNode ttl = body.path("ttlSeconds");
        if (!ttl.isIntegralNumber() || !ttl.canConvertToLong()) throw new ApiError.BadRequest("ttlSeconds", "expected a whole number of seconds").exception();
        Sessions.Issued issued;
        try {
            issued = sessions.create(role, Duration.ofSeconds(ttl.longValue()));
        } catch (IllegalArgumentException e) {
            throw new ApiError.BadRequest("ttlSeconds", e.getMessage().replaceFirst("^ttlSeconds: ", "")).exception();
        } catch (IllegalStateException e) {
            throw new ApiError.Conflict(e.getMessage()).exception();
        }
        ObjectNode answer = JsonNodeFactory.instance.objectNode().put("id", issued.id()).put("token", issued.token())
                .put("role", body.path("role").asText()).put("expires", issued.expires().toString());
        dashboardUrl().ifPresent(url -> answer.put("url", url));
        return new Response.Json(201, answer);
    }

    private Response endSession(Request req) {
        String id = req.param("id");
        if (!sessions.end(id)) throw new ApiError.NotFound("no live session " + id).exception();
        return new Response.Empty(204);
    }

    private Response join(Request req) throws IOException {
        JoinRequest request = req.body(JoinRequest.class);
        if (!trust.record()) throw new ApiError.Unavailable("this controller cannot issue node certificates now; try another", Duration.ofSeconds(5)).exception();
        if (registration.join(request) instanceof Outcome.Refused(String reason)) throw new ApiError.Forbidden("join refused: " + reason).exception();
        reconcile();
        X509Certificate certificate = trust.issueNode(request.name(), NodeRegistration.decode(request.keyBytes()));
        return new Response.Json(201, JsonNodeFactory.instance.objectNode().put("node", request.name()).put("keyId", NodeRegistration.keyId(request.key()))
                .put("certificate", CertificateAuthority.pem(certificate)).put("authority", CertificateAuthority.pem(trust.authorityCertificate())));
    }

    /** The nodes, each with when it last pulled or reported through this controller ({@code lastContact}, absent if never). */
    private Response nodes(Request req) throws IOException {
        ArrayNode nodes = fabric.query(query("nodes")).path("nodes").deepCopy();
        nodes.forEach(n -> {
            Instant seen = lastContact.get(n.path("name").asText());
            if (seen != null) ((ObjectNode) n).put("lastContact", seen.toString());
        });
        return new Response.Json(200, JsonNodeFactory.instance.objectNode().set("nodes", nodes));
    }

    /** Nodes heard on the multicast group whose name and key no joined node has: discovered, not registered. */
    private Response pending(Request req) throws IOException {
        Optional<ControllerDiscovery> heard = discovery;
        ObjectNode out = JsonNodeFactory.instance.objectNode().put("discovery", heard.isPresent());
        ArrayNode rows = out.putArray("pending");
        if (heard.isEmpty()) return new Response.Json(200, out);
        Set<String> names = new HashSet<>();
        Set<String> keys = new HashSet<>();
        fabric.query(query("nodes")).path("nodes").forEach(n -> {
            names.add(n.path("name").asText());
            keys.add(n.path("keyId").asText());
        });
        for (BeaconListener.Heard node : heard.get().pending(names, keys)) {
            rows.addObject().put("name", node.beacon().name()).put("keyId", node.beacon().key().hex())
                    .put("address", node.api().getAddress().getHostAddress()).put("port", node.api().getPort())
                    .put("firstSeen", node.firstHeard().toString()).put("lastSeen", node.lastHeard().toString());
        }
        return new Response.Json(200, out);
    }

    /** Drains or revokes a node, then schedules at once so that its replicas move without waiting for the next pass. */
    private Response changeNode(Request req, Command command) throws IOException {
        String name = req.param("name");
        if (fabric.propose(command) instanceof Outcome.Refused(String reason)) {
            throw (reason.startsWith("no node ") ? new ApiError.NotFound(reason) : new ApiError.Conflict(reason)).exception();
        }
        LOG.info(() -> "node " + name + ": " + command.getClass().getSimpleName());
        reconcile();
        return new Response.Json(200, JsonNodeFactory.instance.objectNode().put("node", name)
                .put("status", command instanceof Command.RevokeNode ? Node.Status.REVOKED.name() : Node.Status.DRAINING.name()));
    }

    private Response desired(Request req) throws IOException {
        String node = requireNode(req.param("name"));
        ObjectNode desired = fabric.query(query("desired").put("node", node)).deepCopy();
        return new Response.Json(200, desired.without(List.of("applied", "refusedEntries")));
    }

    private Response report(Request req) throws IOException {
        String node = requireNode(req.param("name"));
        AllocationReports reports = req.body(AllocationReports.class);
        TreeMap<String, String> states = new TreeMap<>();
        TreeMap<String, FabricState.Serving> serving = new TreeMap<>();
        for (AllocationReports.Report r : reports.reports()) {
            states.put(r.allocation(), r.reason() == null || r.reason().isEmpty() ? r.state() : r.state() + ": " + r.reason());
            if (r.url() != null && r.commit() != null) serving.put(r.allocation(), new FabricState.Serving(r.url(), r.commit()));
        }
        Optional<Node.VolumeSpace> volumes = Optional.ofNullable(reports.volumes())
                .map(v -> new Node.VolumeSpace(v.capacityBytes(), v.freeBytes(), v.jobBytes()));
        if (fabric.propose(new Command.ReportAllocations(node, reports.revision(), states, serving, volumes, clock.instant())) instanceof Outcome.Refused(String reason)) {
            throw new ApiError.NotFound(reason).exception();
        }
        return new Response.Empty(204);
    }

    /** {@code name} if it is a node that may talk to the fabric; a revoked node's request is refused, logged and counted. */
    private String requireNode(String name) throws IOException {
        for (JsonNode n : fabric.query(query("nodes")).path("nodes")) {
            if (!n.path("name").asText().equals(name)) continue;
            if (n.path("status").asText().equals(Node.Status.REVOKED.name())) {
                revokedRequests.incrementAndGet();
                LOG.warning(() -> "request of revoked node " + name + " refused");
                throw new ApiError.Forbidden("node " + name + " is revoked").exception();
            }
            lastContact.put(name, clock.instant());
            return name;
        }
        throw new ApiError.NotFound("no node " + name).exception();
    }

    private Response read(String what) throws IOException {
        JsonNode answer = fabric.query(query(what));
        return new Response.Json(200, JsonNodeFactory.instance.objectNode().set(what, answer.path(what)));
    }

    private Response job(Request req) throws IOException {
        String name = req.param("name");
        for (JsonNode job : fabric.query(query("jobs")).path("jobs")) {
            if (!job.path("spec").path("name").asText().equals(name)) continue;
            ObjectNode out = JsonNodeFactory.instance.objectNode();
            out.set("job", job);
            var allocations = out.putArray("allocations");
            fabric.query(query("allocations")).path("allocations").forEach(a -> {
                if (a.path("job").asText().equals(name)) allocations.add(a);
            });
            return new Response.Json(200, out);
        }
        throw new ApiError.NotFound("no job " + name).exception();
    }

    private Response submit(Request req) throws IOException {
        JobSpec spec;
        try {
            spec = JobSpecJson.read(req.body(JsonNode.class));
        } catch (FieldException e) {
            throw new ApiError.BadRequest(e.field(), e.problem()).exception();
        }
        if (req.query("strict").filter("true"::equals).isPresent()) {
            Optional<String> never = fabric.readLocal(s -> Scheduler.neverFits(spec, s.nodes.values()));
            if (never.isPresent()) throw new ApiError.Conflict("job " + spec.name() + " can never fit: " + never.get()).exception();
        }
        Outcome outcome = fabric.propose(new Command.SubmitJob(spec, clock.instant()));
        if (outcome instanceof Outcome.Refused(String reason)) throw new ApiError.Conflict(reason).exception();
        reconcile();
        long version = fabric.query(query("jobs")).path("jobs").valueStream()
                .filter(j -> j.path("spec").path("name").asText().equals(spec.name())).mapToLong(j -> j.path("version").asLong()).findFirst().orElse(0);
        return new Response.Json(201, JsonNodeFactory.instance.objectNode().put("job", spec.name()).put("version", version));
    }

    private Response stop(Request req) throws IOException {
        String name = req.param("name");
        if (fabric.propose(new Command.StopJob(name, clock.instant())) instanceof Outcome.Refused(String reason)) {
            throw new ApiError.NotFound(reason).exception();
        }
        if (req.query("purgeVolumes").filter("true"::equals).isPresent()) {
            // A job without volumes has none to purge: that refusal is not an error here.
            fabric.propose(new Command.DeleteVolumes(name, Optional.empty(), clock.instant()));
        }
        return new Response.Empty(204);
    }

    /** Deletes one job volume, {@code job.replica.name}, once its job stopped. */
    private Response deleteVolume(Request req) throws IOException {
        String id = req.param("id");
        String job = null;
        for (JsonNode v : fabric.query(query("volumes")).path("volumes")) {
            if (v.path("id").asText().equals(id)) job = v.path("job").asText();
        }
        if (job == null) throw new ApiError.NotFound("no job volume " + id).exception();
        if (fabric.propose(new Command.DeleteVolumes(job, Optional.of(id), clock.instant())) instanceof Outcome.Refused(String reason)) {
            throw new ApiError.Conflict(reason).exception();
        }
        return new Response.Empty(204);
    }

    private Response events(Request req) throws IOException {
        long after;
        try {
            after = Long.parseLong(req.query("after").orElse("0"));
        } catch (NumberFormatException e) {
            throw new ApiError.BadRequest("after", "not a sequence number").exception();
        }
        if (after < 0) throw new ApiError.BadRequest("after", "negative").exception();
        JsonNode answer = fabric.query(query("events").put("after", after));
        return new Response.Json(200, JsonNodeFactory.instance.objectNode().set("events", answer.path("events")));
    }

    private static ObjectNode query(String what) {
        return JsonNodeFactory.instance.objectNode().put("query", what);
    }

    @Override
    public void close() throws IOException {
        reconciler.shutdownNow();
        discovery.ifPresent(ControllerDiscovery::close);
        try {
            server.close();
        } finally {
            fabric.close();
        }
    }
}
