package io.aether.kvm;

import io.aether.snapshot.SnapshotException;
import io.aether.snapshot.StateReader;
import io.aether.snapshot.StateWriter;
import java.util.Arrays;
import java.util.Objects;

/**
 * The x86_64 VM-wide state KVM holds, as {@link Vm#state} reads it and {@link Vm#restore} loads
 * it: the in-kernel PICs and IOAPIC (each chip's 512-byte union of {@code struct kvm_irqchip}),
 * the PIT ({@code struct kvm_pit_state2}), both as the kernel's bytes, and the kvmclock.
 *
 * @param clock kvmclock nanoseconds
 */
public record VmState(byte[] picMaster, byte[] picSlave, byte[] ioapic, byte[] pit, long clock) {

    static final int CHIP_SIZE = Structs.IRQCHIP_SIZE - Structs.IRQCHIP_STATE_OFFSET;

    public VmState {
        VcpuState.exact("picMaster", picMaster, CHIP_SIZE);
        VcpuState.exact("picSlave", picSlave, CHIP_SIZE);
        VcpuState.exact("ioapic", ioapic, CHIP_SIZE);
        VcpuState.exact("pit", pit, Structs.PIT_STATE2_SIZE);
        picMaster = picMaster.clone();
        picSlave = picSlave.clone();
        ioapic = ioapic.clone();
        pit = pit.clone();
    }

    @Override
    public byte[] picMaster() {
        return picMaster.clone();
    }

    @Override
    public byte[] picSlave() {
        return picSlave.clone();
    }

    @Override
    public byte[] ioapic() {
        return ioapic.clone();
    }

    @Override
    public byte[] pit() {
        return pit.clone();
    }

    /** Equal when every field is, the byte arrays compared by content. */
    @Override
    public boolean equals(Object o) {
        return o instanceof VmState v && Arrays.equals(v.picMaster, picMaster) && Arrays.equals(v.picSlave, picSlave)
                && Arrays.equals(v.ioapic, ioapic) && Arrays.equals(v.pit, pit) && v.clock == clock;
    }

    @Override
    public int hashCode() {
        return Objects.hash(Arrays.hashCode(picMaster), Arrays.hashCode(picSlave), Arrays.hashCode(ioapic), Arrays.hashCode(pit), clock);
    }

    @Override
    public String toString() {
        return "VmState[clock=" + clock + "]";
    }

    /** Writes the fields in the order {@link #read} takes them. */
    public void write(StateWriter out) {
        out.bytes(picMaster).bytes(picSlave).bytes(ioapic).bytes(pit).i64(clock);
    }

    public static VmState read(StateReader in) throws SnapshotException {
        byte[] picMaster = in.bytes("picMaster", CHIP_SIZE);
        byte[] picSlave = in.bytes("picSlave", CHIP_SIZE);
        byte[] ioapic = in.bytes("ioapic", CHIP_SIZE);
        byte[] pit = in.bytes("pit", Structs.PIT_STATE2_SIZE);
        long clock = in.i64("clock");
        return in.build(() -> new VmState(picMaster, picSlave, ioapic, pit, clock));
    }
}
