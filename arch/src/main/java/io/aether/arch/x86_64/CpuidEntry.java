package io.aether.arch.x86_64;

/**
 * One CPUID leaf (or sub-leaf) as KVM exchanges it ({@code struct kvm_cpuid_entry2}).
 *
 * @param function the leaf, EAX on input
 * @param index the sub-leaf, ECX on input; meaningful when {@code flags} has {@link #SIGNIFICANT_INDEX}
 * @param flags KVM's {@code KVM_CPUID_FLAG_*} bits
 * @param eax EAX output
 * @param ebx EBX output
 * @param ecx ECX output
 * @param edx EDX output
 */
public record CpuidEntry(int function, int index, int flags, int eax, int ebx, int ecx, int edx) {

    /** KVM_CPUID_FLAG_SIGNIFCANT_INDEX: the leaf has sub-leaves selected by ECX. */
    public static final int SIGNIFICANT_INDEX = 1;

    CpuidEntry withRegisters(int eax, int ebx, int ecx, int edx) {
        return new CpuidEntry(function, index, flags, eax, ebx, ecx, edx);
    }
}
