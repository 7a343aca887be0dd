package io.aether.bench.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** How {@code Arm64BootBench exits} names an exit: by reason, and for MMIO by the device window and register. */
@Timeout(10)
class Arm64BootBenchTest {

    @Test
    void mmioExitsAreNamedByTheDeviceAndRegisterOfQemuVirtsLayout() {
        // The 16550 at 0x0900_0000: +5 is its line status register.
        assertEquals("MMIO_READ uart +0x5", Arm64BootBench.exitKind("MMIO_READ  addr=0x9000005 len=1"));
        assertEquals("MMIO_WRITE uart +0x0", Arm64BootBench.exitKind("MMIO_WRITE addr=0x9000000 len=1 data=41"));
        // virtio-mmio windows from 0x0A00_0000, one page apart: +0x50 is QueueNotify.
        assertEquals("MMIO_WRITE virtio-mmio 0 +0x50", Arm64BootBench.exitKind("MMIO_WRITE addr=0xa000050 len=4 data=00000000"));
        assertEquals("MMIO_READ virtio-mmio 2 +0x60", Arm64BootBench.exitKind("MMIO_READ  addr=0xa002060 len=4"));
        // Anything else keeps its address.
        assertEquals("MMIO_READ 0x8000000", Arm64BootBench.exitKind("MMIO_READ  addr=0x8000000 len=4"));
        assertEquals("SYSTEM_EVENT", Arm64BootBench.exitKind("SYSTEM_EVENT type=1"));
    }
}
