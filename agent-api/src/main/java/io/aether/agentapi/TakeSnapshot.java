package io.aether.agentapi;

import java.util.Objects;

/**
 * The body of {@code POST /v1/vms/{id}/snapshot}.
 *
 * @param name the snapshot's name, its folder {@code snapshots/NAME} in the VM's folder
 * @param resume whether the VM goes on once it is written (absent: true); false leaves it paused
 */
public record TakeSnapshot(String name, Boolean resume) {

    public TakeSnapshot {
        Objects.requireNonNull(name, "name");
        Names.requireSnapshotName("name", name);
        resume = resume == null || resume;
    }
}
