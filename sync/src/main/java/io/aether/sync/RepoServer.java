package io.aether.sync;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.aether.security.ServerCredentials;
import io.aether.security.Tls;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.zip.Inflater;

/**
 * Serves a repository over HTTPS (TLS 1.3, X25519MLKEM768, ML-DSA-65 certificate; see
 * {@link Tls}) with the JDK's HTTP server on virtual threads. Protocol (sync/README.md):
 * <pre>
 * GET  /v1/refs        -> text, one "ID NAME" line per branch and tag, and "HEAD NAME"
 * POST /v1/plan        ids wants, ids haves -> ids of objects reachable from wants, not from haves
 * POST /v1/objects     ids -> object frames
 * POST /v1/missing     ids -> the ids this store lacks
 * POST /v1/push        object frames -> stored in incoming/ (each checked against its id)
 * POST /v1/update-ref  "NAME OLD NEW FORCE" -> validates NEW's history, then compare-and-set
 * </pre>
 * Errors are answered with a 4xx/5xx status and a one-line text reason. Anyone who can connect
 * may read and upload objects; a ref only moves to history whose every commit is signed by a
 * key in this server's trust store.
 */
public final class RepoServer implements AutoCloseable {

    private final Repository repo;
    private final HttpsServer server;
    private final ExecutorService executor;
    private final StallGuard stallGuard;
    private final String fingerprint;

    /** How long a client may leave a transfer without moving a byte, unless told otherwise. */
    public static final Duration DEFAULT_STALL_LIMIT = Duration.ofSeconds(60);

    private RepoServer(Repository repo, HttpsServer server, ExecutorService executor, StallGuard stallGuard, String fingerprint) {
        this.repo = repo;
        this.server = server;
        this.executor = executor;
        this.stallGuard = stallGuard;
        this.fingerprint = fingerprint;
    }

    /** Starts serving {@code repo} on {@code address} (port 0 picks a free port). */
    public static RepoServer start(Repository repo, InetSocketAddress address, ServerCredentials credentials) throws IOException {
        return start(repo, address, credentials, DEFAULT_STALL_LIMIT);
    }

    /**
     * Starts serving; a connection whose client moves no bytes for {@code stallLimit} in the
     * middle of a request or response is closed, which releases the repository for gc.
     */
    public static RepoServer start(Repository repo, InetSocketAddress address, ServerCredentials credentials,
                                   Duration stallLimit) throws IOException {
        HttpsConfigurator tls = Tls.httpsConfigurator(Tls.serverContext(credentials)); // before binding: it may throw
        StallGuard guard = new StallGuard(stallLimit);
        HttpsServer server;
        try {
            server = HttpsServer.create(address, 64);
        } catch (IOException e) {
            guard.close();
            throw e;
        }
        server.setHttpsConfigurator(tls);
        ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor();
        server.setExecutor(ex);
        RepoServer rs = new RepoServer(repo, server, ex, guard, credentials.fingerprint());
        server.createContext("/v1/", rs::handle).getFilters().add(guard);
        server.start();
        return rs;
    }

    /** Connections closed so far because their client stalled. */
    public long stalledConnections() {
        return stallGuard.stalledExchanges();
    }

    /** The bound port. */
    public int port() {
        return server.getAddress().getPort();
    }

    /** The SHA-256 fingerprint of the certificate clients must pin. */
    public String fingerprint() {
        return fingerprint;
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
        stallGuard.close();
    }

    /** A refusal with an HTTP status and a one-line reason. */
    private static final class Refused extends Exception {
        final int status;

        Refused(int status, String message) {
            super(message, null, false, false);
            this.status = status;
        }
    }

    private void handle(HttpExchange ex) throws IOException {
        boolean[] started = {false};
        try {
            try (RepoLock.Held _ = repo.sharedLock()) {
                dispatch(ex, started);
            }
        } catch (Refused r) {
            sendText(ex, r.status, r.getMessage());
        } catch (IOException | RuntimeException e) {
            if (started[0]) {
                // The body is half sent: drop the connection without the end-of-body marker,
                // so the client sees a cut transfer (and resumes later) rather than a short one.
                throw e instanceof IOException io ? io : new IOException(e);
            }
            int status = e instanceof VerificationException ? 403
                    : e instanceof RepositoryException || e instanceof IllegalArgumentException ? 400 : 500;
            sendText(ex, status, e.getMessage());
        }
        ex.close();
    }

