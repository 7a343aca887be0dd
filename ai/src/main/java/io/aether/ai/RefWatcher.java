package io.aether.ai;

import java.time.Duration;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Follows a ref (typically a branch) of a deployed model's source: each poll resolves the ref
 * and, when it names a version it has not seen, switches the model to it. The switch is the
 * runtime's own (load first, then route, drain the old one); a version that fails to load is
 * reported once and not retried until the ref moves again. A switch made by hand in between
 * stands until the ref moves.
 */
public final class RefWatcher implements AutoCloseable {

    private final InferenceRuntime runtime;
    private final ModelSource source;
    private final String model;
    private final String ref;
    private final Consumer<String> log;
    private String lastSeen;
    private Thread thread;

    /**
     * A watcher that has seen the version the model serves now; call {@link #pollOnce()} or {@link #start}.
     *
     * @param source the model's source (the one it was deployed from)
     * @param log    receives one line per switch or failure
     */
    public RefWatcher(InferenceRuntime runtime, ModelSource source, String model, String ref, Consumer<String> log) {
        this.runtime = runtime;
        this.source = source;
        this.model = model;
        this.ref = ref;
        this.log = log;
        this.lastSeen = runtime.status(model).map(s -> s.stable().version()).orElse(null);
    }

    /**
     * Resolves the ref once and switches if it moved.
     *
     * @return the version switched to, if a switch happened
     */
    public synchronized Optional<String> pollOnce() {
        String version;
        try {
            version = source.resolve(ref);
        } catch (ModelSourceException e) {
            log.accept("watching " + model + " @ " + ref + ": " + e.getMessage());
            return Optional.empty();
        }
        if (version.equals(lastSeen)) {
            return Optional.empty();
        }
        lastSeen = version;
        try {
            VersionStatus v = runtime.switchTo(model, ref);
            lastSeen = v.version();
            log.accept("model " + model + ": " + ref + " moved; now serving version " + v.version());
            return Optional.of(v.version());
        } catch (DeploymentException e) {
            log.accept("model " + model + ": " + ref + " moved to " + version + " but it was refused; still serving "
                    + runtime.status(model).map(s -> s.stable().version()).orElse("nothing") + ": " + e.getMessage());
            return Optional.empty();
        }
    }

    /** Polls every {@code interval} on a daemon thread until {@link #close()}. */
    public synchronized RefWatcher start(Duration interval) {
        if (thread != null) {
            throw new IllegalStateException("already started");
        }
        if (interval.isNegative() || interval.isZero()) {
            throw new IllegalArgumentException("watch interval must be positive, got " + interval);
        }
        thread = Thread.ofVirtual().name("aether-ai-watch-" + model).start(() -> {
            try {
                while (!Thread.currentThread().isInterrupted()) {
                    Thread.sleep(interval);
                    pollOnce();
                }
            } catch (InterruptedException e) {
                // closed
            }
        });
        return this;
    }

    @Override
    public synchronized void close() {
        if (thread != null) {
            thread.interrupt();
        }
    }
}
