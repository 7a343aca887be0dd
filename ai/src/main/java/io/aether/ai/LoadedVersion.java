package io.aether.ai;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import ai.onnxruntime.ValueInfo;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One version of a model, loaded: its session, signature and runner, reference counted.
 *
 * <p>The routing table holds one reference while the version is routed to; each prediction
 * holds one from before it is validated until its outputs are delivered. Retiring the version
 * drops the routing's reference, and the last release closes the session, so predictions that
 * started on a version always finish on it.
 */
final class LoadedVersion {

    private static final Logger LOG = Logger.getLogger(LoadedVersion.class.getName());

    final String model;
    final String version;
    final String ref;
    final ModelSignature signature;
    final VersionMetrics metrics;
    final Instant loadedAt = Instant.now();
    private final OrtSession session;
    private final VersionRunner runner;
    private final AtomicInteger refs = new AtomicInteger(1);
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicBoolean retired = new AtomicBoolean();
    private volatile boolean closed;

    private LoadedVersion(String model, String version, String ref, OrtSession session, ModelSignature signature,
                          VersionRunner runner, VersionMetrics metrics) {
        this.model = model;
        this.version = version;
        this.ref = ref;
        this.session = session;
        this.signature = signature;
        this.runner = runner;
        this.metrics = metrics;
    }

    /**
     * Creates the session, reads and checks the signature and, if configured, runs the model
     * once on zeros, so that a model that cannot serve is refused here and not at its first request.
     */
    static LoadedVersion load(OrtEnvironment env, RuntimeConfig config, String model, String version, String ref,
                              byte[] bytes, MetricsRegistry registry) throws DeploymentException {
        OrtSession session;
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            if (config.intraOpThreads() > 0) {
                options.setIntraOpNumThreads(config.intraOpThreads());
            }
            session = env.createSession(bytes, options);
        } catch (OrtException e) {
            throw new DeploymentException(DeploymentException.Reason.INVALID_MODEL,
                    "version " + version + " of model '" + model + "' is not a valid ONNX model: " + oneLine(e), e);
        }
        try {
            String what = "version " + version + " of model '" + model + "': ";
            ModelSignature signature = new ModelSignature(specs(what, "input", session.getInputInfo()),
                    specs(what, "output", session.getOutputInfo()));
            if (config.warmUp()) {
                warmUp(env, session, signature, model, version);
            }
            VersionMetrics metrics = registry.open(model, version);
            VersionRunner runner = new VersionRunner(env, session, signature, config, metrics);
            runner.start();
            return new LoadedVersion(model, version, ref, session, signature, runner, metrics);
        } catch (DeploymentException | RuntimeException e) {
            closeQuietly(session);
            throw e;
        } catch (OrtException e) {
            closeQuietly(session);
            throw new DeploymentException(DeploymentException.Reason.INVALID_MODEL,
                    "cannot read the signature of version " + version + " of model '" + model + "': " + oneLine(e), e);
        }
    }

    private static String oneLine(Exception e) {
        String m = String.valueOf(e.getMessage());
        return m.replaceAll("\\s+", " ").strip();
    }

    private static List<TensorSpec> specs(String what, String kind, Map<String, NodeInfo> infos)
            throws DeploymentException {
        List<TensorSpec> specs = new ArrayList<>();
        for (NodeInfo node : infos.values()) {
            ValueInfo info = node.getInfo();
            if (!(info instanceof TensorInfo ti)) {
                throw new DeploymentException(DeploymentException.Reason.INVALID_MODEL, what + kind + " '"
                        + node.getName() + "' is not a tensor (" + info + "); only tensor inputs and outputs are served");
            }
            ElementType type = ElementType.fromOrt(ti.onnxType).orElseThrow(() ->
                    new DeploymentException(DeploymentException.Reason.INVALID_MODEL, what + kind + " '"
                            + node.getName() + "' has element type " + ortTypeName(ti) + ", which this runtime does not serve"));
            long[] shape = ti.getShape();
            String[] names = ti.getDimensionNames();
            List<Dim> dims = new ArrayList<>();
            for (int i = 0; i < shape.length; i++) {
                if (shape[i] >= 0) {
                    dims.add(Dim.of(shape[i]));
                } else if (names != null && i < names.length && names[i] != null && !names[i].isEmpty()) {
                    dims.add(Dim.symbolic(names[i]));
                } else {
                    dims.add(Dim.dynamic());
                }
            }
            specs.add(new TensorSpec(node.getName(), type, dims));
        }
        if (specs.isEmpty()) {
            throw new DeploymentException(DeploymentException.Reason.INVALID_MODEL, what + "the model has no " + kind + "s");
        }
        return specs;
    }

    static String ortTypeName(TensorInfo info) {
        return info.onnxType.name().replace("ONNX_TENSOR_ELEMENT_DATA_TYPE_", "").toLowerCase(Locale.ROOT);
    }

    private static void warmUp(OrtEnvironment env, OrtSession session, ModelSignature signature, String model,
                               String version)
            throws DeploymentException {
        Map<String, Tensor> zeros = new LinkedHashMap<>();
        for (TensorSpec spec : signature.inputs()) {
            long[] shape = new long[spec.rank()];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = spec.shape().get(i) instanceof Dim.Fixed(long size) ? size : 1;
            }
            zeros.put(spec.name(), Tensor.zeros(spec.type(), shape));
        }
        try {
            VersionRunner.runOnce(env, session, signature, zeros, new VersionRunner.Scratch());
        } catch (InferenceException e) {
            throw new DeploymentException(DeploymentException.Reason.INVALID_MODEL, "version " + version + " of model '"
                    + model + "' failed its warm-up run on zero inputs: " + e.getMessage(), e);
        }
    }

    /** Takes a reference for a prediction; false if the version has already been closed. */
    boolean tryAcquire() {
        for (;;) {
            int n = refs.get();
            if (n <= 0) {
                return false;
            }
            if (refs.compareAndSet(n, n + 1)) {
                inFlight.incrementAndGet();
                return true;
            }
        }
    }

    /** Ends a prediction started with {@link #tryAcquire()}. */
    void release() {
        inFlight.decrementAndGet();
        drop();
    }

    /** Drops the routing's reference: the version closes once its in-flight predictions are done. */
    void retire() {
        if (retired.compareAndSet(false, true)) {
            drop();
        }
    }

    private void drop() {
        if (refs.decrementAndGet() == 0) {
            closed = true;
            runner.stop();
            closeQuietly(session);
        }
    }

    private static void closeQuietly(OrtSession session) {
        try {
            session.close();
        } catch (OrtException e) {
            LOG.log(Level.WARNING, "closing an ONNX Runtime session failed", e);
        }
    }

    boolean isClosed() {
        return closed;
    }

    int inFlight() {
        return inFlight.get();
    }

    VersionRunner runner() {
        return runner;
    }

    VersionStatus status(VersionStatus.Role role, double percent) {
        return new VersionStatus(version, ref, role, percent, signature, runner.batching(), loadedAt,
                metrics.requests(), metrics.batchRows.getCount(), inFlight());
    }
}
