package io.aether.agent;

import io.aether.agentapi.AgentClient;
import io.aether.agentapi.AllocationReports;
import io.aether.agentapi.DesiredVms;
import io.aether.agentapi.JoinRequest;
import io.aether.http.ApiClient;
import io.aether.security.AetherHome;
import io.aether.security.Identity;
import io.aether.sync.RemoteRepository;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
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
 * they changed. Model allocations are served by a {@link ModelRunner} in the link's {@code models/}
 * directory; their commits must be signed by a key in the trust store of the node's user ({@code
 * aether model trust}: {@code $AETHER_HOME/trust}, else {@code ~/.config/aether/trust}).
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
     * Joins with {@code token} unless this directory's node has joined already, then starts pulling.
     * The agent is reached on {@code agentSocket}, the link keeps its identity and desired state in
     * {@code dir}.
     */
    public static FabricLink start(ApiClient controller, Path agentSocket, Path dir, Options options, Optional<String> token) throws IOException {
        Files.createDirectories(dir);
        Identity identity = identity(dir);
        Path joined = dir.resolve(JOINED);
        if (!Files.exists(joined)) {
            String secret = token.orElseThrow(() -> new IOException("node " + options.node() + " has not joined the fabric and no join token was given"));
            String key = Base64.getEncoder().encodeToString(identity.publicKey().getEncoded());
            byte[] signed = JoinRequest.signedBytes(options.node(), options.labels(), options.vcpus(), options.memoryBytes(), secret, key);
            JoinRequest request = new JoinRequest(options.node(), options.labels(), options.vcpus(), options.memoryBytes(), secret, key,
                    Base64.getEncoder().encodeToString(identity.sign(signed)));
            controller.post("/v1/nodes", request).requireOk();
            DataDir.writeAtomically(joined, (options.node() + "\n").getBytes(StandardCharsets.UTF_8));
        } else if (!Files.readString(joined).strip().equals(options.node())) {
            throw new IOException(joined + ": this directory's node is '" + Files.readString(joined).strip() + "', not " + options.node());
        }
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
                .toList());
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
