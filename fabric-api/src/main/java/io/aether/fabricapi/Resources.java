package io.aether.fabricapi;

import io.aether.common.ByteSize;
import java.util.Objects;

/**
 * What a replica of a job takes from a node, or what a node offers: vCPUs and memory.
 *
 * @param vcpus whole vCPUs, 0 or more
 * @param memory bytes of memory, 0 or more
 */
public record Resources(int vcpus, ByteSize memory) {

    public static final Resources NONE = new Resources(0, new ByteSize(0));

    public Resources {
        Objects.requireNonNull(memory, "memory");
        if (vcpus < 0) throw new IllegalArgumentException("vcpus: " + vcpus + " is negative");
    }

    public Resources plus(Resources other) {
        return new Resources(Math.addExact(vcpus, other.vcpus), new ByteSize(Math.addExact(memory.bytes(), other.memory.bytes())));
    }

    /** What is left after {@code other} is taken; negative parts are refused, so the result is never over-committed. */
    public Resources minus(Resources other) {
        return new Resources(vcpus - other.vcpus, new ByteSize(memory.bytes() - other.memory.bytes()));
    }

    /** Whether {@code demand} fits in these resources. */
    public boolean fits(Resources demand) {
        return demand.vcpus <= vcpus && demand.memory.bytes() <= memory.bytes();
    }
}
