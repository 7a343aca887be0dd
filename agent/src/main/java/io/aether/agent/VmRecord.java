package io.aether.agent;

import io.aether.agentapi.Resources;
import java.util.Map;
import java.util.Objects;

/**
 * What the agent keeps about a VM besides its spec, in {@code record.json} of the VM's folder:
 * enough to re-adopt its monitor or report it failed after the agent restarts.
 *
 * @param desired {@code running} or {@code stopped}: what the API last asked for (restarts follow it)
 * @param state the last state the agent saw
 * @param reason why it stopped or failed (null while it runs)
 * @param pid the monitor's process id while it has one (null otherwise)
 * @param lastFailure the reason of the last failure, kept across restarts
 * @param resources the quota asked for when it was created (null: the defaults)
 */
record VmRecord(String id, Map<String, String> labels, String restartPolicy, String desired, String state, String reason,
                Long pid, int restarts, String lastFailure, Resources resources) {

    VmRecord {
        Objects.requireNonNull(id, "id");
        labels = Map.copyOf(Objects.requireNonNull(labels, "labels"));
        Objects.requireNonNull(restartPolicy, "restartPolicy");
        Objects.requireNonNull(desired, "desired");
        Objects.requireNonNull(state, "state");
        if (restarts < 0) throw new IllegalArgumentException("restarts: " + restarts + " is negative");
    }

    VmRecord withState(String newState, String newReason, Long newPid) {
        return new VmRecord(id, labels, restartPolicy, desired, newState, newReason, newPid, restarts, lastFailure, resources);
    }

    VmRecord withDesired(String value) {
        return new VmRecord(id, labels, restartPolicy, value, state, reason, pid, restarts, lastFailure, resources);
    }

    VmRecord failed(String why, Long newPid) {
        return new VmRecord(id, labels, restartPolicy, desired, "failed", why, newPid, restarts, why, resources);
    }

    VmRecord restarted() {
        return new VmRecord(id, labels, restartPolicy, desired, state, reason, pid, restarts + 1, lastFailure, resources);
    }
}
