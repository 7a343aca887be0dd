package io.aether.arch.x86_64;

import io.aether.arch.VirtioMmioWindow;
import io.aether.memory.RegionSpec;
import java.util.ArrayList;
import java.util.List;

/**
 * The x86_64 guest-physical address map: where RAM, device windows and the boot structures sit.
 *
 * <pre>
 *   0x0000_0500  GDT (then the IDT at 0x540)
 *   0x0000_6000  PVH start info, its module list and memory map
 *   0x0000_7000  Linux zero page (struct boot_params)
 *   0x0000_8FF0  boot stack top
 *   0x0000_9000  page tables: PML4, PDPT, 4 page directories (2 MiB pages, first 4 GiB)
 *   0x0002_0000  kernel command line
 *   0x0009_FC00  reserved: EBDA and BIOS area up to 1 MiB
 *   0x000E_0000  ACPI tables, the RSDP first (where Linux's legacy BIOS-area scan looks)
 *   0x0010_0000  kernel (bzImage protected-mode code; ELF segments at their own addresses)
 *   ...          RAM up to 3 GiB, the initrd at its top
 *   0xC000_0000  32-bit MMIO gap: virtio-mmio windows from 0xD000_0000, IOAPIC, LAPIC
 *   0x1_0000_0000 the rest of RAM
 * </pre>
 */
public final class Layout {

    /** The first byte of the 32-bit MMIO gap; RAM below it is "low" RAM. */
    public static final long MMIO_GAP_START = 0xC000_0000L;
    /** The first byte after the MMIO gap (4 GiB): the rest of RAM starts here. */
    public static final long MMIO_GAP_END = 0x1_0000_0000L;

    /** The first virtio-mmio window. */
    public static final long VIRTIO_MMIO_BASE = 0xD000_0000L;
    /** Size of one virtio-mmio register window. */
    public static final long VIRTIO_MMIO_SIZE = 0x200;
    /** Distance between windows: one page each, so each can be its own KVM I/O region. */
    public static final long VIRTIO_MMIO_STRIDE = 0x1000;
    /** Where the IOAPIC's registers sit (and what the MADT says). */
    public static final long IOAPIC_BASE = 0xFEC0_0000L;
    /** Where every local APIC's registers sit (and what the MADT says). */
    public static final long LAPIC_BASE = 0xFEE0_0000L;

    /** Number of IOAPIC input pins, as KVM's in-kernel IOAPIC has. */
    public static final int IOAPIC_PINS = 24;
    /** The i8042 keyboard's ISA interrupt, identity-mapped to the same GSI. */
    public static final int KEYBOARD_GSI = 1;
    /** COM1's ISA interrupt, identity-mapped to the same GSI. */
    public static final int SERIAL_GSI = 4;
    /** First GSI handed to virtio-mmio devices (0-4 belong to the legacy ISA devices). */
    public static final int VIRTIO_FIRST_GSI = 5;
    /** How many virtio-mmio devices {@link #virtioMmioWindows} can place (GSIs 5..23). */
    public static final int MAX_VIRTIO_DEVICES = IOAPIC_PINS - VIRTIO_FIRST_GSI;

    public static final long GDT_ADDRESS = 0x500;
    public static final long IDT_ADDRESS = 0x540;
    public static final long PVH_INFO_ADDRESS = 0x6000;
    public static final long ZERO_PAGE_ADDRESS = 0x7000;
    public static final long BOOT_STACK_POINTER = 0x8FF0;
    public static final long PML4_ADDRESS = 0x9000;
    public static final long PDPT_ADDRESS = 0xA000;
    /** Four page directories follow the PDPT, one per GiB of the identity map. */
    public static final long PD_ADDRESS = 0xB000;
    public static final long CMDLINE_ADDRESS = 0x2_0000;
    /** Room for the command line, NUL included (Linux itself takes at most 2048 bytes). */
    public static final long CMDLINE_CAPACITY = 0x1_0000;
    /** Start of the EBDA; from here to 1 MiB is reserved in the e820 map. */
    public static final long EBDA_START = 0x9_FC00;
    public static final long ACPI_START = 0xE_0000;
    public static final long ACPI_END = 0x10_0000;
    /** Where a bzImage's protected-mode code is loaded; no kernel byte may sit below it. */
    public static final long KERNEL_START = 0x10_0000;

