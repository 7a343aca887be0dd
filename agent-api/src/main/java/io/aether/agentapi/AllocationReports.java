package io.aether.agentapi;

import java.util.List;
import java.util.Objects;

/**
 * What a node runs of its desired state ({@code POST /v1/nodes/{name}/reports}): every allocation
 * it has a VM or model server for, in the agent's words. The whole set each time, so a repeated report changes
 * nothing and a lost one is made good by the next.
 *
 * @param revision the desired state's revision the node had reconciled to
 * @param volumes the room of the node's volume store (absent from agents that do not report it)
 */
public record AllocationReports(long revision, List<Report> reports, VolumeSpace volumes) {

    /**
     * The node's volume store, counted by size.
     *
     * @param capacityBytes its quota ({@code --volume-capacity})
     * @param freeBytes what no volume holds
     * @param jobBytes what the fabric's job volumes hold
     */
    public record VolumeSpace(long capacityBytes, long freeBytes, long jobBytes) {
        public VolumeSpace {
            if (capacityBytes < 0) throw new IllegalArgumentException("volumes.capacityBytes: " + capacityBytes + " is negative");
            if (freeBytes < 0 || freeBytes > capacityBytes) throw new IllegalArgumentException("volumes.freeBytes: " + freeBytes + " is not between 0 and capacityBytes");
            if (jobBytes < 0) throw new IllegalArgumentException("volumes.jobBytes: " + jobBytes + " is negative");
        }
    }

    /** Reports of this many VMs with the longest reasons still fit one replicated command (512 KiB). */
    public static final int MAX_REPORTS = 2048;
    /** A reason longer than this is cut: it is one line for people. */
    static final int MAX_REASON = 120;

    /** A serving URL longer than this is refused: {@code http://}, an address, a port and a model name fit. */
    static final int MAX_URL = 256;

    /**
     * One allocation's VM or model server.
     *
     * @param allocation the allocation's id, {@code job.replica}: its VM's id
     * @param state the VM's state as the agent names it ({@code running}, {@code failed}, ...), or a
     *     model's ({@code syncing}, {@code starting}, {@code running}, {@code failed}, {@code stopped})
     * @param reason why it failed, if it did
     * @param url a model's serving URL ({@code http://HOST:PORT/v1/models/NAME}) while it runs; null for a VM
     * @param commit the id (hex) of the model commit served; null for a VM
     */
    public record Report(String allocation, String state, String reason, String url, String commit) {
        public Report {
            Names.requireVmId(Objects.requireNonNull(allocation, "allocation"));
            if (state == null || !state.matches("[a-z-]{1,32}")) throw new IllegalArgumentException("state: not a VM state");
            if (reason != null && reason.length() > MAX_REASON) reason = reason.substring(0, MAX_REASON);
            if (url != null && (url.length() > MAX_URL || !url.matches("https?://[!-~]+"))) throw new IllegalArgumentException("url: not an http URL");
            if (commit != null && !commit.matches("[0-9a-f]{64}")) throw new IllegalArgumentException("commit: not a commit id");
        }

        /** A VM's report. */
        public Report(String allocation, String state, String reason) {
            this(allocation, state, reason, null, null);
        }
    }

    public AllocationReports {
        if (revision < 0) throw new IllegalArgumentException("revision: " + revision + " is negative");
        if (reports == null || reports.stream().anyMatch(Objects::isNull)) throw new IllegalArgumentException("reports: expected an array of reports");
        reports = List.copyOf(reports);
        if (reports.size() > MAX_REPORTS) throw new IllegalArgumentException("reports: " + reports.size() + " (at most " + MAX_REPORTS + ")");
    }

    /** A report without the volume store's room. */
    public AllocationReports(long revision, List<Report> reports) {
        this(revision, reports, null);
    }
}
