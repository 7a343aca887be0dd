package io.aether.common;

/**
 * One interrupt input of the guest's interrupt controller, as a device sees it.
 *
 * <p>Devices know nothing of KVM: the monitor implements this over {@code KVM_IRQ_LINE}, tests
 * implement it with a counter.
 */
@FunctionalInterface
public interface InterruptLine {

    /** Drives the line high ({@code true}) or low ({@code false}). */
    void set(boolean asserted);

    /** A line connected to nothing, for devices created before their wiring is known. */
    InterruptLine NONE = asserted -> { };
}
