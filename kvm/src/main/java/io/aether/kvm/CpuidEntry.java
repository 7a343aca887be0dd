package io.aether.kvm;

/** {@code struct kvm_cpuid_entry2}: one CPUID leaf (and subleaf) as KVM reports or sets it. */
public record CpuidEntry(int function, int index, int flags, int eax, int ebx, int ecx, int edx) {
}
