package io.aether.agent;

import com.fasterxml.jackson.databind.JsonNode;
import io.aether.agentapi.AgentClient;
import io.aether.agentapi.AllocationReports;
import io.aether.agentapi.DesiredVms;
import io.aether.agentapi.JoinRequest;
import io.aether.agentapi.JoinToken;
import io.aether.http.ApiClient;
import io.aether.security.AetherHome;
import io.aether.security.CertificateAuthority;
import io.aether.security.Identity;
import io.aether.security.ServerCredentials;
import io.aether.security.ServerTrust;
import io.aether.sync.RemoteRepository;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * A node agent's link to the fabric's controllers. The node joins once, with a one-time join token
 * and its ML-DSA-65 identity (made on first use and kept in the link's directory); then it pulls:
 * every {@link Options#every} it asks for its desired state ({@code GET /v1/nodes/NAME/desired}),
 * hands it to the {@link Reconciler} and reports the allocations' VMs and model servers back when
 * they changed, with the room of the node's volume store. Model allocations are served by a {@link ModelRunner} in the link's {@code models/}
 * directory; their commits must be signed by a key in the trust store of the node's user ({@code
 * aether model trust}: {@code $AETHER_HOME/trust}, else {@code ~/.config/aether/trust}).
 *
 * <p>Over the network ({@link #startRemote}) the node joins through the controller's TLS listener,
 * pinning the certificate its join token names, keeps the node certificate the controller issues
 * it, and pulls over mutual TLS with that certificate.
 *
 * <p>Pull, not push: the controllers need no route to the node (it may sit behind NAT), a node that
 * was away catches up by asking once, and the same request doubles as the node's heartbeat. Cut
 * off from the controllers, the node goes on reconciling to the desired state it kept on disk.
 */
public final class FabricLink implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(FabricLink.class.getName());
    static final String JOINED = "joined";
    static final String PRIVATE_KEY = "node.key";
    static final String PUBLIC_KEY = "node.pub";
    /** Where the model allocations' repositories, logs and pid files go, in the link's directory. */
    static final String MODELS = "models";
    /** Model servers listen on loopback: reaching them from elsewhere is a proxy's or a tunnel's business. */
    static final String MODEL_HOST = "127.0.0.1";
    /** A JVM start, ONNX Runtime's, a model load and its warm-up run, on a loaded machine. */
    static final Duration MODEL_START_TIMEOUT = Duration.ofSeconds(120);
    /** The node certificate the controller issued at the join, and the certificate of the CA that issued it. */
    static final String CERTIFICATE = "node.crt";
    static final String AUTHORITY = "authority.crt";
    /** The controller a node joined over the network: {@code HOST PORT SHA256}. */
    static final String CONTROLLER = "controller";
    private static final Duration JOIN_TIMEOUT = Duration.ofSeconds(30);
    private static final int HANDSHAKE_ATTEMPTS = 3;

    /**
     * What the node offers the fabric.
     *
     * @param node its name in the fabric
     * @param every how often it asks for its desired state
     */
    public record Options(String node, SortedMap<String, String> labels, int vcpus, long memoryBytes, Duration every) {
        public Options {
            Objects.requireNonNull(node, "node");
            labels = new TreeMap<>(labels);
            Objects.requireNonNull(every, "every");
        }
    }

    private final ApiClient controller;
    private final Reconciler reconciler;
    private final ModelRunner models;
    private final Options options;
    private final ScheduledExecutorService loop;
    private AllocationReports lastSent;

    private FabricLink(ApiClient controller, Reconciler reconciler, ModelRunner models, Options options) {
        this.controller = controller;
        this.reconciler = reconciler;
        this.models = models;
        this.options = options;
        this.loop = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("fabric-link").daemon().factory());
    }

    /**
     * A controller reached over the network: its TLS listener and the SHA-256 of its certificate
     * (from the join token), which the node pins before it sends anything.
     */
    public record Remote(String host, int port, String fingerprint) {
        public Remote {
            Objects.requireNonNull(host, "host");
            if (port < 1 || port > 65_535) throw new IllegalArgumentException("port must be 1..65535, got " + port);
            fingerprint = new ServerTrust.Pinned(fingerprint).fingerprint();
        }

        /** {@code HOST:PORT} with the fingerprint of {@code token}; refused if the token names no controller certificate. */
        public static Remote of(String hostPort, JoinToken token) {
            int colon = hostPort.lastIndexOf(':');
            if (colon < 1) throw new IllegalArgumentException("'" + hostPort + "' is not HOST:PORT");
            int port;
            try {
                port = Integer.parseInt(hostPort.substring(colon + 1));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("'" + hostPort + "' has no port number");
            }
            String fingerprint = token.controllerFingerprint().orElseThrow(() -> new IllegalArgumentException(
                    "the join token names no controller certificate (it comes from a controller without --listen)"));
            return new Remote(hostPort.substring(0, colon).replaceAll("^\\[|\\]$", ""), port, fingerprint);
        }

        String line() {
            return host + " " + port + " " + fingerprint + "\n";
        }

        static Remote read(Path file) throws IOException {
            String[] parts = Files.readString(file).strip().split(" ");
            try {
                return new Remote(parts[0], Integer.parseInt(parts[1]), parts[2]);
            } catch (RuntimeException e) {
                throw new IOException(file + ": not 'HOST PORT SHA256' (" + e.getMessage() + ")", e);
            }
        }
    }

    /**
     * Joins with {@code token} unless this directory's node has joined already, then starts pulling.
     * The agent is reached on {@code agentSocket}, the link keeps its identity and desired state in
     * {@code dir}.
     */
    public static FabricLink start(ApiClient controller, Path agentSocket, Path dir, Options options, Optional<String> token) throws IOException {
        Files.createDirectories(dir);
        Identity identity = identity(dir);
        if (!joined(dir, options)) {
            join(controller, identity, dir, options, token.orElseThrow(() -> noToken(options)));
            markJoined(dir, options);
        }
        return pulling(controller, agentSocket, dir, options, identity);
    }

    /**
     * Joins over TLS unless this directory's node has joined already, then pulls over mutual TLS
     * with the node certificate the controller issued. The node tries {@code candidates} in order
     * and joins the first whose certificate is the one pinned (a controller named by
     * {@code --join}, or those heard on the network); once joined, it keeps to the controller it
     * joined ({@code DIR/controller}).
     */
    public static FabricLink startRemote(List<Remote> candidates, Path agentSocket, Path dir, Options options, Optional<String> token) throws IOException {
        Files.createDirectories(dir);
        Identity identity = identity(dir);
        Path kept = dir.resolve(CONTROLLER);
        if (!joined(dir, options)) {
            String secret = token.orElseThrow(() -> noToken(options));
            if (candidates.isEmpty()) throw new IOException("no controller to join: give --join HOST:PORT, or wait for one to be heard");
            IOException last = null;
            for (Remote remote : candidates) {
                try {
                    ApiClient client = ApiClient.tls(remote.host(), remote.port(), new ServerTrust.Pinned(remote.fingerprint()), JOIN_TIMEOUT);
                    joinRetryingHandshakes(client, identity, dir, options, secret);
                    DataDir.writeAtomically(kept, remote.line().getBytes(StandardCharsets.US_ASCII));
                    markJoined(dir, options);
                    last = null;
                    break;
                } catch (IOException e) {
                    LOG.warning("joining through " + remote.host() + ":" + remote.port() + " failed: " + e.getMessage());
                    last = e;
                }
            }
            if (last != null) throw last;
        }
        if (!Files.exists(kept) || !Files.exists(dir.resolve(CERTIFICATE))) {
            throw new IOException(dir + ": this node joined through a local socket; it has no controller address or certificate for TLS");
        }
        Remote remote = Remote.read(kept);
        ServerCredentials credentials = ServerCredentials.load(dir.resolve(PRIVATE_KEY), dir.resolve(CERTIFICATE));
        ApiClient mutual = ApiClient.mutualTls(remote.host(), remote.port(), new ServerTrust.Pinned(remote.fingerprint()), credentials, JOIN_TIMEOUT);
        return pulling(mutual, agentSocket, dir, options, identity);
    }

    /** Whether the node of the link directory {@code dir} has joined (it then needs no token to start again). */
    public static boolean hasJoined(Path dir) {
        return Files.exists(dir.resolve(JOINED));
    }

    private static IOException noToken(Options options) {
        return new IOException("node " + options.node() + " has not joined the fabric and no join token was given");
    }

    private static boolean joined(Path dir, Options options) throws IOException {
        Path joined = dir.resolve(JOINED);
        if (!Files.exists(joined)) return false;
        if (!Files.readString(joined).strip().equals(options.node())) {
            throw new IOException(joined + ": this directory's node is '" + Files.readString(joined).strip() + "', not " + options.node());
        }
        return true;
    }

    private static void markJoined(Path dir, Options options) throws IOException {
        DataDir.writeAtomically(dir.resolve(JOINED), (options.node() + "\n").getBytes(StandardCharsets.UTF_8));
    }

    /**
     * {@link #join}, tried again when the TLS handshake fails: nothing was sent then, so trying
     * again cannot use the token twice. (A node's first handshake, in a JVM that has not loaded
     * the post-quantum TLS code yet, can be slower than the server's minimum data rate allows on a
     * loaded machine, and is closed.) A wrong certificate fails the same way every time.
     */
    private static void joinRetryingHandshakes(ApiClient controller, Identity identity, Path dir, Options options, String secret) throws IOException {
        for (int attempt = 1; ; attempt++) {
            try {
                join(controller, identity, dir, options, secret);
                return;
            } catch (javax.net.ssl.SSLException e) {
                if (attempt == HANDSHAKE_ATTEMPTS || e.getMessage().contains("is not the pinned")) throw e;
                LOG.info(() -> "the TLS handshake failed (" + e.getMessage() + "); trying again");
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
            }
        }
    }

    /** The signed registration; the node certificate the controller answers with is kept ({@code DIR/node.crt}, with its CA's). */
    private static void join(ApiClient controller, Identity identity, Path dir, Options options, String secret) throws IOException {
        String key = Base64.getEncoder().encodeToString(identity.publicKey().getEncoded());
        byte[] signed = JoinRequest.signedBytes(options.node(), options.labels(), options.vcpus(), options.memoryBytes(), secret, key);
        JoinRequest request = new JoinRequest(options.node(), options.labels(), options.vcpus(), options.memoryBytes(), secret, key,
                Base64.getEncoder().encodeToString(identity.sign(signed)));
        JsonNode answer = controller.post("/v1/nodes", request).requireOk().json(JsonNode.class);
        String certificate = answer.path("certificate").asText("");
        if (certificate.isEmpty()) return;
        X509Certificate parsed = CertificateAuthority.parse(certificate, "the controller's answer: certificate");
        if (!java.util.Arrays.equals(parsed.getPublicKey().getEncoded(), identity.publicKey().getEncoded())) {
            throw new IOException("the controller's answer: the certificate is not of this node's key");
        }
        DataDir.writeAtomically(dir.resolve(AUTHORITY), answer.path("authority").asText("").getBytes(StandardCharsets.US_ASCII));
        DataDir.writeAtomically(dir.resolve(CERTIFICATE), certificate.getBytes(StandardCharsets.US_ASCII));
    }

    private static FabricLink pulling(ApiClient controller, Path agentSocket, Path dir, Options options, Identity identity) throws IOException {
        AgentClient agent = new AgentClient(ApiClient.unix(agentSocket, Duration.ofSeconds(90)));
        ModelRunner models = ModelRunner.open(new ModelRunner.Config(dir.resolve(MODELS), ModelRunner.Config.defaultCommand(), AetherHome.resolve().dir(),
                identity, MODEL_HOST, RemoteRepository.DEFAULT_MAX_DOWNLOAD_BYTES, MODEL_START_TIMEOUT));
        FabricLink link;
        try {
            link = new FabricLink(controller, Reconciler.open(Reconciler.of(agent), models, dir, options.node()), models, options);
        } catch (IOException | RuntimeException e) {
            models.close();
            throw e;
        }
        long every = options.every().toMillis();
        link.loop.scheduleWithFixedDelay(link::pullQuietly, 0, every, TimeUnit.MILLISECONDS);
        return link;
    }

    /** The node's identity in {@code dir}, made and saved (private key 0600) on first use. */
    private static Identity identity(Path dir) throws IOException {
        Path privateKey = dir.resolve(PRIVATE_KEY);
        Path publicKey = dir.resolve(PUBLIC_KEY);
        if (Files.exists(privateKey)) return Identity.load(privateKey, publicKey);
        Identity made = Identity.generate();
        made.save(privateKey, publicKey);
        return made;
    }

    /** One pass: the desired state asked for and reconciled to, the VMs reported if that changed anything. */
    void pull() throws IOException {
        DesiredVms desired;
        try {
            desired = controller.get("/v1/nodes/" + options.node() + "/desired").json(DesiredVms.class);
        } catch (IOException e) {
            LOG.fine(() -> "no desired state from the controllers (" + e.getMessage() + "); reconciling to the one kept");
            reconciler.reconcile();
            return;
        }
        List<Reconciler.Report> reports = reconciler.offer(desired);
        AllocationReports next = new AllocationReports(reconciler.desired().revision(), reports.stream()
                .map(r -> new AllocationReports.Report(r.allocation(), r.state(), r.reason().orElse(null), r.url().orElse(null), r.commit().orElse(null)))
                .toList(), reconciler.volumeSpace());
        if (next.equals(lastSent)) return;
        controller.post("/v1/nodes/" + options.node() + "/reports", next).requireOk();
        lastSent = next;
    }

    private void pullQuietly() {
        try {
            pull();
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.WARNING, "fabric link: the pass failed, the next one retries: " + e.getMessage());
        }
    }

    /** Stops pulling, and stops the model servers (the VMs run on in their monitors). */
    @Override
    public void close() {
        loop.shutdownNow();
        try {
            loop.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        models.close();
    }
}
