package io.aether.arch.x86_64;

/**
 * The x87/SSE control state a vCPU starts with (the rest of KVM's {@code struct kvm_fpu} is zero).
 *
 * @param fcw x87 control word
 * @param mxcsr SSE control and status
 */
public record FpuState(int fcw, int mxcsr) {

    /** The power-on values: all x87 exceptions masked, extended precision; all SSE exceptions masked. */
    public static final FpuState INITIAL = new FpuState(0x37F, 0x1F80);

    public FpuState {
        if (fcw < 0 || fcw > 0xFFFF) throw new IllegalArgumentException("x87 control word " + fcw + " is not 16-bit");
    }
}
