package io.aether.agentapi;

import io.aether.common.ByteSize;

/**
 * What a VM's monitor process may use, enforced by the kernel through the VM's cgroup; in
 * {@code POST /v1/vms} as {@code resources}. A field left out takes the default: one CPU per
 * vCPU, the guest's RAM plus the monitor's overhead.
 *
 * @param cpus CPU time per scheduling period in CPUs (0.3 is 30 % of one CPU), absent for the default
 * @param memory the memory limit of the monitor process, guest RAM included ({@code 512M}), absent for the default
 */
public record Resources(Double cpus, String memory) {

    public Resources {
        if (cpus != null && !(cpus > 0 && Double.isFinite(cpus))) throw new IllegalArgumentException("resources.cpus: " + cpus + " is not a positive number of CPUs");
        if (memory != null) {
            try {
                ByteSize.parse(memory);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("resources.memory: " + e.getMessage());
            }
        }
    }

    /** The memory limit asked for, if any. */
    public java.util.Optional<ByteSize> memoryLimit() {
        return memory == null ? java.util.Optional.empty() : java.util.Optional.of(ByteSize.parse(memory));
    }
}