    private void dispatch(HttpExchange ex, boolean[] started) throws IOException, Refused {
        String path = ex.getRequestURI().getPath();
        String method = ex.getRequestMethod();
        switch (method + " " + path) {
            case "GET /v1/refs" -> sendText(ex, 200, refsText());
            case "POST /v1/plan" -> {
                DataInputStream in = new DataInputStream(ex.getRequestBody());
                List<ObjectId> wants = Wire.readIds(in);
                List<ObjectId> haves = Wire.readIds(in);
                for (ObjectId w : wants) {
                    if (!repo.objects.has(w)) {
                        throw new Refused(404, "no commit " + w.hex() + " here");
                    }
                }
                sendIds(ex, Transfer.closure(repo, wants, haves));
            }
            case "POST /v1/objects" -> {
                List<ObjectId> ids = Wire.readIds(new DataInputStream(ex.getRequestBody()));
                for (ObjectId id : ids) {
                    if (!repo.objects.has(id)) {
                        throw new Refused(404, "no object " + id.hex() + " here");
                    }
                }
                started[0] = true;
                sendObjects(ex, ids);
            }
            case "POST /v1/missing" -> sendIds(ex, Transfer.missing(repo, Wire.readIds(new DataInputStream(ex.getRequestBody()))));
            case "POST /v1/push" -> sendText(ex, 200, "stored " + receiveObjects(ex.getRequestBody()));
            case "POST /v1/update-ref" ->
                    sendText(ex, 200, updateRef(new String(ex.getRequestBody().readNBytes(4096), StandardCharsets.UTF_8).strip()));
            default -> throw new Refused(404, "unknown request " + method + " " + path);
        }
    }

    private String refsText() throws IOException {
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<String, ObjectId> e : repo.refs.all().entrySet()) {
            sb.append(e.getValue().hex()).append(' ').append(e.getKey()).append('\n');
        }
        Optional<String> branch = repo.currentBranch();
        branch.ifPresent(b -> sb.append("HEAD ").append(Refs.HEADS).append(b).append('\n'));
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

    private void sendObjects(HttpExchange ex, List<ObjectId> ids) throws IOException {
        ex.getResponseHeaders().set("Content-Type", "application/x-aether-objects");
        ex.sendResponseHeaders(200, 0);
        OutputStream body = ex.getResponseBody();
        DataOutputStream out = new DataOutputStream(new BufferedOutputStream(body, 1 << 16));
        try (Wire.Compressor compressor = new Wire.Compressor()) {
            for (ObjectId id : ids) {
                byte[] enc;
                try {
                    enc = repo.objects.read(id);
                } catch (RepositoryException e) {
                    // A corrupt object is never sent; the client learns why instead of seeing a cut.
                    Wire.writeError(out, id, e.getMessage());
                    break;
                }
                Wire.writeFrame(out, id, enc, compressor);
            }
            out.flush();
        }
    }

    /** Stores pushed objects in incoming/, each checked against its id; a cut keeps what arrived. */
    private long receiveObjects(InputStream body) throws IOException {
        DataInputStream in = new DataInputStream(new java.io.BufferedInputStream(body, 1 << 16));
        Inflater inflater = new Inflater(true);
        IncomingBatch batch = new IncomingBatch(repo);
        long n = 0;
        try {
            Wire.Frame f;
            while ((f = Wire.readFrame(in, inflater)) != null) {
                if (!repo.objects.has(f.id())) {
                    batch.add(f.id(), f.encoded());
                }
                n++;
            }
        } finally {
            inflater.end();
            // Keep what arrived complete, also when the stream was cut.
            batch.finish();
        }
        return n;
    }

    private String updateRef(String line) throws IOException, Refused {
        String[] f = line.split(" ");
        if (f.length != 4 || !(f[3].equals("0") || f[3].equals("1"))) {
            throw new Refused(400, "update-ref wants 'NAME OLD NEW FORCE', got '" + line + "'");
        }
        String name = f[0];
        if (!name.startsWith(Refs.HEADS) && !name.startsWith(Refs.TAGS)) {
            throw new Refused(400, "can only update refs/heads/* or refs/tags/*, not '" + name + "'");
        }
        Refs.checkName("ref", name.substring(name.startsWith(Refs.HEADS) ? Refs.HEADS.length() : Refs.TAGS.length()));
        ObjectId old = f[1].equals("-") ? null : ObjectId.parse(f[1]);
        ObjectId next = ObjectId.parse(f[2]);
        boolean force = f[3].equals("1");
        Optional<ObjectId> cur = repo.refs.read(name);
        if (!cur.equals(Optional.ofNullable(old))) {
            throw new Refused(409, name + " is at " + cur.map(ObjectId::hex).orElse("nothing") + " now, not "
                    + (old == null ? "nothing" : old.hex()) + "; fetch and try again");
        }
        // Every object and signature of the new history is checked before anything moves.
        Transfer.validateAndPromote(repo, next, Progress.NONE);
        if (cur.isPresent() && !force) {
            if (name.startsWith(Refs.TAGS)) {
                throw new Refused(409, "tag " + name + " already exists at " + cur.get().shortHex() + " (push --force to move it)");
            }
            if (!repo.isAncestor(cur.get(), next)) {
                throw new Refused(409, "non-fast-forward: " + name + " is at " + cur.get().shortHex()
                        + ", which " + next.shortHex() + " does not contain; pull and merge first, or push --force");
            }
        }
        repo.refs.compareAndSet(name, cur.orElse(null), next);
        return "updated " + name + " " + (cur.isPresent() ? cur.get().shortHex() : "(new)") + " -> " + next.shortHex();
    }
}
