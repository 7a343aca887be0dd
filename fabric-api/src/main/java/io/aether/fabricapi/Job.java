package io.aether.fabricapi;

import java.util.Objects;
import java.util.Optional;

/**
 * A submitted job as the controller keeps it.
 *
 * @param spec what was asked for
 * @param version 1 for the first submit, one more for each update
 * @param pending why some replicas are not placed, if any are not
 */
public record Job(JobSpec spec, long version, Optional<String> pending) {

    public Job {
        Objects.requireNonNull(spec, "spec");
        Objects.requireNonNull(pending, "pending");
        if (version < 1) throw new IllegalArgumentException("version: " + version + " is less than 1");
    }

    public String name() {
        return spec.name();
    }
}
