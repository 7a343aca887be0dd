package io.aether.arch.x86_64;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.arch.VirtioMmioWindow;
import java.util.List;
import org.junit.jupiter.api.Test;

class PlatformConfigTest {

    @Test
    void vcpuCountIsBoundedByXapicIds() {
        assertThrows(IllegalArgumentException.class, () -> new PlatformConfig(0, List.of(), true, false));
        assertThrows(IllegalArgumentException.class, () -> new PlatformConfig(256, List.of(), true, false));
        new PlatformConfig(255, List.of(), true, false);
    }

    @Test
    void windowsMustSitInTheGapOnDistinctGsis() {
        var e = assertThrows(IllegalArgumentException.class, () ->
                new PlatformConfig(1, List.of(new VirtioMmioWindow(0x8000_0000L, 0x200, 5)), true, false));
        assertTrue(e.getMessage().contains("outside the MMIO gap"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () ->
                new PlatformConfig(1, List.of(new VirtioMmioWindow(0xFEC0_0000L, 0x200, 5)), true, false));
        assertThrows(IllegalArgumentException.class, () ->
                new PlatformConfig(1, List.of(new VirtioMmioWindow(0xD000_0000L, 0x200, 4)), true, false));
        assertThrows(IllegalArgumentException.class, () ->
                new PlatformConfig(1, List.of(new VirtioMmioWindow(0xD000_0000L, 0x200, 24)), true, false));
        assertThrows(IllegalArgumentException.class, () -> new PlatformConfig(1, List.of(
                new VirtioMmioWindow(0xD000_0000L, 0x200, 5), new VirtioMmioWindow(0xD000_1000L, 0x200, 5)), true, false));
        assertThrows(IllegalArgumentException.class, () -> new PlatformConfig(1, List.of(
                new VirtioMmioWindow(0xD000_1000L, 0x1000, 5), new VirtioMmioWindow(0xD000_1000L, 0x200, 6)), true, false));
        assertThrows(IllegalArgumentException.class, () -> new VirtioMmioWindow(0xD000_0100L, 0x200, 5));
        assertThrows(IllegalArgumentException.class, () -> new VirtioMmioWindow(0xD000_0000L, 0, 5));
    }
}
