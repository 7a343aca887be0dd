package io.aether.sync;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.aether.security.ServerCredentials;
import io.aether.security.Tls;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import java.util.zip.Inflater;

/**
 * Serves a repository over HTTPS (TLS 1.3, X25519MLKEM768, ML-DSA-65 certificate; see
 * {@link Tls}) with the JDK's HTTP server on virtual threads. Protocol (sync/README.md):
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
 * <p>The repository's lock is held only while the store is read or written, never while the
 * server waits on a client, so a slow client cannot keep {@code gc} waiting; {@link StallGuard}
 * cuts off clients that stall, trickle or take too long, and caps the exchanges at once.
 */
public final class RepoServer implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(RepoServer.class.getName());
    /**
     * Largest id-list request (about 131,000 ids), read whole into memory: a client asks for 256
     * objects at a time and checks what it lacks {@link RemoteRepository#MISSING_BATCH} at a time.
     */
    static final int MAX_ID_BODY = 4 << 20;
    private static final int MAX_UPDATE_BODY = 4096;
    /** Most of a refused request's body read (and dropped) so that its client gets the reason: a push batch and more. */
    private static final long MAX_DISCARD = 4L * RemoteRepository.BATCH_BYTES;
    /** Objects read from the store under its lock at a time before they are sent without it. */
    private static final long READ_GROUP_BYTES = 4L << 20;
    private static final Pattern ABSOLUTE_PATH = Pattern.compile("(?<=^|[\\s'\"(=:])/[^\\s'\")]*");

    /** How long a client may leave a transfer without moving a byte, unless told otherwise. */
    public static final Duration DEFAULT_STALL_LIMIT = Duration.ofSeconds(60);

    /**
     * How the server behaves towards clients.
     *
     * @param limits           stall, rate, deadline and concurrency limits per exchange ({@link StallGuard})
     * @param publicRead       let clients without a key read (list refs, download)
     * @param maxPushBytes     most bytes one client key may hold in its staging area
     * @param maxStagedBytes   most bytes all staging areas may hold together
     * @param stagingTtl       how long a staging area no push writes to is kept
     * @param maxResponseBytes object bytes served per {@code /v1/objects} request (at least one object is)
     */
    public record Options(StallGuard.Limits limits, boolean publicRead, long maxPushBytes, long maxStagedBytes,
                          Duration stagingTtl, long maxResponseBytes) {

        public static final long DEFAULT_MAX_PUSH_BYTES = 16L << 30;
        public static final long DEFAULT_MAX_STAGED_BYTES = 64L << 30;
        public static final Duration DEFAULT_STAGING_TTL = Duration.ofHours(1);
        public static final long DEFAULT_MAX_RESPONSE_BYTES = 32L << 20;

        public Options {
            if (maxPushBytes <= 0 || maxStagedBytes <= 0 || maxResponseBytes <= 0) {
                throw new IllegalArgumentException("push, staging and response limits must be positive");
            }
            if (stagingTtl.isNegative() || stagingTtl.isZero()) {
                throw new IllegalArgumentException("staging time to live must be positive, got " + stagingTtl);
            }
        }

        /** Keys only, the default limits. */
        public static Options defaults() {
            return new Options(StallGuard.Limits.of(DEFAULT_STALL_LIMIT), false, DEFAULT_MAX_PUSH_BYTES,
                    DEFAULT_MAX_STAGED_BYTES, DEFAULT_STAGING_TTL, DEFAULT_MAX_RESPONSE_BYTES);
        }

        public Options withLimits(StallGuard.Limits l) {
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

    /** The requests, with the right each needs. */
    private enum Endpoint {
        REFS(AccessList.Right.READ), HISTORY(AccessList.Right.READ), OBJECTS(AccessList.Right.READ),
        MISSING(AccessList.Right.WRITE), PUSH(AccessList.Right.WRITE), UPDATE_REF(AccessList.Right.WRITE);

        final AccessList.Right right;

        Endpoint(AccessList.Right right) {
            this.right = right;
        }
    }

    private final Repository repo;
    private final Options options;
    private final HttpsServer server;
    private final ExecutorService executor;
    private final StallGuard stallGuard;
    private final String fingerprint;
    private final Gate gate;
    private final Staging staging;
    private final ScheduledExecutorService expiry;
    private final AtomicLong refused = new AtomicLong();

    private RepoServer(Repository repo, Options options, HttpsServer server, ExecutorService executor, StallGuard stallGuard,
                       String fingerprint, Gate gate, Staging staging) {
        this.repo = repo;
        this.options = options;
        this.server = server;
        this.executor = executor;
        this.stallGuard = stallGuard;
        this.fingerprint = fingerprint;
        this.gate = gate;
        this.staging = staging;
        this.expiry = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "staging-expiry");
            t.setDaemon(true);
            return t;
        });
        long period = Math.clamp(options.stagingTtl().toMillis() / 4, 10, 60_000);
        expiry.scheduleWithFixedDelay(this::expireStaging, period, period, TimeUnit.MILLISECONDS);
    }

    /** Starts serving {@code repo} on {@code address} (port 0 picks a free port) with the default options. */
    public static RepoServer start(Repository repo, InetSocketAddress address, ServerCredentials credentials) throws IOException {
        return start(repo, address, credentials, Options.defaults());
    }

    /** Starts serving {@code repo} to the clients on its {@link AccessList}. */
    public static RepoServer start(Repository repo, InetSocketAddress address, ServerCredentials credentials, Options options)
            throws IOException {
        HttpsConfigurator tls = Tls.httpsConfigurator(Tls.serverContext(credentials)); // before binding: it may throw
        Gate gate = new Gate(repo, credentials.fingerprint(), options.publicRead(), System::currentTimeMillis);
        Staging staging = new Staging(repo, options.maxPushBytes(), options.maxStagedBytes(), options.stagingTtl(),
                System::currentTimeMillis);
        StallGuard guard = new StallGuard(options.limits());
        HttpsServer server;
        JdkHttpServers.configure();
        try {
            server = HttpsServer.create(address, 64);
        } catch (IOException e) {
            guard.close();
            throw e;
        }
        server.setHttpsConfigurator(tls);
        ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor();
        server.setExecutor(ex);
        RepoServer rs = new RepoServer(repo, options, server, ex, guard, credentials.fingerprint(), gate, staging);
        server.createContext("/v1/", rs::handle).getFilters().add(guard);
        server.start();
        return rs;
    }

    /** Connections closed so far because their client stalled, trickled or ran past its deadline. */
    public long stalledConnections() {
        return stallGuard.stalledExchanges();
    }

    /** Requests answered with an error (refused, malformed, or too many at once). */
    public long refusedRequests() {
        return refused.get() + stallGuard.refusedExchanges();
    }

    /** The bound port. */
    public int port() {
        return server.getAddress().getPort();
    }

    /** The SHA-256 fingerprint of the certificate clients must pin. */
    public String fingerprint() {
        return fingerprint;
    }

    /** The repository id signed ref updates must name ({@link AccessList#repositoryId()}). */
    public String repositoryId() throws IOException {
        return gate.access().repositoryId();
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
        stallGuard.close();
        expiry.shutdownNow();
    }

    private void expireStaging() {
        try {
            staging.expire();
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "discarding expired staging areas failed; retrying later", e);
        }
    }

    private void handle(HttpExchange ex) throws IOException {
        boolean[] started = {false};
        try {
            serve(ex, started);
        } catch (Refusal r) {
            refused.incrementAndGet();
            if (r.status == 401) {
                ex.getResponseHeaders().set("WWW-Authenticate", RequestAuth.SCHEME);
            }
            discardRequestBody(ex);
            sendText(ex, r.status, r.getMessage());
        } catch (IOException | RuntimeException e) {
            refused.incrementAndGet();
            if (started[0]) {
                // The body is half sent: drop the connection without the end-of-body marker,
                // so the client sees a cut transfer (and resumes later) rather than a short one.
                throw e instanceof IOException io ? io : new IOException(e);
            }
            int status = e instanceof VerificationException ? 403
                    : e instanceof RepositoryException || e instanceof IllegalArgumentException ? 400 : 500;
            sendText(ex, status, peerMessage(e));
        }
        ex.close();
    }

    /**
     * Reads what is left of a refused request's body (up to {@link #MAX_DISCARD} bytes, at the
     * stall guard's pace): a server that closed the connection on a client still sending would
     * reset it, and the client would lose the reason along with the connection.
     */
    private static void discardRequestBody(HttpExchange ex) {
        byte[] scratch = new byte[1 << 16];
        try (InputStream in = ex.getRequestBody()) {
            long left = MAX_DISCARD;
            for (int n; left > 0 && (n = in.read(scratch, 0, (int) Math.min(scratch.length, left))) > 0; ) {
                left -= n;
            }
        } catch (IOException e) {
            // Gone, or too much: the connection closes, as it would have.
        }
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

    private void serve(HttpExchange ex, boolean[] started) throws IOException, Refusal {
        String path = ex.getRequestURI().getRawPath();
        String method = ex.getRequestMethod();
        Endpoint endpoint = switch (method + " " + path) {
            case "GET /v1/refs" -> Endpoint.REFS;
            case "POST /v1/history" -> Endpoint.HISTORY;
            case "POST /v1/objects" -> Endpoint.OBJECTS;
            case "POST /v1/missing" -> Endpoint.MISSING;
            case "POST /v1/push" -> Endpoint.PUSH;
            case "POST /v1/update-ref" -> Endpoint.UPDATE_REF;
            default -> throw new Refusal(404, "unknown request " + clip(method, 16) + " " + clip(path, 100));
        };
        Gate.Caller caller = gate.admit(method, path, ex.getRequestHeaders().getFirst(RequestAuth.HEADER), endpoint.right);
        switch (endpoint) {
            case REFS -> sendText(ex, 200, refsText());
            case HISTORY -> {
                DataInputStream in = idLists(ex, caller);
                List<ObjectId> wants = Wire.readIds(in);
                List<ObjectId> haves = Wire.readIds(in);
                List<ObjectId> commits;
                try (RepoLock.Held _ = repo.sharedLock()) {
                    requirePresent(wants, "commit");
                    commits = Transfer.newCommits(repo, wants, haves);
                }
                sendObjects(ex, commits, Long.MAX_VALUE, started);
            }
            case OBJECTS -> {
                // Each id once: a list that repeats one would otherwise multiply what it costs to send.
                List<ObjectId> ids = new ArrayList<>(new LinkedHashSet<>(Wire.readIds(idLists(ex, caller))));
                try (RepoLock.Held _ = repo.sharedLock()) {
                    requirePresent(ids, "object");
                }
                sendObjects(ex, ids, options.maxResponseBytes(), started);
            }
            case MISSING -> {
                List<ObjectId> ids = Wire.readIds(idLists(ex, caller));
                sendIds(ex, Transfer.missing(repo, staging.area(caller.key()).store, ids));
            }
            case PUSH -> sendText(ex, 200, "stored " + receiveObjects(ex.getRequestBody(), caller));
            case UPDATE_REF -> sendText(ex, 200, updateRef(caller,
                    new String(body(ex, caller, MAX_UPDATE_BODY), StandardCharsets.UTF_8).strip()));
        }
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

    private DataInputStream idLists(HttpExchange ex, Gate.Caller caller) throws IOException, Refusal {
        return new DataInputStream(new ByteArrayInputStream(body(ex, caller, MAX_ID_BODY)));
    }

    /** The whole request body, at most {@code max} bytes, checked against the hash the caller signed. */
    private static byte[] body(HttpExchange ex, Gate.Caller caller, int max) throws IOException, Refusal {
        byte[] b = ex.getRequestBody().readNBytes(max + 1);
        if (b.length > max) {
            throw new Refusal(413, "request body over " + max + " bytes");
        }
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

    private void sendText(HttpExchange ex, int status, String text) {
        try {
            byte[] body = (text + "\n").getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
            ex.sendResponseHeaders(status, body.length);
            ex.getResponseBody().write(body);
        } catch (IOException e) {
            // The client went away; nothing to tell it.
        }
    }

    private void sendIds(HttpExchange ex, List<ObjectId> ids) throws IOException {
        ex.getResponseHeaders().set("Content-Type", "application/x-aether-ids");
        long len = 4L + (long) ids.size() * ObjectId.LENGTH;
        ex.sendResponseHeaders(200, len);
        DataOutputStream out = new DataOutputStream(new BufferedOutputStream(ex.getResponseBody(), 1 << 16));
        Wire.writeIds(out, ids);
        out.flush();
    }

    /**
     * Sends {@code ids} as object frames, stopping before the object that would take the
     * response over {@code maxBytes} (the client asks again for the rest). Objects are read under
     * the repository's lock a few megabytes at a time and sent without it.
     */
    private void sendObjects(HttpExchange ex, List<ObjectId> ids, long maxBytes, boolean[] started) throws IOException {
        ex.getResponseHeaders().set("Content-Type", "application/x-aether-objects");
        ex.sendResponseHeaders(200, 0);
        started[0] = true;
        DataOutputStream out = new DataOutputStream(new BufferedOutputStream(ex.getResponseBody(), 1 << 16));
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
    }

    /**
     * Stores pushed objects in the caller's staging area, each checked against its id. A cut
     * keeps what arrived whole (the push resumes); a refused or malformed body, or one that is
     * not the body the caller signed, keeps nothing.
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
        } catch (Refusal | RuntimeException e) {
            area.remove(stored);
            throw e;
        } catch (IOException e) {
            // Cut: keep every object that arrived whole, so that running the push again resumes.
            try {
                area.put(ids, encoded);
            } catch (Refusal | IOException | RuntimeException ignored) {
                // Over a limit, or the disk failed: what is stored stays stored.
            }
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
}
