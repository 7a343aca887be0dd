package io.aether.monitorapi;

import io.aether.vmspec.VmSpec;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/** What a VM's monitor answers on its control socket. */
public sealed interface ControlResponse {

    /**
     * The VM's state now.
     *
     * @param reason why it stopped or failed (empty while it runs)
     * @param spec the VM the monitor runs
     * @param pid the monitor's process id
     */
    record Status(VmState state, Optional<String> reason, VmSpec spec, long pid) implements ControlResponse {
        public Status {
            Objects.requireNonNull(state, "state");
            Objects.requireNonNull(reason, "reason");
            Objects.requireNonNull(spec, "spec");
        }
    }

    /**
     * A standby monitor's answer to {@link ControlRequest.State}: warmed up, no VM yet, waiting
     * for {@link ControlRequest.Launch}.
     */
    record Standby(long pid) implements ControlResponse {
    }

    /** Counters by name: vCPU exits, device operations and faults, console bytes. */
    record Metrics(Map<String, Long> values) implements ControlResponse {
        public Metrics {
            values = Map.copyOf(values);
        }
    }

    /** The console stream follows on this connection. */
    record ConsoleAttached() implements ControlResponse {
    }

    /**
     * The request was not carried out, and nothing changed.
     *
     * @param code {@link #BAD_REQUEST}, {@link #CONFLICT} (not possible in the VM's state),
     *     {@link #BUSY} (too many connections) or {@link #FAILED} (the monitor could not do it)
     * @param message one line saying why
     */
    record Refused(String code, String message) implements ControlResponse {
        public static final String BAD_REQUEST = "bad_request";
        public static final String CONFLICT = "conflict";
        public static final String BUSY = "busy";
        public static final String FAILED = "failed";

        public Refused {
            Objects.requireNonNull(code, "code");
            Objects.requireNonNull(message, "message");
        }
    }

    /**
     * A snapshot was written.
     *
     * @param memoryBytes the memory file's size (the guest's RAM)
     * @param memoryDataBytes what of it was written: the pages not all zero (the rest are holes)
     * @param stateBytes the state file's size
     * @param millis the time from the request to both files synced (the pause included)
     */
    record SnapshotTaken(long memoryBytes, long memoryDataBytes, long stateBytes, long millis) implements ControlResponse {
    }

    /** How far a long operation is: {@code done} of {@code total} bytes; the answer follows on the same connection. */
    record Progress(long done, long total) implements ControlResponse {
    }
}
