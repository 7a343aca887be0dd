package io.aether.cgroups;

import java.util.List;

/**
 * A group that cannot be removed because processes are still inside it (the kernel's
 * {@code EBUSY}). Nothing was removed: stop the processes and try again.
 */
public final class CgroupBusyException extends CgroupException {

    private final List<Long> pids;

    public CgroupBusyException(String message, List<Long> pids) {
        super(message);
        this.pids = List.copyOf(pids);
    }

    /** The processes found inside the group. */
    public List<Long> pids() {
        return pids;
    }
}
