package io.aether.ai;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtLoggingLevel;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Pattern;

/**
 * The inference runtime: serves named models, each from a {@link ModelSource}, on ONNX Runtime.
 * A library with a plain lifecycle that a node agent can host: {@link #start}, then
 * {@link #deploy} / {@link #switchTo} / {@link #startCanary} / {@link #promoteCanary} /
 * {@link #rollbackCanary} / {@link #undeploy} at any time, {@link #predict} from any thread,
 * {@link #close} at the end. {@link InferenceServer} puts it on HTTP.
 *
 * <p>A new version is loaded completely (session, signature, warm-up run) before any request
 * is routed to it; a version that fails to load is refused and the serving ones keep serving.
 * Routing changes are atomic, and a replaced version is closed only after its in-flight
 * predictions are answered, so a switch under load fails no request. Admin operations are
 * serialized; predictions never wait for them.
 */
public final class InferenceRuntime implements AutoCloseable {

    private final OrtEnvironment env;
    private final RuntimeConfig config;
    private final Map<String, Deployment> deployments = new ConcurrentHashMap<>();
    private final ReentrantLock admin = new ReentrantLock();
    private final MetricsRegistry metrics = new MetricsRegistry(this::models);
    private volatile boolean closed;

    /** A deployed model: its source and its current routing (null once undeployed). */
    private static final class Deployment {
        final String name;
        final ModelSource source;
        final AtomicReference<Routing> routing;

        Deployment(String name, ModelSource source, Routing routing) {
            this.name = name;
            this.source = source;
            this.routing = new AtomicReference<>(routing);
        }
    }

    private InferenceRuntime(OrtEnvironment env, RuntimeConfig config) {
        this.env = env;
        this.config = config;
    }

