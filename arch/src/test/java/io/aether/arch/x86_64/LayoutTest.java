package io.aether.arch.x86_64;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.arch.VirtioMmioWindow;
import io.aether.memory.RegionSpec;
import io.aether.testkit.Gen;
import io.aether.testkit.Property;
import java.util.List;
import org.junit.jupiter.api.Test;

class LayoutTest {

    private static final long MIB = 1L << 20;
    private static final long GIB = 1L << 30;

    @Test
    void smallRamIsOneRegionFromZero() {
        assertEquals(List.of(RegionSpec.ram(0, 512 * MIB)), Layout.memoryRegions(512 * MIB));
        assertEquals(List.of(RegionSpec.ram(0, 3 * GIB)), Layout.memoryRegions(3 * GIB));
    }

    @Test
    void ramBeyondTheGapContinuesAtFourGib() {
        assertEquals(List.of(RegionSpec.ram(0, 3 * GIB), RegionSpec.ram(4 * GIB, GIB)), Layout.memoryRegions(4 * GIB));
        assertEquals(List.of(RegionSpec.ram(0, 3 * GIB), RegionSpec.ram(4 * GIB, 13 * GIB)), Layout.memoryRegions(16 * GIB));
    }

    @Test
    void badRamSizesAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> Layout.memoryRegions(Layout.MIN_RAM - 4096));
        assertThrows(IllegalArgumentException.class, () -> Layout.memoryRegions(256 * MIB + 1));
        assertThrows(IllegalArgumentException.class, () -> Layout.memoryRegions(-4096));
        assertThrows(IllegalArgumentException.class, () -> Layout.memoryRegions(1L << 50));
    }

    @Test
    void e820ReservesTheBiosAreaAndSkipsTheGap() {
        assertEquals(List.of(
                new E820Entry(0, 0x9FC00, E820Entry.RAM),
                new E820Entry(0x9FC00, 0x100000 - 0x9FC00, E820Entry.RESERVED),
                new E820Entry(0x100000, 256 * MIB - 0x100000, E820Entry.RAM)), Layout.e820(256 * MIB));
        assertEquals(List.of(
                new E820Entry(0, 0x9FC00, E820Entry.RAM),
                new E820Entry(0x9FC00, 0x100000 - 0x9FC00, E820Entry.RESERVED),
                new E820Entry(0x100000, 3 * GIB - 0x100000, E820Entry.RAM),
                new E820Entry(4 * GIB, 3 * GIB, E820Entry.RAM)), Layout.e820(6 * GIB));
        assertEquals(2, Layout.e820(Layout.MIN_RAM).size(), "no usable RAM above 1 MiB to report");
    }

    @Test
    void e820CoversExactlyTheRamRegions() {
        Property.forAll(Gen.longs(256, 1 << 22)).check(pages -> {
            long ram = pages * 4096;
            List<RegionSpec> regions = Layout.memoryRegions(ram);
            List<E820Entry> map = Layout.e820(ram);
            assertEquals(ram, regions.stream().mapToLong(RegionSpec::size).sum());
            assertEquals(ram, map.stream().mapToLong(E820Entry::size).sum(), "every byte of RAM is in the map once");
            for (int i = 1; i < map.size(); i++) assertTrue(map.get(i).address() >= map.get(i - 1).end(), "sorted, no overlap");
            for (E820Entry e : map) {
                assertTrue(regions.stream().anyMatch(r -> r.guestBase() <= e.address() && e.end() <= r.end()), "inside a region: " + e);
                assertTrue(e.end() <= Layout.MMIO_GAP_START || e.address() >= Layout.MMIO_GAP_END, "nothing in the gap: " + e);
            }
        });
    }

    @Test
    void virtioWindowsArePagesApartOnTheirOwnGsis() {
        List<VirtioMmioWindow> w = Layout.virtioMmioWindows(3);
        assertEquals(List.of(
                new VirtioMmioWindow(0xD000_0000L, 0x200, 5),
                new VirtioMmioWindow(0xD000_1000L, 0x200, 6),
                new VirtioMmioWindow(0xD000_2000L, 0x200, 7)), w);
        assertEquals(19, Layout.virtioMmioWindows(Layout.MAX_VIRTIO_DEVICES).size());
        assertEquals(23, Layout.virtioMmioWindows(19).getLast().gsi());
        assertThrows(IllegalArgumentException.class, () -> Layout.virtioMmioWindows(20));
        assertThrows(IllegalArgumentException.class, () -> Layout.virtioMmioWindows(-1));
    }

    @Test
    void bootStructuresDoNotOverlap() {
        long[][] areas = {
                {Layout.GDT_ADDRESS, Layout.GDT_ADDRESS + Gdt.ENTRIES * 8},
                {Layout.IDT_ADDRESS, Layout.IDT_ADDRESS + 8},
                {Layout.PVH_INFO_ADDRESS, Layout.PVH_INFO_ADDRESS + 4096},
                {Layout.ZERO_PAGE_ADDRESS, Layout.ZERO_PAGE_ADDRESS + 4096},
                {Layout.BOOT_STACK_POINTER - 0x800, Layout.BOOT_STACK_POINTER + 0x10},
                {Layout.PML4_ADDRESS, Layout.PD_ADDRESS + 4 * 4096},
                {Layout.CMDLINE_ADDRESS, Layout.CMDLINE_ADDRESS + Layout.CMDLINE_CAPACITY},
                {Layout.ACPI_START, Layout.ACPI_END},
        };
        for (int i = 0; i < areas.length; i++) {
            for (int j = i + 1; j < areas.length; j++) {
                assertTrue(areas[i][1] <= areas[j][0] || areas[j][1] <= areas[i][0], "areas " + i + " and " + j + " overlap");
            }
            assertTrue(areas[i][1] <= Layout.KERNEL_START);
        }
        assertTrue(Layout.CMDLINE_ADDRESS + Layout.CMDLINE_CAPACITY <= Layout.EBDA_START, "command line in usable RAM");
    }
}
