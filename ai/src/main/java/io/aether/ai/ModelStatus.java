package io.aether.ai;

import java.util.List;
import java.util.Optional;

/** A deployed model: its name, source and the versions serving it (stable first, then a canary). */
public record ModelStatus(String name, String source, List<VersionStatus> versions) {
    public ModelStatus {
        versions = List.copyOf(versions);
    }

    public VersionStatus stable() {
        return versions.getFirst();
    }

    public Optional<VersionStatus> canary() {
        return versions.size() > 1 ? Optional.of(versions.get(1)) : Optional.empty();
    }
}
