package io.aether.devices;

import static io.aether.testkit.Gen.weighted;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import io.aether.common.BusDevice;
import io.aether.testkit.Gen;
import java.util.List;

/**
 * One guest access to a {@link BusDevice} that reads as zeros: a write of {@code size} bytes
 * whose first byte is {@code value}, or a read of {@code size} bytes.
 */
public record BusAccess(boolean write, long offset, int size, int value) {

    /** Performs the access; a read must return zeros. */
    public void applyTo(BusDevice device) {
        byte[] data = new byte[size];
        if (size > 0) data[0] = (byte) value;
        if (write) {
            device.write(offset, data);
        } else {
            device.read(offset, data);
            assertArrayEquals(new byte[size], data);
        }
    }

    /** A one-byte write of {@code value} at {@code offset}. */
    public boolean writesByte(long offset, int value) {
        return write && size == 1 && this.offset == offset && this.value == value;
    }

    /** Runs of up to 60 accesses, mostly one byte wide, at offsets and with values from the given generators. */
    public static Gen<List<BusAccess>> runs(Gen<Long> offset, Gen<Integer> value) {
        Gen<Boolean> write = Gen.booleans();
        Gen<Integer> size = Gen.frequency(weighted(5, Gen.constant(1)), weighted(1, Gen.choose(0, 2, 4)));
        return Gen.lists(r -> new BusAccess(write.next(r), offset.next(r), size.next(r), value.next(r)), 0, 60);
    }
}
