package io.aether.agentapi;

import java.util.List;

/**
 * The answer of {@code GET /v1/volumes}.
 *
 * @param capacityBytes what volumes may add up to on this node
 * @param provisionedBytes the sum of every volume's size, counted whole although the files are sparse
 */
public record VolumeList(List<VolumeInfo> volumes, long capacityBytes, long provisionedBytes) {
}
