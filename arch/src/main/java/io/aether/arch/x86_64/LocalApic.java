package io.aether.arch.x86_64;

/**
 * Boot values for a local APIC's register page, the 1024 bytes of KVM's {@code struct
 * kvm_lapic_state} (register at offset {@code 0x10 * n}, Intel SDM Vol. 3A 11.4.1, Table 11-1).
 */
public final class LocalApic {

    /** Size of the register page KVM exchanges. */
    public static final int STATE_SIZE = 1024;
    static final int LVT_LINT0 = 0x350;
    static final int LVT_LINT1 = 0x360;
    static final int DELIVERY_MODE_MASK = 0x700;
    static final int DELIVERY_NMI = 0x400;
    static final int DELIVERY_EXTINT = 0x700;

    private LocalApic() {
    }

    /**
     * Sets LINT0 to ExtINT and LINT1 to NMI delivery, as PC firmware leaves them (and as the
     * MADT's Local APIC NMI entry for LINT1 says), keeping the other bits of both registers.
     *
     * @param state the register page read with KVM_GET_LAPIC, changed in place
     */
    public static void configureLint(byte[] state) {
        if (state.length != STATE_SIZE) throw new IllegalArgumentException("local APIC state of " + state.length + " bytes is not " + STATE_SIZE);
        setDeliveryMode(state, LVT_LINT0, DELIVERY_EXTINT);
        setDeliveryMode(state, LVT_LINT1, DELIVERY_NMI);
    }

    static int register(byte[] state, int offset) {
        return (state[offset] & 0xFF) | (state[offset + 1] & 0xFF) << 8 | (state[offset + 2] & 0xFF) << 16 | (state[offset + 3] & 0xFF) << 24;
    }

    private static void setDeliveryMode(byte[] state, int offset, int mode) {
        int value = (register(state, offset) & ~DELIVERY_MODE_MASK) | mode;
        for (int i = 0; i < 4; i++) state[offset + i] = (byte) (value >>> (8 * i));
    }
}
