package io.aether.arch.aarch64;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.arch.VirtioMmioWindow;
import io.aether.memory.RegionSpec;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class PlatformTest {

    private static final Platform.Gic GIC = new Platform.Gic(0x0800_0000L, 0x1_0000, 0x080A_0000L, 0x4_0000);
    private static final Platform.Timer TIMER = new Platform.Timer(13, 14, 11, 10);
    private static final Platform.Uart UART = new Platform.Uart(0x0900_0000L, 8, 1, 1_843_200);
    private static final List<Long> TWO_CPUS = List.of(0x8000_0000L, 0x8000_0001L);
    private static final List<VirtioMmioWindow> ONE_WINDOW = List.of(new VirtioMmioWindow(0x0A00_0000L, 0x200, 16));

    private static Platform machine(long ramBase, long ramSize, List<Long> mpidrs, Platform.Gic gic, Platform.Timer timer,
                                    Platform.Uart uart, List<VirtioMmioWindow> virtio, String bootargs, Optional<Platform.Initrd> initrd) {
        return new Platform(ramBase, ramSize, mpidrs, gic, timer, uart, virtio, bootargs, initrd);
    }

    @Test
    void theLayoutIsQemuVirtsShape() {
        // (0x0900_0000 - 0x080A_0000) / 0x2_0000 = 0xF6_0000 / 0x2_0000 = 123 redistributors below the UART.
        assertEquals(123, Layout.MAX_VCPUS);
        assertEquals(List.of(RegionSpec.ram(0x4000_0000L, 256L << 20)), Layout.memoryRegions(256L << 20));
        List<VirtioMmioWindow> w = Layout.virtioMmioWindows(32);
        assertEquals(new VirtioMmioWindow(0x0A00_0000L, 0x200, 16), w.get(0));
        assertEquals(new VirtioMmioWindow(0x0A01_F000L, 0x200, 47), w.get(31));
    }

    @Test
    void layoutBoundsAreEnforced() {
        assertError("guest RAM size 1048576 is not a multiple of 64 KiB", () -> Layout.memoryRegions(1L << 20));
        assertError("is not a multiple of 64 KiB", () -> Layout.memoryRegions((64L << 20) + 4096));
        // 2^40 - 2^30 is the most RAM that ends inside a 40-bit IPA space when it starts at 1 GiB.
        assertEquals(1, Layout.memoryRegions((1L << 40) - (1L << 30)).size());
        assertError("is not a multiple of 64 KiB", () -> Layout.memoryRegions(1L << 40));
        assertError("virtio-mmio device count 33 is not in 0..32", () -> Layout.virtioMmioWindows(33));
        assertError("virtio-mmio device count -1", () -> Layout.virtioMmioWindows(-1));
        assertError("vCPU count 124 is not in 1..123", () -> Platform.standard(64L << 20, DeviceTreeTest.mpidrs(124), 0, "", Optional.empty()));
        assertError("vCPU count 0", () -> Platform.standard(64L << 20, List.of(), 0, "", Optional.empty()));
    }

    @Test
    void aValidMachineIsAccepted() {
        Platform p = machine(0x4000_0000L, 64L << 20, TWO_CPUS, GIC, TIMER, UART, ONE_WINDOW, "quiet",
                Optional.of(new Platform.Initrd(0x4000_0000L, 0x4400_0000L)));
        assertEquals(1, p.cpuAffinity(1));
    }

    @Test
    void overlappingRegionsAreRefused() {
        assertError("GIC redistributors at 0x80a0000 and UART at 0x80b0000 overlap", () -> machine(0x4000_0000L, 64L << 20, TWO_CPUS, GIC, TIMER,
                new Platform.Uart(0x080B_0000L, 8, 1, 1), ONE_WINDOW, "", Optional.empty()));
        assertError("virtio-mmio window at 0x40000000 overlap", () -> machine(0x3FF0_0000L, 64L << 20, TWO_CPUS, GIC, TIMER, UART,
                List.of(new VirtioMmioWindow(0x4000_0000L, 0x200, 16)), "", Optional.empty()));
        assertError("GIC distributor at 0x8000000 and GIC redistributors at 0x8000000 overlap", () -> machine(0x4000_0000L, 64L << 20,
                TWO_CPUS, new Platform.Gic(0x0800_0000L, 0x1_0000, 0x0800_0000L, 0x4_0000), TIMER, UART, ONE_WINDOW, "", Optional.empty()));
        assertError("RAM 0xff00000000 + 0x200000000 is not a non-empty range below the 40-bit IPA limit",
                () -> machine(0xFF_0000_0000L, 8L << 30, TWO_CPUS, GIC, TIMER, UART, ONE_WINDOW, "", Optional.empty()));
        assertError("UART 0x7fffffffffffffff", () -> machine(0x4000_0000L, 64L << 20, TWO_CPUS, GIC, TIMER,
                new Platform.Uart(Long.MAX_VALUE, 8, 1, 1), ONE_WINDOW, "", Optional.empty()));
        assertError("is not a non-empty 64 KiB-aligned range", () -> machine(0x4000_1000L, 64L << 20, TWO_CPUS, GIC, TIMER, UART,
                ONE_WINDOW, "", Optional.empty()));
    }

    @Test
    void interruptNumbersAreChecked() {
        assertError("SPI 1 of the virtio-mmio window at 0xa000000 is already taken", () -> machine(0x4000_0000L, 64L << 20, TWO_CPUS, GIC,
                TIMER, UART, List.of(new VirtioMmioWindow(0x0A00_0000L, 0x200, 1)), "", Optional.empty()));
        // SPI 988 would be interrupt id 1020, a special id.
        assertError("SPI 988 of the virtio-mmio window at 0xa000000 is not in 0..987", () -> machine(0x4000_0000L, 64L << 20, TWO_CPUS, GIC,
                TIMER, UART, List.of(new VirtioMmioWindow(0x0A00_0000L, 0x200, 988)), "", Optional.empty()));
        assertError("timer PPI 16 is not in 0..15", () -> machine(0x4000_0000L, 64L << 20, TWO_CPUS, GIC,
                new Platform.Timer(13, 14, 16, 10), UART, ONE_WINDOW, "", Optional.empty()));
        assertError("two timer interrupts share PPI 13", () -> machine(0x4000_0000L, 64L << 20, TWO_CPUS, GIC,
                new Platform.Timer(13, 13, 11, 10), UART, ONE_WINDOW, "", Optional.empty()));
        assertError("UART clock 0 Hz", () -> machine(0x4000_0000L, 64L << 20, TWO_CPUS, GIC, TIMER,
                new Platform.Uart(0x0900_0000L, 8, 1, 0), ONE_WINDOW, "", Optional.empty()));
    }

    @Test
    void cpusAreChecked() {
        assertError("at least one vCPU", () -> machine(0x4000_0000L, 64L << 20, List.of(), GIC, TIMER, UART, ONE_WINDOW, "", Optional.empty()));
        assertError("MPIDR 0x180000000 has a non-zero Aff3", () -> machine(0x4000_0000L, 64L << 20, List.of(0x1_8000_0000L), GIC, TIMER, UART,
                ONE_WINDOW, "", Optional.empty()));
        // Bit 31 (RES1) and bit 30 (U) are flags, not affinity: these two are the same CPU.
        assertError("two vCPUs share the affinity 0x1", () -> machine(0x4000_0000L, 64L << 20, List.of(0x8000_0001L, 0xC000_0001L), GIC, TIMER,
                UART, ONE_WINDOW, "", Optional.empty()));
        assertError("too small for 3 vCPUs", () -> machine(0x4000_0000L, 64L << 20, List.of(0L, 1L, 2L), GIC, TIMER, UART, ONE_WINDOW, "",
                Optional.empty()));
        assertError("below the 64 KiB GICD frame", () -> machine(0x4000_0000L, 64L << 20, TWO_CPUS,
                new Platform.Gic(0x0800_0000L, 0x1000, 0x080A_0000L, 0x4_0000), TIMER, UART, ONE_WINDOW, "", Optional.empty()));
    }

    @Test
    void chosenIsChecked() {
        assertError("bootargs contain a NUL", () -> machine(0x4000_0000L, 64L << 20, TWO_CPUS, GIC, TIMER, UART, ONE_WINDOW, "a\0b", Optional.empty()));
        assertError("bootargs of 2048 characters exceed the 2047", () -> machine(0x4000_0000L, 64L << 20, TWO_CPUS, GIC, TIMER, UART, ONE_WINDOW,
                "x".repeat(2048), Optional.empty()));
        machine(0x4000_0000L, 64L << 20, TWO_CPUS, GIC, TIMER, UART, ONE_WINDOW, "x".repeat(2047), Optional.empty());
        assertError("initrd 0x44000000..0x44000001 is not a non-empty range inside RAM", () -> machine(0x4000_0000L, 64L << 20, TWO_CPUS, GIC,
                TIMER, UART, ONE_WINDOW, "", Optional.of(new Platform.Initrd(0x4400_0000L, 0x4400_0001L))));
        assertError("initrd 0x3ffff000..0x40001000", () -> machine(0x4000_0000L, 64L << 20, TWO_CPUS, GIC, TIMER, UART, ONE_WINDOW, "",
                Optional.of(new Platform.Initrd(0x3FFF_F000L, 0x4000_1000L))));
        assertError("initrd 0x41000000..0x41000000", () -> machine(0x4000_0000L, 64L << 20, TWO_CPUS, GIC, TIMER, UART, ONE_WINDOW, "",
                Optional.of(new Platform.Initrd(0x4100_0000L, 0x4100_0000L))));
    }

    private static void assertError(String expected, Supplier<?> build) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, build::get);
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }
}
