package io.aether.arch.aarch64;

import io.aether.arch.VirtioMmioWindow;
import io.aether.memory.RegionSpec;
import java.util.ArrayList;
import java.util.List;

/**
 * The arm64 guest-physical address map, shaped like QEMU's {@code virt} machine so that kernels
 * and tools that know that map find nothing unusual: devices in the first GiB, RAM from 1 GiB.
 *
 * <pre>
 *   0x0800_0000  GICv3 distributor (64 KiB)
 *   0x080A_0000  GICv3 redistributors, 128 KiB per vCPU, up to 0x0900_0000 (123 vCPUs)
 *   0x0900_0000  16550 UART (ns16550a), SPI 1
 *   0x0A00_0000  virtio-mmio windows, one page apart, SPIs from 16
 *   0x4000_0000  RAM: the kernel at its start (2 MiB aligned), then the initrd, then the DTB
 * </pre>
 */
public final class Layout {

    public static final long GIC_DISTRIBUTOR_BASE = 0x0800_0000L;
    /** GICD: one 64 KiB frame. */
    public static final long GIC_DISTRIBUTOR_SIZE = 0x1_0000L;
    public static final long GIC_REDISTRIBUTOR_BASE = 0x080A_0000L;
    /** GICv3 redistributor of one vCPU: the RD_base and SGI_base frames, 64 KiB each. */
    public static final long GIC_REDISTRIBUTOR_STRIDE = 0x2_0000L;
    /** The redistributors must end here, where the UART starts. */
    static final long GIC_REDISTRIBUTOR_LIMIT = 0x0900_0000L;
    /** As many vCPUs as redistributors fit below the UART. */
    public static final int MAX_VCPUS = (int) ((GIC_REDISTRIBUTOR_LIMIT - GIC_REDISTRIBUTOR_BASE) / GIC_REDISTRIBUTOR_STRIDE);

    public static final long UART_BASE = 0x0900_0000L;
    /** The 16550's eight byte-wide registers (reg-shift 0). */
    public static final long UART_SIZE = 8;
    public static final int UART_SPI = 1;
    /** The UART's input clock: 1.8432 MHz, the PC standard, which Linux's 8250 driver needs told. */
    public static final int UART_CLOCK_HZ = 1_843_200;

    public static final long VIRTIO_MMIO_BASE = 0x0A00_0000L;
    public static final long VIRTIO_MMIO_SIZE = 0x200;
    /** One page per window, so each can be its own KVM I/O region. */
    public static final long VIRTIO_MMIO_STRIDE = 0x1000;
    public static final int VIRTIO_FIRST_SPI = 16;
    public static final int MAX_VIRTIO_DEVICES = 32;

    /** The architected timer's PPIs (interrupt ids 29, 30, 27, 26), as Arm's base system architecture fixes them. */
    public static final int TIMER_SECURE_PHYSICAL_PPI = 13;
    public static final int TIMER_NON_SECURE_PHYSICAL_PPI = 14;
    public static final int TIMER_VIRTUAL_PPI = 11;
    public static final int TIMER_HYPERVISOR_PPI = 10;

    public static final long RAM_BASE = 0x4000_0000L;
    /** Room for one 2 MiB-aligned kernel base. */
    public static final long MIN_RAM = 2L << 20;
    /** KVM's default guest physical address space is 40 bits (1 TiB); RAM must end inside it. */
    public static final long IPA_LIMIT = 1L << 40;
    public static final long MAX_RAM = IPA_LIMIT - RAM_BASE;

    private Layout() {
    }

    /**
     * The guest RAM region for {@code ramSize} bytes, from {@link #RAM_BASE}.
     *
     * @throws IllegalArgumentException if the size is not a multiple of 64 KiB (the largest Arm
     *     page) in {@link #MIN_RAM}..{@link #MAX_RAM}
     */
    public static List<RegionSpec> memoryRegions(long ramSize) {
        if (ramSize < MIN_RAM || ramSize > MAX_RAM || ramSize % 0x1_0000 != 0) {
            throw new IllegalArgumentException("guest RAM size " + ramSize + " is not a multiple of 64 KiB in " + MIN_RAM + ".." + MAX_RAM);
        }
        return List.of(RegionSpec.ram(RAM_BASE, ramSize));
    }

    /**
     * Windows for {@code count} virtio-mmio devices: one page apart from {@link #VIRTIO_MMIO_BASE},
     * {@link #VIRTIO_MMIO_SIZE} bytes each, on SPIs from {@link #VIRTIO_FIRST_SPI} on.
     *
     * @throws IllegalArgumentException if {@code count} is negative or above {@link #MAX_VIRTIO_DEVICES}
     */
    public static List<VirtioMmioWindow> virtioMmioWindows(int count) {
        if (count < 0 || count > MAX_VIRTIO_DEVICES) {
            throw new IllegalArgumentException("virtio-mmio device count " + count + " is not in 0.." + MAX_VIRTIO_DEVICES);
        }
        List<VirtioMmioWindow> windows = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            windows.add(new VirtioMmioWindow(VIRTIO_MMIO_BASE + i * VIRTIO_MMIO_STRIDE, VIRTIO_MMIO_SIZE, VIRTIO_FIRST_SPI + i));
        }
        return List.copyOf(windows);
    }
}
