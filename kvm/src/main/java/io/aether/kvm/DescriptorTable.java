package io.aether.kvm;

/** {@code struct kvm_dtable}: the GDT or IDT register. */
public record DescriptorTable(long base, int limit) {
}
