package io.aether.arch.aarch64;

/**
 * SMC Calling Convention function ids (Arm DEN 0028), what a guest puts in w0 before an HVC or
 * SMC: bit 31 a fast call, bit 30 the 64-bit convention, bits 29:24 the owning entity, bits 15:0
 * the function (bits 23:16 zero for fast calls). And the monitor's own call, in the vendor
 * hypervisor range that KVM lets a monitor take over with its SMCCC filter.
 */
public final class Smccc {

    /** Owning entities (bits 29:24). */
    public static final int OWNER_ARCHITECTURE = 0;
    public static final int OWNER_STANDARD_SECURE = 4;
    public static final int OWNER_VENDOR_HYPERVISOR = 6;

    /** A call's status in x0: done, or no one serves that function id. */
    public static final long SUCCESS = 0;
    public static final long NOT_SUPPORTED = -1;

    /**
     * Aether's call: x1 in, x0 = {@link #SUCCESS} and x1 + 1 out, the smallest exchange that shows
     * the monitor read the guest's argument and the guest read the monitor's answer. Function
     * 0xAE00 of the vendor hypervisor range, apart from KVM's own vendor calls (0 and up, 0xFF01).
     */
    public static final int AETHER_NEXT = fastCall32(OWNER_VENDOR_HYPERVISOR, 0xAE00);

    private Smccc() {
    }

    /** A fast call with the 32-bit convention (SMC32/HVC32) of {@code owner}'s {@code function}. */
    public static int fastCall32(int owner, int function) {
        if (owner < 0 || owner > 63) throw new IllegalArgumentException("SMCCC owner " + owner + " is not 0..63");
        if (function < 0 || function > 0xFFFF) throw new IllegalArgumentException("SMCCC function 0x" + Integer.toHexString(function) + " is not 0..0xffff");
        return 1 << 31 | owner << 24 | function;
    }
}
