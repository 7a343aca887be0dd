package io.aether.ai;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.aether.sync.JdkHttpServers;
import io.aether.sync.StallGuard;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.io.ByteArrayOutputStream;
import java.io.FilterInputStream;
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
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The HTTP endpoint of an {@link InferenceRuntime} (JDK HTTP server, a virtual thread per
 * exchange). Endpoints, documented with examples in the module's README:
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
 * exhausted) or 500.
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

    /** A client that moves no bytes for this long in mid-request or mid-response is cut off. */
    static final Duration STALL_LIMIT = Duration.ofSeconds(30);
    /** How long a request waits for others to give back in-flight budget before it is answered 503. */
    static final Duration BUDGET_WAIT = Duration.ofSeconds(1);
    /** Largest admin request body ({"ref": ..., "percent": ...}). */
    static final int MAX_ADMIN_BODY = 64 * 1024;

    private final InferenceRuntime runtime;
    private final ServerConfig config;
    private final HttpServer server;
    private final ExecutorService executor;
    private final StallGuard stallGuard;
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

    /** Writes a response body to the exchange. */
    private interface BodyWriter {
        void writeTo(OutputStream out) throws IOException;
    }

    /** {@code length} is {@link #STREAMED} for a body of unknown length (sent chunked). */
    private record Response(int status, String contentType, Map<String, String> headers, long length, BodyWriter body) {
        static final long STREAMED = -1;

        static Response bytes(int status, String contentType, byte[] body, Map<String, String> headers) {
            return new Response(status, contentType, headers, body.length, out -> out.write(body));
        }

        static Response json(int status, byte[] body) {
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

    private InferenceServer(InferenceRuntime runtime, ServerConfig config, HttpServer server, ExecutorService executor,
                            StallGuard stallGuard, ByteBudget budget) {
        this.runtime = runtime;
        this.config = config;
        this.server = server;
        this.executor = executor;
        this.stallGuard = stallGuard;
        this.budget = budget;
        GaugeWithCallback.builder().name("aether_http_inflight_tensor_bytes")
                .help("Bytes of request tensors held now, against the in-flight budget (--max-in-flight).")
                .callback(gauge -> gauge.call(budget.used())).register(serverMetrics);
        CounterWithCallback.builder().name("aether_http_inflight_refusals_total")
                .help("Requests refused (503, or 413 when one needs more than all of it) because the in-flight budget was full.")
                .callback(counter -> counter.call(budget.refusals())).register(serverMetrics);
    }

    /** Binds and starts serving; the runtime stays the caller's to close. */
    public static InferenceServer start(InferenceRuntime runtime, ServerConfig config) throws IOException {
        return start(runtime, config, STALL_LIMIT, BUDGET_WAIT);
    }

    static InferenceServer start(InferenceRuntime runtime, ServerConfig config, Duration stallLimit) throws IOException {
        return start(runtime, config, stallLimit, BUDGET_WAIT);
    }

    static InferenceServer start(InferenceRuntime runtime, ServerConfig config, Duration stallLimit, Duration budgetWait)
            throws IOException {
        JdkHttpServers.configure();
        HttpServer http = HttpServer.create(config.address(), 0);
        ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
        StallGuard guard = new StallGuard(stallLimit);
        InferenceServer s = new InferenceServer(runtime, config, http, executor, guard,
                new ByteBudget(config.maxInFlightBytes(), budgetWait));
        http.createContext("/", s::handle).getFilters().add(guard);
        http.setExecutor(executor);
        http.start();
        return s;
    }

    /** Requests closed so far because their client stopped sending or reading mid-exchange. */
    public long stalledConnections() {
        return stallGuard.stalledExchanges();
    }

    /** The in-flight budget, for tests. */
    ByteBudget budget() {
        return budget;
    }

    public InetSocketAddress address() {
        return server.getAddress();
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

    /** Stops accepting, lets running exchanges finish (up to a second), and stops. */
    @Override
    public void close() {
        server.stop(1);
        executor.shutdown();
        try {
            if (!executor.awaitTermination(5, TimeUnit.SECONDS)) {
                executor.shutdownNow(); // an exchange stuck on a silent client
            }
        } catch (InterruptedException e) {
            executor.shutdownNow();
            Thread.currentThread().interrupt();
        } finally {
            stallGuard.close();
        }
    }

    private void handle(HttpExchange exchange) {
        long start = System.nanoTime();
        String[] endpoint = {"other", ""}; // endpoint, model (only names of deployed models: bounded labels)
        Response response;
        // The lease holds the request's tensors' bytes until its answer is sent, whatever happens.
        try (ByteBudget.Lease lease = budget.lease()) {
            try {
                response = route(exchange, endpoint, lease);
            } catch (HttpError e) {
                response = error(e.status, e.getMessage(), e.headers);
            } catch (RuntimeException | Error e) {
                LOG.log(Level.SEVERE, "request " + exchange.getRequestURI() + " failed", e);
                response = error(500, "internal error: " + e);
            }
            count(endpoint, response, start);
            try (exchange) {
                send(exchange, response, lease);
            } catch (IOException | RuntimeException e) {
                LOG.log(Level.FINE, "client went away", e); // nothing to answer
            }
        }
    }

    /**
     * Counts the answer before it is sent: a client that has read it and then reads the metrics
     * must see it counted.
     */
    private void count(String[] endpoint, Response response, long start) {
        requestCounts.labelValues(endpoint[0], endpoint[1], Integer.toString(response.status())).inc();
        if (endpoint[0].equals("predict") && !endpoint[1].isEmpty() && response.status() == 200) {
            predictLatency.labelValues(endpoint[1]).observe((System.nanoTime() - start) / 1e9);
        }
    }

    private Response route(HttpExchange ex, String[] endpoint, ByteBudget.Lease lease) throws HttpError {
        String path = ex.getRequestURI().getPath();
        String method = ex.getRequestMethod();
        switch (path) {
            case "/healthz" -> {
                endpoint[0] = "healthz";
                requireMethod(method, "GET");
                return Response.json(200, ("{\"status\":\"ok\",\"models\":" + runtime.models().size() + "}")
                        .getBytes(StandardCharsets.UTF_8));
            }
            case "/metrics" -> {
                endpoint[0] = "metrics";
                requireMethod(method, "GET");
                return Response.bytes(200, PrometheusTextFormatWriter.CONTENT_TYPE, metricsText().getBytes(StandardCharsets.UTF_8), Map.of());
            }
            case "/v1/models", "/v1/models/" -> {
                endpoint[0] = "metadata";
                requireMethod(method, "GET");
                return Response.json(200, writeJson(g -> {
                    g.writeStartObject();
                    g.writeArrayFieldStart("models");
                    for (ModelStatus s : runtime.models()) {
                        writeModel(g, s);
                    }
                    g.writeEndArray();
                    g.writeEndObject();
                }));
            }
            default -> {
                if (!path.startsWith("/v1/models/")) {
                    throw new HttpError(404, "no such endpoint: " + path);
                }
                return routeModel(ex, path.substring("/v1/models/".length()), method, endpoint, lease);
            }
        }
    }

    private Response routeModel(HttpExchange ex, String rest, String method, String[] endpoint, ByteBudget.Lease lease)
            throws HttpError {
        String action = "";
        int colon = rest.indexOf(':');
        if (colon >= 0) {
            action = rest.substring(colon + 1);
            rest = rest.substring(0, colon);
        }
        String version = null;
        int slash = rest.indexOf("/versions/");
        if (slash >= 0) {
            version = rest.substring(slash + "/versions/".length());
            rest = rest.substring(0, slash);
            if (!action.equals("predict") || version.isEmpty()) {
                throw new HttpError(404, "a version path takes only :predict, e.g. /v1/models/" + rest
                        + "/versions/VERSION:predict");
            }
        }
        String name = rest;
        if (!InferenceRuntime.isValidName(name)) {
            throw new HttpError(404, "no such endpoint: invalid model name '" + name + "'");
        }
        if (runtime.isDeployed(name)) {
            endpoint[1] = name;
        }
        switch (action) {
            case "" -> {
                endpoint[0] = "metadata";
                requireMethod(method, "GET");
                ModelStatus s = runtime.status(name).orElseThrow(() -> new HttpError(404, "no model '" + name
                        + "' is deployed"));
                return Response.json(200, writeJson(g -> writeModel(g, s)));
            }
            case "predict" -> {
                endpoint[0] = "predict";
                requireMethod(method, "POST");
                return predict(ex, name, version, lease);
            }
            case "switch", "canary", "promote", "rollback" -> {
                endpoint[0] = "admin";
                requireMethod(method, "POST");
                if (!config.admin()) {
                    throw new HttpError(403, "admin endpoints are disabled on this server (enable them with --admin)");
                }
                authorizeAdmin(ex);
                return admin(ex, name, action);
            }
            default -> throw new HttpError(404, "unknown action ':" + action
                    + "'; use :predict (or :switch, :canary, :promote, :rollback)");
        }
    }

    private static void requireMethod(String method, String allowed) throws HttpError {
        if (!method.equals(allowed)) {
            throw new HttpError(405, "use " + allowed + " for this endpoint, not " + method, Map.of("Allow", allowed));
        }
    }

    private Response predict(HttpExchange ex, String name, String version, ByteBudget.Lease lease) throws HttpError {
        String contentType = mediaType(ex.getRequestHeaders().getFirst("Content-Type"));
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
        boolean binaryOut = wantsBinary(ex.getRequestHeaders().getFirst("Accept"), binaryIn);
        long declared = declaredLength(ex, config.maxBodyBytes());
        long maxBytes = declared >= 0 ? declared : config.maxBodyBytes();
        InputStream body = new BoundedInput(ex.getRequestBody(), config.maxBodyBytes());
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
            } catch (BoundedInput.TooLarge e) {
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
            return new Response(200, TensorWireFormat.MEDIA_TYPE, headers, TensorWireFormat.encodedLength(outputs),
                    out -> TensorWireFormat.encode(outputs, out));
        }
        return new Response(200, JSON, headers, Response.STREAMED, out -> JsonTensors.writePrediction(prediction, out));
    }

    /** The request's Content-Length, or -1 when it has none; refuses one over {@code max}. */
    private static long declaredLength(HttpExchange ex, long max) throws HttpError {
        String length = ex.getRequestHeaders().getFirst("Content-Length");
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

    /** A request body that may not go over a limit (a chunked body declares no length). */
    private static final class BoundedInput extends FilterInputStream {
        /** The body went over the limit. */
        static final class TooLarge extends IOException {
            TooLarge() {
                super("request body over the limit", null);
            }
        }

        private final long max;
        private long read;

        BoundedInput(InputStream in, long max) {
            super(in);
            this.max = max;
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) {
                count(1);
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, len);
            if (n > 0) {
                count(n);
            }
            return n;
        }

        private void count(int n) throws TooLarge {
            read += n;
            if (read > max) {
                throw new TooLarge();
            }
        }
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
    private void authorizeAdmin(HttpExchange ex) throws HttpError {
        String origin = ex.getRequestHeaders().getFirst("Origin");
        if (origin != null) {
            throw new HttpError(403, "admin requests from web pages are refused (Origin: " + origin + ")");
        }
        if (!config.adminToken().acceptsAuthorization(ex.getRequestHeaders().getFirst("Authorization"))) {
            throw new HttpError(401, "admin requests need the header 'Authorization: Bearer TOKEN' with this server's"
                    + " admin token", Map.of("WWW-Authenticate", "Bearer realm=\"aether-admin\""));
        }
        String contentType = mediaType(ex.getRequestHeaders().getFirst("Content-Type"));
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
    private static byte[] readBody(HttpExchange ex, int max) throws HttpError {
        declaredLength(ex, max);
        try (InputStream in = new BoundedInput(ex.getRequestBody(), max)) {
            return in.readAllBytes();
        } catch (BoundedInput.TooLarge e) {
            throw tooLarge(max);
        } catch (IOException e) {
            throw new HttpError(400, "could not read the request body: " + e.getMessage());
        }
    }

    private static HttpError tooLarge(long max) {
        return new HttpError(413, "request body is larger than the limit of " + max + " bytes");
    }

    private Response admin(HttpExchange ex, String name, String action) throws HttpError {
        JsonNode body = null;
        if (action.equals("switch") || action.equals("canary")) {
            byte[] bytes = readBody(ex, MAX_ADMIN_BODY);
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
            ModelStatus s = runtime.status(name).orElseThrow(() -> new HttpError(404, "no model '" + name
                    + "' is deployed"));
            return Response.json(200, writeJson(g -> writeModel(g, s)));
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

    private static Response error(int status, String message) {
        return error(status, message, Map.of());
    }

    private static Response error(int status, String message, Map<String, String> headers) {
        return Response.bytes(status, JSON, writeJson(g -> {
            g.writeStartObject();
            g.writeStringField("error", message);
            g.writeEndObject();
        }), headers);
    }

    /** Sends the response; the lease is given back once it is written, before what the client still sends is read. */
    private void send(HttpExchange ex, Response r, ByteBudget.Lease lease) throws IOException {
        ex.getResponseHeaders().set("Content-Type", r.contentType());
        r.headers().forEach((k, v) -> ex.getResponseHeaders().set(k, v));
        // The JDK server's lengths: 0 means chunked, -1 means no body.
        ex.sendResponseHeaders(r.status(), r.length() == Response.STREAMED ? 0 : r.length() == 0 ? -1 : r.length());
        if (r.length() != 0) {
            try (OutputStream out = ex.getResponseBody()) {
                r.body().writeTo(out);
                out.flush();
                lease.close();
                discardRestOfBody(ex);
            }
        }
    }

    /**
     * Reads and drops what the client still sends of a request answered early (unknown model,
     * bad input, full budget). Closing the exchange would read only 64 KiB of it and then close
     * the connection, and a connection closed with unread bytes is reset: the client would lose
     * the answer already sent. Bounded by the body limit; the stall guard bounds the time.
     */
    private void discardRestOfBody(HttpExchange ex) {
        byte[] sink = new byte[8192];
        long left = config.maxBodyBytes();
        try {
            InputStream in = ex.getRequestBody();
            int n;
            while (left > 0 && (n = in.read(sink, 0, (int) Math.min(sink.length, left))) > 0) {
                left -= n;
            }
        } catch (IOException e) {
            // The client went away or stalled: nothing left to protect.
        }
    }

    /** The runtime's metrics and the server's own, in the Prometheus text format 0.0.4. */
    public String metricsText() {
        List<MetricSnapshot> all = new ArrayList<>();
        runtime.metrics().scrape().forEach(all::add);
        serverMetrics.scrape().forEach(all::add);
        ByteArrayOutputStream out = new ByteArrayOutputStream(16 * 1024);
        try {
            PrometheusTextFormatWriter.create().write(out, new MetricSnapshots(all));
        } catch (IOException e) {
            throw new UncheckedIOException("writing to memory cannot fail", e);
        }
        return out.toString(StandardCharsets.UTF_8);
    }
}
