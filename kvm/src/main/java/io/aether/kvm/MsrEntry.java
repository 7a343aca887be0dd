package io.aether.kvm;

/** {@code struct kvm_msr_entry}: a model-specific register and its value. */
public record MsrEntry(int index, long data) {
}