    /** The smallest guest RAM: everything up to the kernel's load address. */
    public static final long MIN_RAM = KERNEL_START;

    private Layout() {
    }

    /**
     * The guest RAM regions for {@code ramSize} bytes: one from 0 up to the MMIO gap and, when
     * there is more RAM than fits below the gap, one more from 4 GiB.
     *
     * @throws IllegalArgumentException if the size is not a page multiple or below {@link #MIN_RAM}
     */
    public static List<RegionSpec> memoryRegions(long ramSize) {
        checkRamSize(ramSize);
        long low = Math.min(ramSize, MMIO_GAP_START);
        List<RegionSpec> regions = new ArrayList<>(2);
        regions.add(RegionSpec.ram(0, low));
        if (ramSize > low) regions.add(RegionSpec.ram(MMIO_GAP_END, ramSize - low));
        return List.copyOf(regions);
    }

    /** The end of low RAM (below the MMIO gap) for {@code ramSize} bytes of RAM. */
    public static long lowRamEnd(long ramSize) {
        checkRamSize(ramSize);
        return Math.min(ramSize, MMIO_GAP_START);
    }

    /**
     * The e820 map the guest gets: usable RAM below the EBDA, the EBDA and BIOS area (holding the
     * ACPI tables) reserved, usable RAM from 1 MiB to the gap and above 4 GiB; nothing for the gap.
     */
    public static List<E820Entry> e820(long ramSize) {
        long low = lowRamEnd(ramSize);
        List<E820Entry> map = new ArrayList<>(4);
        map.add(new E820Entry(0, EBDA_START, E820Entry.RAM));
        map.add(new E820Entry(EBDA_START, KERNEL_START - EBDA_START, E820Entry.RESERVED));
        if (low > KERNEL_START) map.add(new E820Entry(KERNEL_START, low - KERNEL_START, E820Entry.RAM));
        if (ramSize > low) map.add(new E820Entry(MMIO_GAP_END, ramSize - low, E820Entry.RAM));
        return List.copyOf(map);
    }

    /**
     * Windows for {@code count} virtio-mmio devices: one page apart from {@link #VIRTIO_MMIO_BASE},
     * {@link #VIRTIO_MMIO_SIZE} bytes each, on GSIs from {@link #VIRTIO_FIRST_GSI} on.
     *
     * @throws IllegalArgumentException if {@code count} is negative or above {@link #MAX_VIRTIO_DEVICES}
     */
    public static List<VirtioMmioWindow> virtioMmioWindows(int count) {
        if (count < 0 || count > MAX_VIRTIO_DEVICES) {
            throw new IllegalArgumentException("virtio-mmio device count " + count + " is not in 0.." + MAX_VIRTIO_DEVICES);
        }
        List<VirtioMmioWindow> windows = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            windows.add(new VirtioMmioWindow(VIRTIO_MMIO_BASE + i * VIRTIO_MMIO_STRIDE, VIRTIO_MMIO_SIZE, VIRTIO_FIRST_GSI + i));
        }
        return List.copyOf(windows);
    }

    private static void checkRamSize(long ramSize) {
        if (ramSize < MIN_RAM || ramSize % RegionSpec.PAGE_SIZE != 0) {
            throw new IllegalArgumentException("guest RAM size " + ramSize + " is not a multiple of 4096 of at least " + MIN_RAM + " bytes");
        }
        if (ramSize > (1L << 46)) {
            throw new IllegalArgumentException("guest RAM size " + ramSize + " exceeds 64 TiB");
        }
    }
}
