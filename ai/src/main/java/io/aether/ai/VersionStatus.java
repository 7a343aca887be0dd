package io.aether.ai;

import java.time.Instant;
import java.util.Locale;

/**
 * One loaded version of a model.
 *
 * @param version   the immutable version id from the model's source (e.g. a commit id)
 * @param ref       the ref it was resolved from
 * @param role      stable or canary
 * @param percent   share of the model's requests routed to it
 * @param signature its inputs and outputs
 * @param batching  whether requests to it are merged into batches
 * @param loadedAt  when it was loaded
 * @param requests  predictions it answered (any outcome)
 * @param runs      ONNX Runtime session runs (fewer than requests when batching merges them)
 * @param inFlight  predictions being answered now
 */
public record VersionStatus(String version, String ref, Role role, double percent, ModelSignature signature,
                            boolean batching, Instant loadedAt, long requests, long runs, int inFlight) {

    /** How a version takes part in routing. */
    public enum Role {
        STABLE, CANARY;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }
}
