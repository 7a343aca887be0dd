package io.aether.arch.x86_64;

import java.util.List;

/**
 * A model-specific register and the value to load into it.
 *
 * @param index the MSR number
 * @param value its value
 */
public record Msr(int index, long value) {

    public static final int IA32_TSC = 0x10;
    public static final int IA32_SYSENTER_CS = 0x174;
    public static final int IA32_SYSENTER_ESP = 0x175;
    public static final int IA32_SYSENTER_EIP = 0x176;
    public static final int IA32_MISC_ENABLE = 0x1A0;
    public static final int IA32_MTRR_DEF_TYPE = 0x2FF;
    public static final int STAR = 0xC000_0081;
    public static final int LSTAR = 0xC000_0082;
    public static final int CSTAR = 0xC000_0083;
    public static final int SYSCALL_MASK = 0xC000_0084;
    public static final int KERNEL_GS_BASE = 0xC000_0102;

    /** IA32_MISC_ENABLE bit 0: fast-string operations enabled. */
    public static final long MISC_ENABLE_FAST_STRING = 1L;
    /** IA32_MTRR_DEF_TYPE: MTRRs enabled (bit 11), default memory type write-back (6). */
    public static final long MTRR_ENABLE_WRITE_BACK = (1L << 11) | 6;

    /**
     * The MSRs every vCPU gets before its first run, as firmware leaves them for Linux:
     * SYSENTER and SYSCALL state cleared, the TSC at zero, fast strings on, and MTRRs on with
     * write-back as the default type (without it Linux maps all memory uncached).
     */
    public static List<Msr> bootDefaults() {
        return List.of(
                new Msr(IA32_SYSENTER_CS, 0),
                new Msr(IA32_SYSENTER_ESP, 0),
                new Msr(IA32_SYSENTER_EIP, 0),
                new Msr(STAR, 0),
                new Msr(CSTAR, 0),
                new Msr(KERNEL_GS_BASE, 0),
                new Msr(SYSCALL_MASK, 0),
                new Msr(LSTAR, 0),
                new Msr(IA32_TSC, 0),
                new Msr(IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING),
                new Msr(IA32_MTRR_DEF_TYPE, MTRR_ENABLE_WRITE_BACK));
    }
}
