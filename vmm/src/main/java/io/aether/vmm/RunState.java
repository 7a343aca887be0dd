package io.aether.vmm;

import java.util.EnumSet;
import java.util.Set;

/** A vCPU's run state, with the transitions allowed between them. */
enum RunState {
    CREATED,
    RUNNING,
    PAUSED,
    STOPPED;

    Set<RunState> next() {
        return switch (this) {
            case CREATED -> EnumSet.of(RUNNING, STOPPED);
            case RUNNING -> EnumSet.of(PAUSED, STOPPED);
            case PAUSED -> EnumSet.of(RUNNING, STOPPED);
            case STOPPED -> EnumSet.noneOf(RunState.class);
        };
    }

    boolean canMoveTo(RunState target) {
        return next().contains(target);
    }
}
