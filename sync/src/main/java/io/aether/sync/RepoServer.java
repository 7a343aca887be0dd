package io.aether.sync;

import io.aether.http.HttpServer;
import io.aether.http.Limits;
import io.aether.http.Listener;
import io.aether.http.Request;
import io.aether.http.Response;
import io.aether.http.Router;
import io.aether.http.Stats;
import io.aether.security.ServerCredentials;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import java.util.zip.Inflater;

/**
 * Serves a repository over HTTPS on the {@code http} module (Jetty; TLS 1.3, X25519MLKEM768 and an
 * ML-DSA-65 certificate only). Protocol (sync/README.md):
 * <pre>
 * GET  /v1/refs        read  -> "ID NAME" per branch and tag, "HEAD NAME", "REPOSITORY ID"
 * POST /v1/history     read  ids wants, ids haves -> commit frames, each after one of its children
 * POST /v1/objects     read  ids -> object frames (each id once, at most maxResponseBytes)
 * POST /v1/missing     write ids -> the ids neither the store nor the caller's staging area holds
 * POST /v1/push        write object frames -> the caller's staging area (each checked against its id)
 * POST /v1/update-ref  write "NAME OLD NEW FORCE REPOSITORY" -> validates NEW's history, then compare-and-set
 * </pre>
 * Every request is signed by a client key on the repository's {@link AccessList} ({@link Gate});
 * tags need the tag right, rewinding a branch or moving a tag the force right. Errors are a
 * 4xx/5xx status and a one-line reason that names objects, never files of this machine.
 *
 * <p>Every route is streamed: bodies are read as they arrive (a push is stored a batch at a time,
 * never held whole), answers written as they are produced. The repository's lock is held only
 * while the store is read or written, never while the server waits on a client, so a slow client
 * cannot keep {@code gc} waiting. The http module's {@link Limits} bound each client: the stall
 * limit is its idle timeout, the minimum rate its minimum data rate, the I/O deadline each route's
 * deadline (which this server extends over the writing of the answer), and the connection caps.
 */
