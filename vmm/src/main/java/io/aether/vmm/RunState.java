package io.aether.vmm;

import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;

/** The run state of a VM or of one of its vCPUs, with the transitions allowed between them. */
public enum RunState {
    /** Built, not started. */
    CREATED,
    RUNNING,
    /** Out of the guest and holding still until resumed: vCPUs, device threads and console input. */
    PAUSED,
    /** For good: the guest will not run again. */
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

    /** How messages say it: "not started", "running", "paused", "stopped". */
    String describe() {
        return this == CREATED ? "not started" : name().toLowerCase(Locale.ROOT);
    }
}
