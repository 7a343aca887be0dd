package io.aether.cgroups;

import java.nio.file.Path;
import java.util.Set;

/**
 * One mounted cgroup hierarchy: a v1 hierarchy with the controllers bound to it (its mount
 * options), or the v2 unified hierarchy with the controllers its root offers (its
 * {@code cgroup.controllers}; a controller bound to a v1 hierarchy is not offered there).
 */
public record Hierarchy(Path mount, boolean unified, Set<String> controllers, boolean readOnly) {

    public Hierarchy {
        controllers = Set.copyOf(controllers);
    }

    @Override
    public String toString() {
        return mount + (unified ? " (v2)" : " (v1)");
    }
}
