package io.aether.agentapi;

import java.util.Locale;

/** What the node agent does when a VM's monitor ends without being asked to. */
public enum RestartPolicy {
    /** The VM stays stopped or failed. */
    NEVER,
    /** Started again after a failure (a crash, a monitor that died), not after the guest ended on its own. */
    ON_FAILURE,
    /** Started again whenever it ends, unless the API stopped it. */
    ALWAYS;

    /** The name on the wire: {@code on-failure}. */
    public String id() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** The policy called {@code id}; the error names {@code restartPolicy}. */
    public static RestartPolicy parse(String id) {
        for (RestartPolicy p : values()) {
            if (p.id().equals(id)) return p;
        }
        throw new IllegalArgumentException("restartPolicy: '" + Names.printable(id) + "' is not never, on-failure or always");
    }
}
