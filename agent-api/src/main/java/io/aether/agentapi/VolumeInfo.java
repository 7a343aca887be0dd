package io.aether.agentapi;

import java.util.List;
import java.util.Map;

/**
 * A volume as the node keeps it.
 *
 * @param sizeBytes what a guest sees; the file on the node is sparse and holds only what was written
 * @param createdAt when it was created (ISO-8601)
 * @param attachedTo the VMs whose create request attached it, by id
 */
public record VolumeInfo(String name, long sizeBytes, Map<String, String> labels, String createdAt, List<String> attachedTo) {
}
