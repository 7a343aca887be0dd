package io.aether.agentapi;


/**
 * One snapshot of a VM, as {@code GET /v1/vms/{id}/snapshots} lists it and
 * {@code POST /v1/vms/{id}/snapshot} answers it.
 *
 * @param memoryBytes the size of guest memory it holds
 * @param stateBytes the size of its state file
 * @param time when it was written (ISO 8601)
 * @param memoryDataBytes guest memory written (pages of zeros are left out: the memory file is
 *     sparse); only in the answer of the snapshot request
 * @param millis how long writing it took, with the VM paused; only in the answer of the snapshot request
 */
public record SnapshotInfo(String name, long memoryBytes, long stateBytes, String time, Long memoryDataBytes, Long millis) {

    /** The answer of {@code GET /v1/vms/{id}/snapshots}, sorted by name. */
    public record List(java.util.List<SnapshotInfo> snapshots) {
        public List {
            snapshots = java.util.List.copyOf(snapshots);
        }
    }
}
