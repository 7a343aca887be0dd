package io.aether.arch.x86_64;

/**
 * A vCPU's general-purpose registers, instruction pointer and flags, in the order of KVM's
 * {@code struct kvm_regs}.
 */
public record GeneralRegisters(long rax, long rbx, long rcx, long rdx, long rsi, long rdi, long rsp, long rbp,
                               long r8, long r9, long r10, long r11, long r12, long r13, long r14, long r15,
                               long rip, long rflags) {

    /** RFLAGS bit 1 is reserved and always reads as one. */
    public static final long RFLAGS_RESERVED = 0x2;

    /** Registers all zero except {@code rip} and the given stack, source-index and base registers. */
    static GeneralRegisters entry(long rip, long rsp, long rsi, long rbx) {
        return new GeneralRegisters(0, rbx, 0, 0, rsi, 0, rsp, rsp, 0, 0, 0, 0, 0, 0, 0, 0, rip, RFLAGS_RESERVED);
    }
}
