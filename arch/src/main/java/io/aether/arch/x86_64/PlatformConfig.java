package io.aether.arch.x86_64;

import io.aether.arch.VirtioMmioWindow;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The machine the firmware tables describe: how many vCPUs, which virtio-mmio devices and which
 * legacy devices exist.
 *
 * @param vcpus number of vCPUs, 1 to {@link #MAX_VCPUS}; their APIC ids are 0..vcpus-1
 * @param virtioMmio the virtio-mmio windows, inside the MMIO gap below the IOAPIC, not
 *     overlapping, each on its own GSI in {@link Layout#VIRTIO_FIRST_GSI}..{@link Layout#IOAPIC_PINS}-1
 * @param serial a 16550 UART is at COM1 (0x3F8, IRQ 4)
 * @param i8042 an i8042 keyboard controller is at ports 0x60/0x64 with its keyboard on IRQ 1 (the
 *     FADT says so, and the DSDT has it as a PNP0303 device)
 */
public record PlatformConfig(int vcpus, List<VirtioMmioWindow> virtioMmio, boolean serial, boolean i8042) {

    /** xAPIC ids are 8-bit and 0xFF is the broadcast id, so ids 0..254 are usable. */
    public static final int MAX_VCPUS = 255;

    public PlatformConfig {
        if (vcpus < 1 || vcpus > MAX_VCPUS) throw new IllegalArgumentException("vCPU count " + vcpus + " is not in 1.." + MAX_VCPUS);
        virtioMmio = List.copyOf(virtioMmio);
        Set<Integer> gsis = new HashSet<>();
        for (VirtioMmioWindow w : virtioMmio) {
            if (w.base() < Layout.MMIO_GAP_START || w.end() > Layout.IOAPIC_BASE) {
                throw new IllegalArgumentException("virtio-mmio window at 0x" + Long.toHexString(w.base())
                        + " is outside the MMIO gap 0x" + Long.toHexString(Layout.MMIO_GAP_START) + "..0x" + Long.toHexString(Layout.IOAPIC_BASE));
            }
            if (w.gsi() < Layout.VIRTIO_FIRST_GSI || w.gsi() >= Layout.IOAPIC_PINS) {
                throw new IllegalArgumentException("virtio-mmio window at 0x" + Long.toHexString(w.base()) + " has GSI " + w.gsi()
                        + ", not in " + Layout.VIRTIO_FIRST_GSI + ".." + (Layout.IOAPIC_PINS - 1));
            }
            if (!gsis.add(w.gsi())) throw new IllegalArgumentException("two virtio-mmio windows share GSI " + w.gsi());
        }
        List<VirtioMmioWindow> sorted = new ArrayList<>(virtioMmio);
        sorted.sort(Comparator.comparingLong(VirtioMmioWindow::base));
        for (int i = 1; i < sorted.size(); i++) {
            if (sorted.get(i).base() < sorted.get(i - 1).end()) {
                throw new IllegalArgumentException("virtio-mmio windows at 0x" + Long.toHexString(sorted.get(i - 1).base())
                        + " and 0x" + Long.toHexString(sorted.get(i).base()) + " overlap");
            }
        }
    }
}