    /** Starts a runtime with no models; ONNX Runtime's native library is loaded on first use in the process. */
    public static InferenceRuntime start(RuntimeConfig config) {
        return new InferenceRuntime(OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
                "aether"), config);
    }

    public RuntimeConfig config() {
        return config;
    }

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

    /** Whether {@code name} is usable as a model name: 1-128 of letters, digits, '.', '_', '-', starting with a letter or digit. */
    public static boolean isValidName(String name) {
        return name != null && NAME.matcher(name).matches();
    }

    /**
     * Deploys a new model: resolves {@code ref} in {@code source}, loads that version and routes
     * all of the model's requests to it.
     *
     * @throws DeploymentException CONFLICT if a model of that name is deployed (use {@link #switchTo}),
     *         UNKNOWN_REF / SOURCE_FAILED / INVALID_MODEL if the version cannot be loaded
     */
    public VersionStatus deploy(String name, ModelSource source, String ref) throws DeploymentException {
        if (!isValidName(name)) {
            throw new IllegalArgumentException("invalid model name '" + name
                    + "': use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit");
        }
        admin.lock();
        try {
            checkOpen();
            if (deployments.containsKey(name)) {
                throw new DeploymentException(DeploymentException.Reason.CONFLICT, "model '" + name
                        + "' is already deployed; switch its version instead");
            }
            String version = resolve(name, source, ref);
            LoadedVersion v = load(name, source, version, ref);
            Routing r = new Routing(v, null, 0);
            deployments.put(name, new Deployment(name, source, r));
            return r.status().getFirst();
        } finally {
            admin.unlock();
        }
    }

    /**
     * Makes the version {@code ref} resolves to now the only one serving the model; ends a
     * canary if one runs. A version already loaded (the stable one or the canary) is reused.
     */
    public VersionStatus switchTo(String name, String ref) throws DeploymentException {
        admin.lock();
        try {
            Deployment d = deployment(name);
            String version = resolve(name, d.source, ref);
            Routing old = d.routing.get();
            LoadedVersion v = old.find(version);
            return routeAllTo(d, old, v != null ? v : load(name, d.source, version, ref));
        } finally {
            admin.unlock();
        }
    }

    /**
     * Routes {@code percent} of the model's requests to the version {@code ref} resolves to,
     * the rest to the stable version; replaces an earlier canary. Calling it again with the
     * canary's own version changes only the share.
     */
    public VersionStatus startCanary(String name, String ref, double percent) throws DeploymentException {
        CanarySpec.checkPercent(percent);
        admin.lock();
        try {
            Deployment d = deployment(name);
            String version = resolve(name, d.source, ref);
            Routing old = d.routing.get();
            if (old.stable.version.equals(version)) {
                throw new DeploymentException(DeploymentException.Reason.CONFLICT, "ref '" + ref + "' is version "
                        + version + ", which is already the stable version of model '" + name + "'");
            }
            LoadedVersion v = old.canary != null && old.canary.version.equals(version)
                    ? old.canary : load(name, d.source, version, ref);
            Routing next = new Routing(old.stable, v, percent);
            replace(d, old, next);
            return next.status().get(1);
        } finally {
            admin.unlock();
        }
    }

    /** Makes the canary the stable version and retires the old stable one. */
    public VersionStatus promoteCanary(String name) throws DeploymentException {
        return endCanary(name, true);
    }

    /** Ends the canary: all requests go to the stable version again, and the canary is retired. */
    public VersionStatus rollbackCanary(String name) throws DeploymentException {
        return endCanary(name, false);
    }

    /** Routes everything to the canary ({@code promote}) or to the stable version, retiring the other. */
    private VersionStatus endCanary(String name, boolean promote) throws DeploymentException {
        admin.lock();
        try {
            Deployment d = deployment(name);
            Routing old = d.routing.get();
            if (old.canary == null) {
                throw new DeploymentException(DeploymentException.Reason.CONFLICT, "model '" + name + "' has no canary");
            }
            return routeAllTo(d, old, promote ? old.canary : old.stable);
        } finally {
            admin.unlock();
        }
    }

    /** Stops serving a model; its versions close once their in-flight predictions are answered. */
    public boolean undeploy(String name) {
        admin.lock();
        try {
            Deployment d = deployments.remove(name);
            if (d == null) {
                return false;
            }
            Routing old = d.routing.getAndSet(null);
            for (LoadedVersion v : old.versions()) {
                retire(v);
            }
            return true;
        } finally {
            admin.unlock();
        }
    }

    /** Makes {@code v} the model's only version; returns its status. */
    private VersionStatus routeAllTo(Deployment d, Routing old, LoadedVersion v) {
        Routing next = new Routing(v, null, 0);
        replace(d, old, next);
        return next.status().getFirst();
    }

    /** Publishes {@code next}, then retires what {@code old} routed to and {@code next} does not. */
    private void replace(Deployment d, Routing old, Routing next) {
        d.routing.set(next);
        for (LoadedVersion v : old.versions()) {
            if (!next.contains(v)) {
                retire(v);
            }
        }
    }

    private void retire(LoadedVersion v) {
        metrics.retire(v.metrics);
        v.retire();
    }

    private Deployment deployment(String name) throws DeploymentException {
        checkOpen();
        Deployment d = deployments.get(name);
        if (d == null) {
            throw new DeploymentException(DeploymentException.Reason.UNKNOWN_MODEL, "no model '" + name + "' is deployed");
        }
        return d;
    }

    private void checkOpen() throws DeploymentException {
        if (closed) {
            throw new DeploymentException(DeploymentException.Reason.CONFLICT, "the inference runtime is closed");
        }
    }

    /** A ref that names nothing is the caller's mistake, not a failed load: only the source failing counts. */
    private String resolve(String name, ModelSource source, String ref) throws DeploymentException {
        try {
            return source.resolve(ref);
        } catch (ModelSourceException e) {
            if (e.reason() != ModelSourceException.Reason.UNKNOWN_REF) {
                metrics.loadFailed(name);
            }
            throw fromSource(e);
        }
    }

    private LoadedVersion load(String name, ModelSource source, String version, String ref)
            throws DeploymentException {
        try {
            return LoadedVersion.load(env, config, name, version, ref, source.read(version), metrics);
        } catch (ModelSourceException e) {
            metrics.loadFailed(name);
            throw fromSource(e);
        } catch (DeploymentException e) {
            metrics.loadFailed(name);
            throw e;
        }
    }

    private static DeploymentException fromSource(ModelSourceException e) {
        DeploymentException.Reason reason = switch (e.reason()) {
            case UNKNOWN_REF -> DeploymentException.Reason.UNKNOWN_REF;
            case NO_MODEL, UNREADABLE -> DeploymentException.Reason.SOURCE_FAILED;
        };
        return new DeploymentException(reason, e.getMessage(), e);
    }

    /** Whether a model of that name is deployed (cheaper than {@link #status}). */
    boolean isDeployed(String name) {
        return deployments.containsKey(name);
    }

    /** The status of one model. */
    public Optional<ModelStatus> status(String name) {
        Deployment d = deployments.get(name);
        if (d == null) {
            return Optional.empty();
        }
        Routing r = d.routing.get();
        return r == null ? Optional.empty() : Optional.of(new ModelStatus(d.name, d.source.describe(), r.status()));
    }

    /** The status of every deployed model, by name. */
    public List<ModelStatus> models() {
        List<ModelStatus> all = new ArrayList<>();
        for (String name : deployments.keySet().stream().sorted().toList()) {
            status(name).ifPresent(all::add);
        }
        return all;
    }

    /** Predicts with the version routing picks (the stable one, or the canary for its share). */
    public Prediction predict(String name, Map<String, Tensor> inputs) throws InferenceException {
        return predict(name, null, InputBinder.of(inputs));
    }

    /**
     * Predicts with a given loaded version ({@code version} non-null) or the one routing picks;
     * the binder turns the request into tensors for the chosen version's signature (it may read
     * the request only then). An unchecked exception from the binder is passed on as it is, and
     * counted against no version.
     */
    public Prediction predict(String name, String version, InputBinder binder) throws InferenceException {
        LoadedVersion v = acquire(name, version);
        CompletableFuture<Map<String, Tensor>> result;
        long start;
        try {
            Map<String, Tensor> inputs = binder.bind(v.signature);
            start = System.nanoTime(); // a binder that reads a slow client's body would blur the latency
            long rows = InputValidator.validate(v.signature, inputs);
            result = v.runner().submit(inputs, rows);
        } catch (InferenceException e) {
            v.metrics.failed(e.reason());
            v.release();
            throw e;
        } catch (RuntimeException e) {
            v.release();
            throw e;
        }
        // The reference is dropped when the runner answers, even if this thread stops waiting.
        result.whenComplete((outputs, failure) -> v.release());
        try {
            Map<String, Tensor> outputs = result.join();
            v.metrics.ok.inc();
            v.metrics.latency.observe((System.nanoTime() - start) / 1e9);
            return new Prediction(name, v.version, outputs);
        } catch (CompletionException | CancellationException e) {
            InferenceException failure = e.getCause() instanceof InferenceException ie ? ie
                    : new InferenceException(InferenceException.Reason.FAILED, "prediction failed: " + e.getCause(), e);
            v.metrics.failed(failure.reason());
            throw failure;
        }
    }

    private LoadedVersion acquire(String name, String version) throws InferenceException {
        for (;;) {
            Deployment d = deployments.get(name);
            Routing r = d == null ? null : d.routing.get();
            if (r == null) {
                throw new InferenceException(InferenceException.Reason.UNKNOWN_MODEL, "no model '" + name + "' is deployed");
            }
            LoadedVersion v = version == null ? r.pick() : r.find(version);
            if (v == null) {
                throw new InferenceException(InferenceException.Reason.UNKNOWN_MODEL, "model '" + name
                        + "' has no loaded version '" + version + "'");
            }
            if (v.tryAcquire()) {
                return v;
            }
            // v was retired and closed after we read the routing: the routing has moved on, read it again.
        }
    }

    /** The runtime's metrics (read at each scrape), for a host to serve or merge with its own. */
    public PrometheusRegistry metrics() {
        return metrics.registry;
    }

    /** Undeploys every model; in-flight predictions are answered first. */
    @Override
    public void close() {
        admin.lock();
        try {
            closed = true;
            for (String name : List.copyOf(deployments.keySet())) {
                undeploy(name);
            }
        } finally {
            admin.unlock();
        }
    }

    /** The loaded version for tests (package-private): null if not routed to. */
    LoadedVersion loaded(String name, String version) {
        Deployment d = deployments.get(name);
        Routing r = d == null ? null : d.routing.get();
        return r == null ? null : r.find(version);
    }
}
