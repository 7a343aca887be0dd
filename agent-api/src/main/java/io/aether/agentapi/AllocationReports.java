package io.aether.agentapi;

import java.util.List;
import java.util.Objects;

/**
 * What a node runs of its desired state ({@code POST /v1/nodes/{name}/reports}): every allocation
 * it has a VM for, in the agent's words. The whole set each time, so a repeated report changes
 * nothing and a lost one is made good by the next.
 *
 * @param revision the desired state's revision the node had reconciled to
 */
public record AllocationReports(long revision, List<Report> reports) {

    /** Reports of this many VMs with the longest reasons still fit one replicated command (512 KiB). */
    public static final int MAX_REPORTS = 2048;
    /** A reason longer than this is cut: it is one line for people. */
    static final int MAX_REASON = 120;

    /**
     * One allocation's VM.
     *
     * @param allocation the allocation's id, {@code job.replica}: its VM's id
     * @param state the VM's state as the agent names it ({@code running}, {@code failed}, ...)
     * @param reason why it failed, if it did
     */
    public record Report(String allocation, String state, String reason) {
        public Report {
            Names.requireVmId(Objects.requireNonNull(allocation, "allocation"));
            if (state == null || !state.matches("[a-z-]{1,32}")) throw new IllegalArgumentException("state: not a VM state");
            if (reason != null && reason.length() > MAX_REASON) reason = reason.substring(0, MAX_REASON);
        }
    }

    public AllocationReports {
        if (revision < 0) throw new IllegalArgumentException("revision: " + revision + " is negative");
        if (reports == null || reports.stream().anyMatch(Objects::isNull)) throw new IllegalArgumentException("reports: expected an array of reports");
        reports = List.copyOf(reports);
        if (reports.size() > MAX_REPORTS) throw new IllegalArgumentException("reports: " + reports.size() + " (at most " + MAX_REPORTS + ")");
    }
}
