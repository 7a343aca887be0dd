package io.aether.kvm;

/** {@code struct kvm_segment}: a segment register as KVM holds it. */
public record Segment(long base, int limit, int selector, int type, boolean present, int dpl,
                      boolean db, boolean s, boolean l, boolean g, boolean avl, boolean unusable) {
}
