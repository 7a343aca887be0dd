package io.aether.fabric;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.aether.fabricapi.JobSpec;
import io.aether.fabricapi.JobSpecException;
import io.aether.fabricapi.JobSpecJson;
import io.aether.http.ApiError;
import io.aether.http.HttpServer;
import io.aether.http.Limits;
import io.aether.http.Listener;
import io.aether.http.Request;
import io.aether.http.Response;
import io.aether.http.Router;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
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
 * POST   /v1/jobs               a job spec (JSON); 201 {"job": NAME, "version": N}; 400 naming the field
 * DELETE /v1/jobs/{name}        204; 404 for an unknown job
 * GET    /v1/allocations        {"allocations": [...]}
 * GET    /v1/events?after=N     {"events": [...]}: at most 1,000 after sequence number N
 * </pre>
 *
 * Reads are linearizable (through the leader), so a submit is seen by the next read on any
 * controller.
 */
public final class Controller implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(Controller.class.getName());
    /** How often the leader looks for work to place even when nothing was submitted (nodes join, replicas are preempted). */
    static final Duration RECONCILE_EVERY = Duration.ofSeconds(1);
    /** A job spec is at most {@link JobSpecJson#MAX_CHARS} characters, each at most 4 bytes. */
    static final long MAX_SUBMIT_BYTES = 4L * JobSpecJson.MAX_CHARS;

    private final ReplicatedFabric fabric;
    private final Clock clock;
    private final ScheduledExecutorService reconciler;
    private final HttpServer server;
    private final Object reconciling = new Object();

    private Controller(ReplicatedFabric fabric, Clock clock, List<Listener> listeners, Duration reconcileEvery) throws IOException {
        this.fabric = fabric;
        this.clock = clock;
        this.reconciler = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("fabric-reconciler").daemon().factory());
        this.server = HttpServer.start(listeners, routes(), Limits.DEFAULTS);
        reconciler.scheduleWithFixedDelay(this::reconcileQuietly, reconcileEvery.toMillis(), reconcileEvery.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Starts this controller: its Raft server (which joins the group) and its API on {@code listeners}. */
    public static Controller start(ControllerConfig config, List<Listener> listeners) throws IOException {
        return start(config, listeners, RECONCILE_EVERY);
    }

    /** As {@link #start(ControllerConfig, List)}, with the background scheduling pass every {@code reconcileEvery} (tests make it rare to control when plans happen). */
    static Controller start(ControllerConfig config, List<Listener> listeners, Duration reconcileEvery) throws IOException {
        ReplicatedFabric fabric = ReplicatedFabric.start(config);
        try {
            return new Controller(fabric, Clock.systemUTC(), listeners, reconcileEvery);
        } catch (IOException | RuntimeException e) {
            fabric.close();
            throw e;
        }
    }

    /** The TCP port of the API's TLS listener, if it has one. */
    public int port() {
        return server.port();
    }

    ReplicatedFabric fabric() {
        return fabric;
    }

    /**
     * If this controller leads, plans and proposes what the scheduler decides; a plan that changes
     * nothing is not proposed. The state machine checks the plan again when it applies it.
     */
    void reconcile() throws IOException {
        synchronized (reconciling) {
            if (!fabric.isLeader()) return;
            Command.Plan plan = fabric.readLocal(s -> Scheduler.plan(Scheduler.View.of(s)));
            if (plan.changesNothing(fabric.readLocal(FabricState::pending))) return;
            if (fabric.propose(new Command.ApplyPlan(plan, clock.instant())) instanceof Outcome.Refused(String reason)) {
                LOG.fine(() -> "plan refused, the next pass plans again: " + reason);
            }
        }
    }

    private void reconcileQuietly() {
        try {
            reconcile();
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.WARNING, "scheduling pass failed; the next one retries: " + e.getMessage());
        }
    }

    private Router routes() {
        return Dashboard.mount(new Router())
                .get("/v1/nodes", req -> read("nodes"))
                .get("/v1/jobs", req -> read("jobs"))
                .get("/v1/allocations", req -> read("allocations"))
                .get("/v1/jobs/{name}", this::job)
                .add("POST", "/v1/jobs", this::submit, MAX_SUBMIT_BYTES, Duration.ofSeconds(30))
                .delete("/v1/jobs/{name}", this::stop)
                .get("/v1/events", this::events);
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
        } catch (JobSpecException e) {
            throw new ApiError.BadRequest(e.field(), e.problem()).exception();
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
        try {
            server.close();
        } finally {
            fabric.close();
        }
    }
}