public final class RepoServer implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(RepoServer.class.getName());
    /**
     * Largest id-list request (about 131,000 ids), read whole into memory: a client asks for 256
     * objects at a time and checks what it lacks {@link RemoteRepository#MISSING_BATCH} at a time.
     */
    static final int MAX_ID_BODY = 4 << 20;
    private static final int MAX_UPDATE_BODY = 4096;
    /**
     * Largest push: a client's batch ({@link RemoteRepository#BATCH_BYTES}) plus the object that
     * took it over that size, framed. It bounds what a refused push costs to read and drop too.
     */
    static final long MAX_PUSH_BODY = RemoteRepository.BATCH_BYTES + Codec.MAX_OBJECT_BYTES + (64 << 10);
    /** Objects read from the store under its lock at a time before they are sent without it. */
    private static final long READ_GROUP_BYTES = 4L << 20;
    private static final Pattern ABSOLUTE_PATH = Pattern.compile("(?<=^|[\\s'\"(=:])/[^\\s'\")]*");
    private static final String TEXT = "text/plain; charset=utf-8";

    /** How long a client may leave a transfer without moving a byte, unless told otherwise. */
    public static final Duration DEFAULT_STALL_LIMIT = Duration.ofSeconds(60);
    /** A rate a modem would meet; a client below it is holding the server, not using it. */
    public static final long DEFAULT_MIN_BYTES_PER_SECOND = 1024;
    /** How long one request may take, from its head to the end of its answer, unless told otherwise. */
    public static final Duration DEFAULT_IO_DEADLINE = Duration.ofMinutes(10);
    public static final int DEFAULT_MAX_CONNECTIONS = 256;
    public static final int DEFAULT_MAX_CONNECTIONS_PER_CLIENT = 32;
    /** How long a request must have been arriving before the minimum rate is checked (the http module's default). */
    private static final Duration RATE_GRACE = Limits.DEFAULTS.rateGrace();
    /** How long {@link #close} lets requests in flight finish (a push batch, say) before it cuts them off. */
    private static final Duration STOP_GRACE = Duration.ofSeconds(5);

    /**
     * The http module's limits for a repository server.
     *
     * @param stallLimit              a connection that moves no byte for this long is closed (its idle timeout)
     * @param minBytesPerSecond       slowest average rate at which a client may send a TLS handshake, a
     *                                request head or a body, checked after its first {@link Limits#rateGrace}
     * @param ioDeadline              longest a request may take from its head to the end of its answer
     * @param maxConnections          connections served at once (one more is answered 503)
     * @param maxConnectionsPerClient connections served at once from one client address (one more: 429)
     */
    public static Limits limits(Duration stallLimit, long minBytesPerSecond, Duration ioDeadline, int maxConnections,
                                int maxConnectionsPerClient) {
        if (stallLimit == null || stallLimit.compareTo(Duration.ofMillis(1)) < 0) {
            throw new IllegalArgumentException("stall limit must be at least 1 ms, got " + stallLimit);
        }
        if (minBytesPerSecond < 1) {
            throw new IllegalArgumentException("minimum rate must be at least 1 byte/s, got " + minBytesPerSecond);
        }
        if (ioDeadline == null || ioDeadline.isNegative() || ioDeadline.isZero()) {
            throw new IllegalArgumentException("I/O deadline must be positive, got " + ioDeadline);
        }
        // No event streams here; the heartbeat only has to stay under the idle timeout.
        Duration heartbeat = stallLimit.dividedBy(2).compareTo(Limits.DEFAULTS.heartbeat()) < 0 ? stallLimit.dividedBy(2)
                : Limits.DEFAULTS.heartbeat();
        return new Limits(maxConnections, maxConnectionsPerClient, stallLimit, minBytesPerSecond, RATE_GRACE,
                Limits.DEFAULTS.maxBodyBytes(), ioDeadline, Limits.DEFAULTS.maxHeaderBytes(), heartbeat, STOP_GRACE);
    }

    /**
     * How the server behaves towards clients.
     *
     * @param limits           what each client may cost: stall limit, minimum rate, deadline, connections ({@link #limits})
     * @param publicRead       let clients without a key read (list refs, download)
     * @param maxPushBytes     most bytes one client key may hold in its staging area
     * @param maxStagedBytes   most bytes all staging areas may hold together
     * @param stagingTtl       how long a staging area no push writes to is kept
     * @param maxResponseBytes object bytes served per {@code /v1/objects} request (at least one object is)
     */
    public record Options(Limits limits, boolean publicRead, long maxPushBytes, long maxStagedBytes,
                          Duration stagingTtl, long maxResponseBytes) {

        public static final long DEFAULT_MAX_PUSH_BYTES = 16L << 30;
        public static final long DEFAULT_MAX_STAGED_BYTES = 64L << 30;
        public static final Duration DEFAULT_STAGING_TTL = Duration.ofHours(1);
        public static final long DEFAULT_MAX_RESPONSE_BYTES = 32L << 20;

        public Options {
            java.util.Objects.requireNonNull(limits, "limits");
            if (maxPushBytes <= 0 || maxStagedBytes <= 0 || maxResponseBytes <= 0) {
                throw new IllegalArgumentException("push, staging and response limits must be positive");
            }
            if (stagingTtl.isNegative() || stagingTtl.isZero()) {
                throw new IllegalArgumentException("staging time to live must be positive, got " + stagingTtl);
            }
        }

        /** Keys only, the default limits. */
        public static Options defaults() {
            return new Options(RepoServer.limits(DEFAULT_STALL_LIMIT, DEFAULT_MIN_BYTES_PER_SECOND, DEFAULT_IO_DEADLINE,
                    DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_CONNECTIONS_PER_CLIENT), false, DEFAULT_MAX_PUSH_BYTES,
                    DEFAULT_MAX_STAGED_BYTES, DEFAULT_STAGING_TTL, DEFAULT_MAX_RESPONSE_BYTES);
        }

        public Options withLimits(Limits l) {
            return new Options(l, publicRead, maxPushBytes, maxStagedBytes, stagingTtl, maxResponseBytes);
        }

        public Options withPublicRead(boolean p) {
            return new Options(limits, p, maxPushBytes, maxStagedBytes, stagingTtl, maxResponseBytes);
        }

        public Options withStaging(long perKey, long total, Duration ttl) {
            return new Options(limits, publicRead, perKey, total, ttl, maxResponseBytes);
        }

        public Options withMaxResponseBytes(long n) {
            return new Options(limits, publicRead, maxPushBytes, maxStagedBytes, stagingTtl, n);
        }
    }

    /** The requests: route, the right each needs, and the most body each takes. */
    private enum Endpoint {
        REFS("GET", "/v1/refs", AccessList.Right.READ, 0),
        HISTORY("POST", "/v1/history", AccessList.Right.READ, MAX_ID_BODY),
        OBJECTS("POST", "/v1/objects", AccessList.Right.READ, MAX_ID_BODY),
        MISSING("POST", "/v1/missing", AccessList.Right.WRITE, MAX_ID_BODY),
        PUSH("POST", "/v1/push", AccessList.Right.WRITE, MAX_PUSH_BODY),
        UPDATE_REF("POST", "/v1/update-ref", AccessList.Right.WRITE, MAX_UPDATE_BODY);

        final String method;
        final String path;
        final AccessList.Right right;
        final long maxBody;

        Endpoint(String method, String path, AccessList.Right right, long maxBody) {
            this.method = method;
            this.path = path;
            this.right = right;
            this.maxBody = maxBody;
        }
    }

    /** Where an answer's writing stands against its deadline: set once, by the writer (done) or the timer (cut). */
    private static final int WRITING = 0;
    private static final int DONE = 1;
    private static final int CUT = 2;

    private final Repository repo;
    private final Options options;
    private final String fingerprint;
    private final Gate gate;
    private final Staging staging;
    private final ScheduledExecutorService timer;
    private final HttpServer http;
    private final AtomicLong refused = new AtomicLong();
    /** Connections cut off here (the stack counts its own): idle past the stall limit, or an answer past its deadline. */
    private final AtomicLong stalls = new AtomicLong();

    private RepoServer(Repository repo, Options options, InetSocketAddress address, ServerCredentials credentials)
            throws IOException {
        this.repo = repo;
        this.options = options;
        this.fingerprint = credentials.fingerprint();
        this.gate = new Gate(repo, fingerprint, options.publicRead(), System::currentTimeMillis);
        this.staging = new Staging(repo, options.maxPushBytes(), options.maxStagedBytes(), options.stagingTtl(),
                System::currentTimeMillis);
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon().name("repo-server-timer").unstarted(r));
        String host = address.getAddress() != null ? address.getAddress().getHostAddress() : address.getHostString();
        try {
            this.http = HttpServer.start(List.of(new Listener.Tcp(host, address.getPort(), credentials, new Listener.ClientAuth.None())),
                    routes(), options.limits());
        } catch (IOException | RuntimeException e) {
            timer.shutdownNow();
            throw e;
        }
        long period = Math.clamp(options.stagingTtl().toMillis() / 4, 10, 60_000);
        timer.scheduleWithFixedDelay(this::expireStaging, period, period, TimeUnit.MILLISECONDS);
    }

    /** Starts serving {@code repo} on {@code address} (port 0 picks a free port) with the default options. */
    public static RepoServer start(Repository repo, InetSocketAddress address, ServerCredentials credentials) throws IOException {
        return start(repo, address, credentials, Options.defaults());
    }

    /**
     * Starts serving {@code repo} to the clients on its {@link AccessList}.
     *
     * @throws IOException naming the address when it cannot listen there (in use, say)
     */
    public static RepoServer start(Repository repo, InetSocketAddress address, ServerCredentials credentials, Options options)
            throws IOException {
        return new RepoServer(repo, options, address, credentials);
    }

    private Router routes() {
        Router router = new Router();
        for (Endpoint e : Endpoint.values()) {
            router.stream(e.method, e.path, req -> handle(e, req), e.maxBody, options.limits().requestDeadline());
        }
        return router;
    }

    /**
     * Connections closed so far because their client stalled past the stall limit, sent slower than
     * the minimum rate, or ran past the I/O deadline.
     */
    public long stalledConnections() {
        Stats s = http.stats();
        return stalls.get() + s.refused(Stats.Refusal.SLOW_PEER) + s.refused(Stats.Refusal.DEADLINE);
    }

    /** Requests answered with an error: refused here, or by the http module (no such route, malformed, too many connections). */
    public long refusedRequests() {
        Stats s = http.stats();
        long stack = 0;
        for (Stats.Refusal r : List.of(Stats.Refusal.CONNECTIONS, Stats.Refusal.CONNECTIONS_PER_CLIENT, Stats.Refusal.NO_ROUTE,
                Stats.Refusal.METHOD, Stats.Refusal.MALFORMED, Stats.Refusal.STOPPING)) {
            stack += s.refused(r);
        }
        return refused.get() + stack;
    }

    /** The bound port. */
    public int port() {
        return http.port();
    }

    /** The SHA-256 fingerprint of the certificate clients must pin. */
    public String fingerprint() {
        return fingerprint;
    }

    /** The repository id signed ref updates must name ({@link AccessList#repositoryId()}). */
    public String repositoryId() throws IOException {
        return gate.access().repositoryId();
    }

    /** Stops accepting, lets requests in flight finish for a few seconds, then cuts off the rest. */
    @Override
    public void close() {
        http.close();
        timer.shutdownNow();
    }

    private void expireStaging() {
        try {
            staging.expire();
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "discarding expired staging areas failed; retrying later", e);
        }
    }

    private Response handle(Endpoint endpoint, Request req) {
        try {
            return serve(endpoint, req);
        } catch (Refusal r) {
            discardRest(req);
            return refuse(r.status, r.getMessage());
        } catch (ClientFailure f) {
            if (f.getCause() instanceof Request.BodyTooLarge) {
                return refuse(413, "request body over " + endpoint.maxBody + " bytes");
            }
            if (timedOut(f)) {
                stalls.incrementAndGet(); // a body slower than the minimum rate the http module counts itself
            }
            // Most likely nobody reads this: the client is gone or too slow, and its connection closes after it.
            return refuse(408, "request body: " + f.getMessage());
        } catch (IOException | RuntimeException e) {
            int status = e instanceof VerificationException ? 403
                    : e instanceof RepositoryException || e instanceof IllegalArgumentException ? 400 : 500;
            discardRest(req);
            return refuse(status, peerMessage(e));
        }
    }

    /**
     * Reads and drops what is left of a refused request's body before the answer, so that its
     * client, still sending, gets the reason rather than a reset connection. Here, not after the
     * answer (where the http module would drop it too): here the request's deadline still bounds
     * how long a client may take to send it.
     */
    private static void discardRest(Request req) {
        try {
            req.bodyStream().transferTo(OutputStream.nullOutputStream());
        } catch (IOException e) {
            // Too slow, too large or gone: the http module closes the connection after the answer.
        }
    }

    /** A refusal as a one-line text answer. */
    private Response refuse(int status, String reason) {
        refused.incrementAndGet();
        Map<String, String> headers = switch (status) {
            case 401 -> Map.of("WWW-Authenticate", RequestAuth.SCHEME);
            case 429, 503 -> Map.of("Retry-After", "1");
            default -> Map.of();
        };
        return text(status, reason, headers);
    }

    private static Response text(int status, String text, Map<String, String> headers) {
        byte[] body = (text + "\n").getBytes(StandardCharsets.UTF_8);
        return new Response.Stream(status, TEXT, headers, body.length, out -> out.write(body));
    }

    /** Whether a failure was a timeout of the connection (the stall limit), at any depth. */
    private static boolean timedOut(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof TimeoutException) {
                return true;
            }
        }
        return false;
    }

    /**
     * What a peer may read about a failure: the message with any absolute path of this machine
     * replaced, and nothing of an unexpected error but that it happened (the log has the rest).
     */
    private String peerMessage(Throwable e) {
        if (e instanceof RepositoryException || e instanceof IllegalArgumentException) {
            String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            String scrubbed = ABSOLUTE_PATH.matcher(m.replace(repo.storeDir().toString(), "<repository>")).replaceAll("<path>");
            if (!scrubbed.equals(m) || e instanceof CorruptObjectException) {
                LOG.log(System.Logger.Level.WARNING, "told a client: " + scrubbed + " (here: " + m + ")");
            }
            return scrubbed;
        }
        LOG.log(System.Logger.Level.ERROR, "request failed", e);
        return "internal error on the server (" + e.getClass().getSimpleName() + "); its log has the details";
    }

    private Response serve(Endpoint endpoint, Request req) throws IOException, Refusal {
        Gate.Caller caller = gate.admit(req.method(), req.path(), req.header(RequestAuth.HEADER).orElse(null), endpoint.right);
        InputStream body = new ClientInput(req.bodyStream());
        return switch (endpoint) {
            case REFS -> text(200, refsText(), Map.of());
            case HISTORY -> {
                DataInputStream in = idLists(body, caller);
                List<ObjectId> wants = readIds(in);
                List<ObjectId> haves = readIds(in);
                List<ObjectId> commits;
                try (RepoLock.Held _ = repo.sharedLock()) {
                    requirePresent(wants, "commit");
                    commits = Transfer.newCommits(repo, wants, haves);
                }
                yield objects(req, commits, Long.MAX_VALUE);
            }
            case OBJECTS -> {
                // Each id once: a list that repeats one would otherwise multiply what it costs to send.
                List<ObjectId> ids = new ArrayList<>(new LinkedHashSet<>(readIds(idLists(body, caller))));
                try (RepoLock.Held _ = repo.sharedLock()) {
                    requirePresent(ids, "object");
                }
                yield objects(req, ids, options.maxResponseBytes());
            }
            case MISSING -> {
                List<ObjectId> missing = Transfer.missing(repo, staging.area(caller.key()).store, readIds(idLists(body, caller)));
                yield answer(req, "application/x-aether-ids", 4L + (long) missing.size() * ObjectId.LENGTH, out -> {
                    DataOutputStream d = new DataOutputStream(new BufferedOutputStream(out, 1 << 16));
                    Wire.writeIds(d, missing);
                    d.flush();
                });
            }
            case PUSH -> text(200, "stored " + receiveObjects(body, caller), Map.of());
            case UPDATE_REF -> text(200, updateRef(caller,
                    new String(body(body, caller), StandardCharsets.UTF_8).strip()), Map.of());
        };
    }

    private static String clip(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max) + "...";
    }

    private void requirePresent(List<ObjectId> ids, String what) throws Refusal {
        for (ObjectId id : ids) {
            if (!repo.objects.has(id)) {
                throw new Refusal(404, "no " + what + " " + id.hex() + " here");
            }
        }
    }

    private static DataInputStream idLists(InputStream body, Gate.Caller caller) throws IOException, Refusal {
        return new DataInputStream(new ByteArrayInputStream(body(body, caller)));
    }

    /** An id list of a body already in memory: what does not parse is the client's mistake. */
    private static List<ObjectId> readIds(DataInputStream in) throws Refusal {
        try {
            return Wire.readIds(in);
        } catch (IOException e) {
            throw new Refusal(400, "malformed id list: " + e.getMessage());
        }
    }

    /** The whole request body (within its route's limit), checked against the hash the caller signed. */
    private static byte[] body(InputStream body, Gate.Caller caller) throws IOException, Refusal {
        byte[] b = body.readAllBytes();
        if (caller.bodySha256() != null && !RequestAuth.sha256Hex(b).equals(caller.bodySha256())) {
            throw new Refusal(401, "the request body is not the one its signature covers");
        }
        return b;
    }

    private String refsText() throws IOException {
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<String, ObjectId> e : repo.refs.all().entrySet()) {
            sb.append(e.getValue().hex()).append(' ').append(e.getKey()).append('\n');
        }
        Optional<String> branch = repo.currentBranch();
        branch.ifPresent(b -> sb.append("HEAD ").append(Refs.HEADS).append(b).append('\n'));
        sb.append("REPOSITORY ").append(gate.access().repositoryId()).append('\n');
        return sb.toString();
    }

    /**
     * A 200 answer whose body {@code writer} writes under the request's deadline. The http module
     * bounds the handler by the deadline and an idle client by the stall limit; a client that reads
     * the answer slowly enough never to be idle would hold its connection for as long as it likes,
     * so when the deadline passes the writing thread is interrupted, which fails the blocked write
     * and drops the connection.
     */
    private Response answer(Request req, String contentType, long length, Response.Stream.Writer writer) {
        return new Response.Stream(200, contentType, Map.of(), length, out -> {
            Thread writing = Thread.currentThread();
            AtomicInteger state = new AtomicInteger(WRITING);
            long left = Math.max(0, Duration.between(Instant.now(), req.deadline()).toNanos());
            ScheduledFuture<?> cut = timer.schedule(() -> {
                if (state.compareAndSet(WRITING, CUT)) {
                    writing.interrupt();
                }
            }, left, TimeUnit.NANOSECONDS);
            try {
                writer.writeTo(out);
            } catch (IOException | RuntimeException e) {
                if (state.get() == CUT || timedOut(e)) {
                    stalls.incrementAndGet();
                }
                throw e;
            } finally {
                cut.cancel(false);
                if (!state.compareAndSet(WRITING, DONE)) {
                    Thread.interrupted(); // the cut came as the answer ended: its interrupt must not reach the next read
                }
            }
        });
    }

    /**
     * Answers {@code ids} as object frames, stopping before the object that would take the answer
     * over {@code maxBytes} (the client asks again for the rest). Objects are read under the
     * repository's lock a few megabytes at a time and sent without it. A failure once the answer
     * has begun drops the connection without the end of the body, so that the client sees a cut
     * transfer (and resumes later) rather than a short one.
     */
    private Response objects(Request req, List<ObjectId> ids, long maxBytes) {
        return answer(req, "application/x-aether-objects", Response.Stream.CHUNKED, raw -> {
            DataOutputStream out = new DataOutputStream(new BufferedOutputStream(raw, 1 << 16));
            long sent = 0;
            Iterator<ObjectId> next = ids.iterator();
            try (Wire.Compressor compressor = new Wire.Compressor()) {
                while (next.hasNext() && sent < maxBytes) {
                    List<ObjectId> groupIds = new ArrayList<>();
                    List<byte[]> group = new ArrayList<>();
                    String failure = null;
                    ObjectId failed = null;
                    try (RepoLock.Held _ = repo.sharedLock()) {
                        long groupBytes = 0;
                        while (next.hasNext() && groupBytes < READ_GROUP_BYTES) {
                            ObjectId id = next.next();
                            byte[] enc;
                            try {
                                enc = repo.objects.read(id);
                            } catch (RepositoryException e) {
                                // Never sent; the client learns why instead of seeing a cut, the operator the details.
                                LOG.log(System.Logger.Level.WARNING, "cannot serve object " + id.hex() + ": " + e.getMessage());
                                failed = id;
                                failure = e instanceof CorruptObjectException
                                        ? "object " + id.hex() + " is corrupt on the server; its operator must restore it"
                                        : "object " + id.hex() + " is no longer on the server; fetch again";
                                break;
                            }
                            if (sent > 0 && sent + enc.length > maxBytes) {
                                break;
                            }
                            sent += enc.length;
                            groupBytes += enc.length;
                            groupIds.add(id);
                            group.add(enc);
                        }
                    }
                    for (int i = 0; i < group.size(); i++) {
                        Wire.writeFrame(out, groupIds.get(i), group.get(i), compressor);
                    }
                    if (failure != null) {
                        Wire.writeError(out, failed, failure);
                        break;
                    }
                }
                out.flush();
            }
        });
    }

    /**
     * Stores pushed objects in the caller's staging area as they arrive, a batch at a time, each
     * checked against its id. A cut keeps what arrived whole (the push resumes); a refused or
     * malformed body, or one that is not the body the caller signed, keeps nothing.
     */
    private long receiveObjects(InputStream body, Gate.Caller caller) throws IOException, Refusal {
        Staging.Area area = staging.area(caller.key());
        MessageDigest digest = ObjectId.sha256();
        DataInputStream in = new DataInputStream(new BufferedInputStream(new DigestInputStream(body, digest), 1 << 16));
        Inflater inflater = new Inflater(true);
        List<ObjectId> stored = new ArrayList<>();
        List<ObjectId> ids = new ArrayList<>();
        List<byte[]> encoded = new ArrayList<>();
        long held = 0;
        long n = 0;
        try {
            Wire.Frame f;
            while ((f = Wire.readFrame(in, inflater)) != null) {
                ids.add(f.id());
                encoded.add(f.encoded());
                held += f.encoded().length;
                n++;
                if (ids.size() == Repository.WRITE_BATCH || held >= IncomingBatch.MAX_BYTES) {
                    stored.addAll(area.put(ids, encoded));
                    ids.clear();
                    encoded.clear();
                    held = 0;
                }
            }
            stored.addAll(area.put(ids, encoded));
        } catch (ClientFailure e) {
            // Cut: keep every object that arrived whole, so that running the push again resumes.
            try {
                area.put(ids, encoded);
            } catch (Refusal | IOException | RuntimeException ignored) {
                // Over a limit, or the disk failed: what is stored stays stored.
            }
            throw e;
        } catch (IOException e) {
            // The body as sent does not parse (a frame's lengths, a frame cut by the body's own end).
            area.remove(stored);
            throw new Refusal(400, "malformed push: " + e.getMessage());
        } catch (Refusal | RuntimeException e) {
            area.remove(stored);
            throw e;
        } finally {
            inflater.end();
        }
        if (!HexFormat.of().formatHex(digest.digest()).equals(caller.bodySha256())) {
            area.remove(stored);
            throw new Refusal(401, "the request body is not the one its signature covers");
        }
        return n;
    }

    private String updateRef(Gate.Caller caller, String line) throws IOException, Refusal {
        String[] f = line.split(" ");
        if (f.length != 5 || !(f[3].equals("0") || f[3].equals("1"))) {
            throw new Refusal(400, "update-ref wants 'NAME OLD NEW FORCE REPOSITORY', got '" + clip(line, 300) + "'");
        }
        String name = f[0];
        boolean tag = name.startsWith(Refs.TAGS);
        if (!name.startsWith(Refs.HEADS) && !tag) {
            throw new Refusal(400, "can only update refs/heads/* or refs/tags/*, not '" + clip(name, 200) + "'");
        }
        Refs.checkName("ref", name.substring(tag ? Refs.TAGS.length() : Refs.HEADS.length()));
        ObjectId old = f[1].equals("-") ? null : ObjectId.parse(f[1]);
        ObjectId next = ObjectId.parse(f[2]);
        boolean force = f[3].equals("1");
        String here = gate.access().repositoryId();
        if (!f[4].equals(here)) {
            throw new Refusal(403, "this update is signed for repository " + clip(f[4], 64) + "; this server serves " + here);
        }
        Staging.Area area = staging.area(caller.key());
        String result;
        // Pushes of the same client wait: the staging area is read, promoted and discarded as one.
        synchronized (area) {
            try (RepoLock.Held _ = repo.sharedLock()) {
                Optional<ObjectId> cur = repo.refs.read(name);
                if (!cur.equals(Optional.ofNullable(old))) {
                    throw new Refusal(409, name + " is at " + cur.map(ObjectId::hex).orElse("nothing") + " now, not "
                            + (old == null ? "nothing" : old.hex()) + "; fetch and try again");
                }
                if (tag) {
                    require(caller, AccessList.Right.TAG, "create or move tags");
                    if (cur.isPresent() && !force) {
                        throw new Refusal(409, "tag " + name + " already exists at " + cur.get().shortHex() + " (push --force to move it)");
                    }
                    if (cur.isPresent()) {
                        require(caller, AccessList.Right.FORCE, "move tag " + name);
                    }
                }
                // Every object and signature of the new history is checked before anything moves.
                Transfer.Validated history = Transfer.validate(repo, area.store, next, Progress.NONE);
                if (!tag && cur.isPresent() && !History.isAncestor(history.loader(repo), cur.get(), next)) {
                    if (!force) {
                        throw new Refusal(409, "non-fast-forward: " + name + " is at " + cur.get().shortHex() + ", which "
                                + next.shortHex() + " does not contain; pull and merge first, or push --force");
                    }
                    require(caller, AccessList.Right.FORCE, "force-update " + name + " to a commit that does not contain "
                            + cur.get().shortHex());
                }
                Transfer.promote(repo, history);
                repo.refs.compareAndSet(name, cur.orElse(null), next);
                result = "updated " + name + " " + (cur.isPresent() ? cur.get().shortHex() : "(new)") + " -> " + next.shortHex();
            }
            // What the update did not reach was pushed for nothing: it goes now, not at the next gc.
            area.discard();
        }
        LOG.log(System.Logger.Level.INFO, "key " + caller.key().hex() + ": " + result);
        return result;
    }

    private static void require(Gate.Caller caller, AccessList.Right right, String what) throws Refusal {
        if (!caller.rights().contains(right)) {
            throw new Refusal(403, "key " + caller.key().hex() + " may not " + what + " (it lacks the " + right.label()
                    + " right; its rights: " + AccessList.format(caller.rights()) + ")");
        }
    }

    /**
     * A request body whose failed reads are the client's doing (cut off, too slow, over the
     * route's limit), told apart from the server's own failures (a disk, a corrupt object).
     */
    private static final class ClientInput extends FilterInputStream {
        ClientInput(InputStream body) {
            super(body);
        }

        @Override
        public int read() throws IOException {
            try {
                return super.read();
            } catch (IOException e) {
                throw new ClientFailure(e);
            }
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            try {
                return super.read(b, off, len);
            } catch (IOException e) {
                throw new ClientFailure(e);
            }
        }
    }

    /** A read of the request body failed: the client went away, sent too slowly or too much. */
    private static final class ClientFailure extends IOException {
        ClientFailure(IOException cause) {
            super(cause.getMessage(), cause);
        }
    }
}
