package io.aether.ai;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.aether.http.Handler;
import io.aether.http.HttpServer;
import io.aether.http.Limits;
import io.aether.http.Listener;
import io.aether.http.MetricsEndpoint;
import io.aether.http.Request;
import io.aether.http.Response;
import io.aether.http.Router;
import io.aether.http.Stats;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The HTTP endpoint of an {@link InferenceRuntime}, on the http module's server (Jetty, a
 * virtual thread per request, plain HTTP as before: loopback by default). Endpoints, documented
 * with examples in the module's README:
 * <ul>
 *   <li>{@code GET /healthz}</li>
 *   <li>{@code GET /metrics}: Prometheus text format</li>
 *   <li>{@code GET /v1/models}, {@code GET /v1/models/{name}}: versions, signatures, routing</li>
 *   <li>{@code POST /v1/models/{name}:predict}, {@code POST /v1/models/{name}/versions/{version}:predict}:
 *       JSON ({@code application/json}) or binary tensors ({@value TensorWireFormat#MEDIA_TYPE})</li>
 *   <li>admin, when enabled: {@code POST /v1/models/{name}:switch}, {@code :canary}, {@code :promote},
 *       {@code :rollback}</li>
 * </ul>
 * Errors are JSON {@code {"error": "..."}} with 400 (bad input, naming it), 401 (admin token
 * missing or wrong), 403 (admin disabled, or a cross-origin admin request), 404, 405, 409, 413 (body
 * too large), 415, 422 (model refused at load), 502, 503 (queue full or in-flight budget
 * exhausted) or 500. What the http module refuses before a handler runs (an unknown path or
 * action, a wrong method, a model name outside its parameter rule, too many connections, a body
 * slower than {@link #MIN_DATA_RATE}) is answered in its format, {@code {"error": CODE, "message": ...}}.
 *
 * <p>Memory: a predict request's body is read only after its model and version are found, and
 * is parsed from the stream straight into tensors of that version's signature. A budget shared
 * by all requests ({@link ServerConfig#maxInFlightBytes()}) bounds the bytes of the tensors they
 * hold: each buffer is taken before it is allocated (a binary body's length at once), and all
 * is given back once the request is answered. A request the budget cannot hold waits up to
 * {@link #BUDGET_WAIT} and is then answered 503 with {@code Retry-After} (see {@link ByteBudget}
 * for who goes first). Answers are written straight from the output tensors.
 *
 * <p>Admin requests must carry {@code Authorization: Bearer TOKEN} ({@link AdminToken}),
 * {@code Content-Type: application/json} and no {@code Origin} (the server serves no web pages,
 * so every origin is foreign): a web page cannot send such a request across sites without a
 * preflight this server never answers, nor know the token.
 */
public final class InferenceServer implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(InferenceServer.class.getName());
    private static final String JSON = "application/json";
    /** Response header naming the model version that answered a prediction. */
    public static final String VERSION_HEADER = "Aether-Model-Version";

    /**
     * How long a client may send a request body slower than {@link #MIN_DATA_RATE} before it is
     * cut off (the http module's rate grace): a request that trickles in cannot hold a
     * connection, a handler and its budget.
     */
    static final Duration RATE_GRACE = Duration.ofSeconds(2);
    /** Bytes per second a client must average while it sends a body, once the grace is over. */
    static final long MIN_DATA_RATE = 1024;
    /**
     * Head to answer for predictions and admin calls: a switch loads a model, which may take a
     * while; the other endpoints take the http module's default (30 s).
     */
    static final Duration REQUEST_DEADLINE = Duration.ofMinutes(10);
    /** How long {@link #close()} lets requests in flight finish. */
    static final Duration STOP_GRACE = Duration.ofSeconds(5);
    /** How long a request waits for others to give back in-flight budget before it is answered 503. */
    static final Duration BUDGET_WAIT = Duration.ofSeconds(1);
    /** Largest admin request body ({"ref": ..., "percent": ...}). */
    static final int MAX_ADMIN_BODY = 64 * 1024;

    private final InferenceRuntime runtime;
    private final ServerConfig config;
    private final ByteBudget budget;
    private final ObjectMapper mapper = new ObjectMapper(JsonTensors.FACTORY);
    /** The server's own metrics; the runtime's are in {@link InferenceRuntime#metrics()}. */
    private final PrometheusRegistry serverMetrics = new PrometheusRegistry();
    private final Counter requestCounts = Counter.builder().name("aether_http_requests_total")
            .help("HTTP requests by endpoint, model (empty when none or unknown) and status code.")
            .labelNames("endpoint", "model", "code").register(serverMetrics);
    private final Histogram predictLatency = Histogram.builder().name("aether_http_predict_duration_seconds")
            .help("Time to answer a successful predict request through the endpoint, body parsing and encoding included.")
            .labelNames("model").classicOnly().classicUpperBounds(MetricsRegistry.LATENCY_BOUNDS).register(serverMetrics);
    private final HttpServer http;

    /** Writes a response body. */
    private interface BodyWriter {
        void writeTo(OutputStream out) throws IOException;
    }

    /** An answer in this server's format; {@code length} is {@link #CHUNKED} for a body of unknown length. */
    private record Reply(int status, String contentType, Map<String, String> headers, long length, BodyWriter body) {
        static final long CHUNKED = Response.Stream.CHUNKED;

        static Reply bytes(int status, String contentType, byte[] body, Map<String, String> headers) {
            return new Reply(status, contentType, headers, body.length, out -> out.write(body));
        }

        static Reply json(int status, byte[] body) {
            return bytes(status, JSON, body, Map.of());
        }
    }

    /** A failure answered with a status and a one-line JSON error. */
    private static final class HttpError extends Exception {
        final int status;
        final Map<String, String> headers;

        HttpError(int status, String message) {
            this(status, message, Map.of());
        }

        HttpError(int status, String message, Map<String, String> headers) {
            super(message, null, false, false);
            this.status = status;
            this.headers = headers;
        }
    }

    /** A failure inside the body-reading binder, carried through the runtime unchanged. */
    private static final class BodyFailure extends RuntimeException {
        final HttpError error;

        BodyFailure(HttpError error) {
            super(error.getMessage(), null, false, false);
            this.error = error;
        }
    }

    private InferenceServer(InferenceRuntime runtime, ServerConfig config, Duration rateGrace, ByteBudget budget) throws IOException {
        this.runtime = runtime;
        this.config = config;
        this.budget = budget;
        GaugeWithCallback.builder().name("aether_http_inflight_tensor_bytes")
                .help("Bytes of request tensors held now, against the in-flight budget (--max-in-flight).")
                .callback(gauge -> gauge.call(budget.used())).register(serverMetrics);
        CounterWithCallback.builder().name("aether_http_inflight_refusals_total")
                .help("Requests refused (503, or 413 when one needs more than all of it) because the in-flight budget was full.")
                .callback(counter -> counter.call(budget.refusals())).register(serverMetrics);
        Limits limits = Limits.DEFAULTS.withMinDataRate(MIN_DATA_RATE, rateGrace).withStopGrace(STOP_GRACE);
        this.http = HttpServer.start(List.of(new Listener.PlainTcp(config.address().getHostString(), config.address().getPort())),
                routes(), limits);
    }

    /** Binds and starts serving; the runtime stays the caller's to close. */
    public static InferenceServer start(InferenceRuntime runtime, ServerConfig config) throws IOException {
        return start(runtime, config, RATE_GRACE, BUDGET_WAIT);
    }

    static InferenceServer start(InferenceRuntime runtime, ServerConfig config, Duration rateGrace) throws IOException {
        return start(runtime, config, rateGrace, BUDGET_WAIT);
    }

    static InferenceServer start(InferenceRuntime runtime, ServerConfig config, Duration rateGrace, Duration budgetWait)
            throws IOException {
        return new InferenceServer(runtime, config, rateGrace, new ByteBudget(config.maxInFlightBytes(), budgetWait));
    }

    /** Requests cut off so far because their client sent the body slower than the minimum rate. */
    public long stalledConnections() {
        return http.stats().refused(Stats.Refusal.SLOW_PEER);
    }

    /** The in-flight budget, for tests. */
    ByteBudget budget() {
        return budget;
    }

    public InetSocketAddress address() {
        return new InetSocketAddress(config.address().getAddress(), http.port());
    }

    /** {@code http://host:port} of the bound socket. */
    public URI uri() {
        InetSocketAddress a = address();
        String host = a.getAddress().isAnyLocalAddress() ? "127.0.0.1" : a.getAddress().getHostAddress();
        if (host.contains(":")) {
            host = "[" + host + "]";
        }
        return URI.create("http://" + host + ":" + a.getPort());
    }

    /** Stops accepting, lets running requests finish (up to {@link #STOP_GRACE}), and stops. */
    @Override
    public void close() {
        http.close();
    }

    /**
     * Counts the answer before it is sent: a client that has read it and then reads the metrics
     * must see it counted.
     */
    private void count(String endpoint, String model, Reply reply, long start) {
        requestCounts.labelValues(endpoint, model, Integer.toString(reply.status())).inc();
        if (endpoint.equals("predict") && !model.isEmpty() && reply.status() == 200) {
            predictLatency.labelValues(model).observe((System.nanoTime() - start) / 1e9);
        }
    }

    /** Answers in this server's own format, counts the answer, and holds the request's budget lease until its body is written. */
    private Handler endpoint(String endpoint, Endpoint answer) {
        return req -> {
            long start = System.nanoTime();
            String[] model = {""}; // only names of deployed models: bounded labels
            ByteBudget.Lease lease = budget.lease();
            Reply reply;
            try {
                reply = answer.answer(req, model, lease);
            } catch (HttpError e) {
                reply = error(e.status, e.getMessage(), e.headers);
            } catch (RuntimeException | Error e) {
                LOG.log(Level.SEVERE, "request " + req.method() + " " + req.path() + " failed", e);
                reply = error(500, "internal error: " + e);
            }
            count(endpoint, model[0], reply, start);
            Reply r = reply;
            // Given back once the answer is written, before the stack drops what the client still sends.
            return new Response.Stream(r.status(), r.contentType(), r.headers(), r.length(), out -> {
                try (lease) {
                    r.body().writeTo(out);
                }
            });
        };
    }

    /** One endpoint: sets {@code model[0]} to the model's name once it is known to be deployed. */
    @FunctionalInterface
    private interface Endpoint {
        Reply answer(Request req, String[] model, ByteBudget.Lease lease) throws HttpError;
    }

    private Router routes() {
        Router router = new Router()
                .get("/healthz", endpoint("healthz", (req, model, lease) -> Reply.json(200,
                        ("{\"status\":\"ok\",\"models\":" + runtime.models().size() + "}").getBytes(StandardCharsets.UTF_8))))
                .get("/metrics", endpoint("metrics", (req, model, lease) -> Reply.bytes(200, MetricsEndpoint.CONTENT_TYPE,
                        metricsText().getBytes(StandardCharsets.UTF_8), Map.of())))
                .get("/v1/models", endpoint("metadata", (req, model, lease) -> Reply.json(200, writeJson(g -> {
                    g.writeStartObject();
                    g.writeArrayFieldStart("models");
                    for (ModelStatus s : runtime.models()) {
                        writeModel(g, s);
                    }
                    g.writeEndArray();
                    g.writeEndObject();
                }))))
                .get("/v1/models/{name}", endpoint("metadata", (req, model, lease) -> {
                    String name = deployed(req, model);
                    ModelStatus s = runtime.status(name).orElseThrow(() -> notDeployed(name));
                    return Reply.json(200, writeJson(g -> writeModel(g, s)));
                }))
                .stream("POST", "/v1/models/{name}:predict", endpoint("predict",
                        (req, model, lease) -> predict(req, deployed(req, model), null, lease)), config.maxBodyBytes(), REQUEST_DEADLINE)
                .stream("POST", "/v1/models/{name}/versions/{version}:predict", endpoint("predict",
                        (req, model, lease) -> predict(req, deployed(req, model), req.param("version"), lease)),
                        config.maxBodyBytes(), REQUEST_DEADLINE);
        for (String action : List.of("switch", "canary", "promote", "rollback")) {
            router.stream("POST", "/v1/models/{name}:" + action, endpoint("admin", (req, model, lease) -> {
                String name = deployed(req, model);
                if (!config.admin()) {
                    throw new HttpError(403, "admin endpoints are disabled on this server (enable them with --admin)");
                }
                authorizeAdmin(req);
                return admin(req, name, action);
            }), MAX_ADMIN_BODY, REQUEST_DEADLINE);
        }
        return router;
    }

    /** The request's model name, labelled on its metrics only when such a model is deployed. */
    private String deployed(Request req, String[] model) {
        String name = req.param("name");
        if (runtime.isDeployed(name)) {
            model[0] = name;
        }
        return name;
    }

    private static HttpError notDeployed(String name) {
        return new HttpError(404, "no model '" + name + "' is deployed");
    }

    private Reply predict(Request req, String name, String version, ByteBudget.Lease lease) throws HttpError {
        String contentType = mediaType(req.header("Content-Type").orElse(null));
        boolean binaryIn;
        // curl -d sends form encoding unless told otherwise: read it as the JSON it almost always is.
        if (contentType.isEmpty() || contentType.equals(JSON) || contentType.endsWith("+json")
                || contentType.equals("application/x-www-form-urlencoded")) {
            binaryIn = false;
        } else if (contentType.equals(TensorWireFormat.MEDIA_TYPE)) {
            binaryIn = true;
        } else {
            throw new HttpError(415, "unsupported content type '" + contentType + "'; use " + JSON + " or "
                    + TensorWireFormat.MEDIA_TYPE);
        }
        boolean binaryOut = wantsBinary(req.header("Accept").orElse(null), binaryIn);
        long declared = declaredLength(req, config.maxBodyBytes());
        long maxBytes = declared >= 0 ? declared : config.maxBodyBytes();
        InputStream body = req.bodyStream();
        // The runtime calls this once it holds the version that answers, so an unknown model or
        // version is answered before the body is read, and the body is parsed for its signature.
        InputBinder binder = signature -> {
            try {
                if (!binaryIn) {
                    return JsonTensors.parse(body, maxBytes, signature, lease);
                }
                // A binary body's tensors are its length, less the headers: taken in one step, so
                // that a request never holds some tensors while it waits for room for the next.
                lease.reserve(Math.min(Math.max(declared, 0), budget.capacity()));
                try {
                    return TensorWireFormat.decode(body, maxBytes, lease);
                } catch (IllegalArgumentException e) {
                    throw InferenceException.invalidInput(null, e.getMessage());
                }
            } catch (Request.BodyTooLarge e) {
                throw new BodyFailure(tooLarge(config.maxBodyBytes()));
            } catch (IOException e) {
                throw new BodyFailure(new HttpError(400, "could not read the request body: " + e.getMessage()));
            }
        };
        Prediction prediction;
        try {
            prediction = runtime.predict(name, version, binder);
        } catch (InferenceException e) {
            int status = switch (e.reason()) {
                case INVALID_INPUT -> 400;
                case UNKNOWN_MODEL -> 404;
                case OVERLOADED -> 503;
                case FAILED -> 500;
            };
            throw new HttpError(status, e.getMessage(),
                    status == 503 ? Map.of("Retry-After", "1") : Map.of());
        } catch (BodyFailure e) {
            throw e.error;
        } catch (ByteBudget.Refused e) {
            throw e.never ? new HttpError(413, e.getMessage())
                    : new HttpError(503, e.getMessage(), Map.of("Retry-After", "1"));
        }
        Map<String, String> headers = Map.of(VERSION_HEADER, prediction.version());
        if (binaryOut) {
            Map<String, Tensor> outputs = prediction.outputs();
            return new Reply(200, TensorWireFormat.MEDIA_TYPE, headers, TensorWireFormat.encodedLength(outputs),
                    out -> TensorWireFormat.encode(outputs, out));
        }
        return new Reply(200, JSON, headers, Reply.CHUNKED, out -> JsonTensors.writePrediction(prediction, out));
    }

    /** The request's Content-Length, or -1 when it has none; refuses one over {@code max}. */
    private static long declaredLength(Request req, long max) throws HttpError {
        String length = req.header("Content-Length").orElse(null);
        if (length == null) {
            return -1;
        }
        long n;
        try {
            n = Long.parseLong(length.strip());
        } catch (NumberFormatException e) {
            throw new HttpError(400, "bad Content-Length '" + length + "'");
        }
        if (n > max) {
            throw tooLarge(max);
        }
        return n;
    }

    /** Binary answers when the Accept header asks for them, or when it says nothing and the request was binary. */
    private static boolean wantsBinary(String accept, boolean binaryIn) {
        if (accept == null || accept.isBlank()) {
            return binaryIn;
        }
        String a = accept.toLowerCase(Locale.ROOT);
        if (a.contains(TensorWireFormat.MEDIA_TYPE)) {
            return true;
        }
        return !a.contains(JSON) && binaryIn;
    }

    /**
     * Refuses admin requests a web page could have sent (any Origin: the server serves no pages),
     * those without the admin token, and those not declared as JSON (a cross-site form can send
     * text/plain without a preflight, never application/json).
     */
    private void authorizeAdmin(Request req) throws HttpError {
        String origin = req.header("Origin").orElse(null);
        if (origin != null) {
            throw new HttpError(403, "admin requests from web pages are refused (Origin: " + origin + ")");
        }
        if (!config.adminToken().acceptsAuthorization(req.header("Authorization").orElse(null))) {
            throw new HttpError(401, "admin requests need the header 'Authorization: Bearer TOKEN' with this server's"
                    + " admin token", Map.of("WWW-Authenticate", "Bearer realm=\"aether-admin\""));
        }
        String contentType = mediaType(req.header("Content-Type").orElse(null));
        if (!contentType.equals(JSON)) {
            throw new HttpError(415, "admin requests must be sent as Content-Type: " + JSON
                    + (contentType.isEmpty() ? "" : ", not '" + contentType + "'"));
        }
    }

    private static String mediaType(String header) {
        if (header == null) {
            return "";
        }
        int semicolon = header.indexOf(';');
        return (semicolon >= 0 ? header.substring(0, semicolon) : header).strip().toLowerCase(Locale.ROOT);
    }

    /** Reads a small body whole (admin requests). */
    private static byte[] readBody(Request req, int max) throws HttpError {
        declaredLength(req, max);
        try {
            return req.bodyStream().readAllBytes();
        } catch (Request.BodyTooLarge e) {
            throw tooLarge(max);
        } catch (IOException e) {
            throw new HttpError(400, "could not read the request body: " + e.getMessage());
        }
    }

    private static HttpError tooLarge(long max) {
        return new HttpError(413, "request body is larger than the limit of " + max + " bytes");
    }

    private Reply admin(Request req, String name, String action) throws HttpError {
        JsonNode body = null;
        if (action.equals("switch") || action.equals("canary")) {
            byte[] bytes = readBody(req, MAX_ADMIN_BODY);
            try {
                body = mapper.readTree(bytes);
            } catch (IOException e) {
                throw new HttpError(400, "malformed JSON: " + e.getMessage().lines().findFirst().orElse(""));
            }
            if (body == null || !body.isObject() || !body.path("ref").isTextual() || body.path("ref").asText().isBlank()) {
                throw new HttpError(400, "body must be a JSON object with a \"ref\""
                        + (action.equals("canary") ? " and a \"percent\"" : ""));
            }
        }
        try {
            VersionStatus v = switch (action) {
                case "switch" -> runtime.switchTo(name, body.get("ref").asText());
                case "canary" -> {
                    JsonNode percent = body.path("percent");
                    if (!percent.isNumber()) {
                        throw new HttpError(400, "canary needs a numeric \"percent\" (above 0, below 100)");
                    }
                    try {
                        yield runtime.startCanary(name, body.get("ref").asText(), percent.asDouble());
                    } catch (IllegalArgumentException e) {
                        throw new HttpError(400, e.getMessage());
                    }
                }
                case "promote" -> runtime.promoteCanary(name);
                case "rollback" -> runtime.rollbackCanary(name);
                default -> throw new IllegalStateException(action);
            };
            LOG.info(() -> "model " + name + ": " + action + " -> version " + v.version() + " (" + v.role().label() + ")");
            ModelStatus s = runtime.status(name).orElseThrow(() -> notDeployed(name));
            return Reply.json(200, writeJson(g -> writeModel(g, s)));
        } catch (DeploymentException e) {
            int status = switch (e.reason()) {
                case UNKNOWN_MODEL, UNKNOWN_REF -> 404;
                case SOURCE_FAILED -> 502;
                case INVALID_MODEL -> 422;
                case CONFLICT -> 409;
            };
            throw new HttpError(status, e.getMessage());
        }
    }

    private interface JsonWriter {
        void write(JsonGenerator g) throws IOException;
    }

    private static byte[] writeJson(JsonWriter writer) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (JsonGenerator g = JsonTensors.FACTORY.createGenerator(out)) {
            writer.write(g);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    private static void writeModel(JsonGenerator g, ModelStatus s) throws IOException {
        g.writeStartObject();
        g.writeStringField("name", s.name());
        g.writeStringField("source", s.source());
        g.writeArrayFieldStart("versions");
        for (VersionStatus v : s.versions()) {
            g.writeStartObject();
            g.writeStringField("version", v.version());
            g.writeStringField("ref", v.ref());
            g.writeStringField("role", v.role().label());
            g.writeNumberField("percent", v.percent());
            g.writeStringField("loadedAt", v.loadedAt().toString());
            g.writeBooleanField("batching", v.batching());
            g.writeNumberField("requests", v.requests());
            g.writeNumberField("runs", v.runs());
            g.writeNumberField("inFlight", v.inFlight());
            writeSpecs(g, "inputs", v.signature().inputs());
            writeSpecs(g, "outputs", v.signature().outputs());
            g.writeEndObject();
        }
        g.writeEndArray();
        g.writeEndObject();
    }

    /** Shapes: a number for a fixed size, the name for a symbolic one, null for an unnamed dynamic one. */
    private static void writeSpecs(JsonGenerator g, String field, List<TensorSpec> specs) throws IOException {
        g.writeArrayFieldStart(field);
        for (TensorSpec spec : specs) {
            g.writeStartObject();
            g.writeStringField("name", spec.name());
            g.writeStringField("type", spec.type().label());
            g.writeArrayFieldStart("shape");
            for (Dim d : spec.shape()) {
                switch (d) {
                    case Dim.Fixed f -> g.writeNumber(f.size());
                    case Dim.Symbolic sym -> g.writeString(sym.name());
                    case Dim.Dynamic x -> g.writeNull();
                }
            }
            g.writeEndArray();
            g.writeEndObject();
        }
        g.writeEndArray();
    }

    private static Reply error(int status, String message) {
        return error(status, message, Map.of());
    }

    private static Reply error(int status, String message, Map<String, String> headers) {
        return Reply.bytes(status, JSON, writeJson(g -> {
            g.writeStartObject();
            g.writeStringField("error", message);
            g.writeEndObject();
        }), headers);
    }

    /** The runtime's metrics and the server's own, in the Prometheus text format 0.0.4. */
    public String metricsText() {
        List<MetricSnapshot> all = new ArrayList<>();
        runtime.metrics().scrape().forEach(all::add);
        serverMetrics.scrape().forEach(all::add);
        return MetricsEndpoint.text(new MetricSnapshots(all));
    }
}
