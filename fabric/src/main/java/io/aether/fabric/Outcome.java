package io.aether.fabric;

import java.util.Objects;

/** What applying a {@link Command} did: every peer reaches the same outcome for the same log entry. */
sealed interface Outcome {

    /**
     * The command changed the state.
     *
     * @param lastEvent the sequence number of the last event it recorded (0 if it recorded none)
     */
    record Applied(long lastEvent) implements Outcome {
    }

    /** The command was refused and changed nothing; {@code reason} is one line for the proposer. */
    record Refused(String reason) implements Outcome {
        public Refused {
            Objects.requireNonNull(reason, "reason");
        }
    }
}
