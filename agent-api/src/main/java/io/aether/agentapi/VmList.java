package io.aether.agentapi;

import java.util.List;

/** The answer of {@code GET /v1/vms}: every VM, by id. */
public record VmList(List<VmInfo> vms) {
}
