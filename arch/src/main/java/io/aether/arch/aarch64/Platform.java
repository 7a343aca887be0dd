package io.aether.arch.aarch64;

import io.aether.arch.VirtioMmioWindow;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * The arm64 machine the device tree describes. Every address and interrupt is checked here, so
 * that a description that reaches {@link DeviceTree#build} is one a kernel can use: regions
 * inside the guest physical address space and apart from each other, interrupt numbers the GIC
 * has, one redistributor per vCPU.
 *
 * @param ramBase start of guest RAM, 64 KiB aligned
 * @param ramSize bytes of RAM, a multiple of 64 KiB
 * @param mpidrs each vCPU's MPIDR_EL1 as KVM reports it; the device tree names CPUs by the
 *     affinity fields (Aff2..Aff0, with Aff3 zero as KVM assigns it), vCPU 0 boots
 * @param gic the GICv3's distributor and redistributor regions
 * @param timer the architected timer's PPIs
 * @param uart the 16550 console UART
 * @param virtioMmio the virtio-mmio windows; their {@code gsi} is the SPI number
 * @param bootargs the kernel command line
 * @param initrd where the initrd lies in RAM, if there is one
 */
public record Platform(long ramBase, long ramSize, List<Long> mpidrs, Gic gic, Timer timer, Uart uart,
                       List<VirtioMmioWindow> virtioMmio, String bootargs, Optional<Initrd> initrd) {

    /** SPIs are interrupt ids 32..1019: SPI numbers 0..987. */
    public static final int MAX_SPI = 1019 - 32;
    /** PPIs are interrupt ids 16..31: PPI numbers 0..15. */
    public static final int MAX_PPI = 15;
    /** Linux on arm64 reads at most 2048 bytes of command line, the NUL included. */
    public static final int MAX_BOOTARGS = 2047;
    /** MPIDR_EL1's affinity fields Aff3 (39:32) and Aff2..Aff0 (23:0); the rest are flags. */
    static final long MPIDR_AFFINITY_MASK = 0xFF_00FF_FFFFL;

    /** The GICv3 register regions: a distributor and one contiguous redistributor region. */
    public record Gic(long distributorBase, long distributorSize, long redistributorBase, long redistributorSize) {
    }

    /** The architected timer's four PPIs (numbered from 0, interrupt id minus 16). */
    public record Timer(int securePhysicalPpi, int nonSecurePhysicalPpi, int virtualPpi, int hypervisorPpi) {

        /** The order the arm,armv8-timer binding lists them in. */
        List<Integer> inBindingOrder() {
            return List.of(securePhysicalPpi, nonSecurePhysicalPpi, virtualPpi, hypervisorPpi);
        }
    }

    /** A 16550 UART (ns16550a) on MMIO with byte-wide registers. */
    public record Uart(long base, long size, int spi, int clockHz) {
    }

    /** Where the initrd lies: {@code [start, end)}. */
    public record Initrd(long start, long end) {
    }

    public Platform {
        Objects.requireNonNull(gic, "gic");
        Objects.requireNonNull(timer, "timer");
        Objects.requireNonNull(uart, "uart");
        Objects.requireNonNull(bootargs, "bootargs");
        Objects.requireNonNull(initrd, "initrd");
        mpidrs = List.copyOf(mpidrs);
        virtioMmio = List.copyOf(virtioMmio);
        if (ramBase <= 0 || ramBase % 0x1_0000 != 0 || ramSize <= 0 || ramSize % 0x1_0000 != 0) {
            throw new IllegalArgumentException("RAM 0x" + Long.toHexString(ramBase) + " + 0x" + Long.toHexString(ramSize)
                    + " is not a non-empty 64 KiB-aligned range");
        }
        checkCpus(mpidrs, gic);
        checkTimer(timer);
        if (uart.clockHz() <= 0) throw new IllegalArgumentException("UART clock " + uart.clockHz() + " Hz is not positive");
        Set<Integer> spis = new HashSet<>();
        checkSpi("the UART", uart.spi(), spis);
        for (VirtioMmioWindow w : virtioMmio) checkSpi("the virtio-mmio window at 0x" + Long.toHexString(w.base()), w.gsi(), spis);
        checkRegions(ramBase, ramSize, gic, uart, virtioMmio);
        if (bootargs.indexOf('\0') >= 0) throw new IllegalArgumentException("bootargs contain a NUL character");
        if (bootargs.length() > MAX_BOOTARGS) {
            throw new IllegalArgumentException("bootargs of " + bootargs.length() + " characters exceed the " + MAX_BOOTARGS + " Linux reads");
        }
        initrd.ifPresent(r -> {
            if (r.start() < ramBase || r.start() >= r.end() || r.end() - ramBase > ramSize) {
                throw new IllegalArgumentException("initrd 0x" + Long.toHexString(r.start()) + "..0x" + Long.toHexString(r.end())
                        + " is not a non-empty range inside RAM");
            }
        });
    }

    /**
     * The standard machine of {@link Layout}: RAM at {@link Layout#RAM_BASE}, one redistributor per
     * vCPU, the UART and {@code virtioDevices} windows at their places, the timer's usual PPIs.
     */
    public static Platform standard(long ramSize, List<Long> mpidrs, int virtioDevices, String bootargs, Optional<Initrd> initrd) {
        Layout.memoryRegions(ramSize);
        if (mpidrs.isEmpty() || mpidrs.size() > Layout.MAX_VCPUS) {
            throw new IllegalArgumentException("vCPU count " + mpidrs.size() + " is not in 1.." + Layout.MAX_VCPUS);
        }
        Gic gic = new Gic(Layout.GIC_DISTRIBUTOR_BASE, Layout.GIC_DISTRIBUTOR_SIZE,
                Layout.GIC_REDISTRIBUTOR_BASE, mpidrs.size() * Layout.GIC_REDISTRIBUTOR_STRIDE);
        Timer timer = new Timer(Layout.TIMER_SECURE_PHYSICAL_PPI, Layout.TIMER_NON_SECURE_PHYSICAL_PPI,
                Layout.TIMER_VIRTUAL_PPI, Layout.TIMER_HYPERVISOR_PPI);
        Uart uart = new Uart(Layout.UART_BASE, Layout.UART_SIZE, Layout.UART_SPI, Layout.UART_CLOCK_HZ);
        return new Platform(Layout.RAM_BASE, ramSize, mpidrs, gic, timer, uart, Layout.virtioMmioWindows(virtioDevices), bootargs, initrd);
    }

    /** The affinity of vCPU {@code index}: what its device tree node's {@code reg} holds. */
    int cpuAffinity(int index) {
        return (int) (mpidrs.get(index) & MPIDR_AFFINITY_MASK);
    }

    private static void checkCpus(List<Long> mpidrs, Gic gic) {
        if (mpidrs.isEmpty()) throw new IllegalArgumentException("a machine needs at least one vCPU");
        Set<Long> seen = new HashSet<>();
        for (long mpidr : mpidrs) {
            long affinity = mpidr & MPIDR_AFFINITY_MASK;
            if (affinity >>> 32 != 0) {
                throw new IllegalArgumentException("MPIDR 0x" + Long.toHexString(mpidr) + " has a non-zero Aff3, which KVM never assigns");
            }
            if (!seen.add(affinity)) throw new IllegalArgumentException("two vCPUs share the affinity 0x" + Long.toHexString(affinity));
        }
        if (gic.distributorSize() < Layout.GIC_DISTRIBUTOR_SIZE) {
            throw new IllegalArgumentException("GIC distributor size 0x" + Long.toHexString(gic.distributorSize()) + " is below the 64 KiB GICD frame");
        }
        if (gic.redistributorSize() / Layout.GIC_REDISTRIBUTOR_STRIDE < mpidrs.size()) {
            throw new IllegalArgumentException("GIC redistributor region 0x" + Long.toHexString(gic.redistributorSize())
                    + " bytes is too small for " + mpidrs.size() + " vCPUs at 128 KiB each");
        }
    }

    private static void checkTimer(Timer timer) {
        Set<Integer> seen = new HashSet<>();
        for (int ppi : timer.inBindingOrder()) {
            if (ppi < 0 || ppi > MAX_PPI) throw new IllegalArgumentException("timer PPI " + ppi + " is not in 0.." + MAX_PPI);
            if (!seen.add(ppi)) throw new IllegalArgumentException("two timer interrupts share PPI " + ppi);
        }
    }

    private static void checkSpi(String owner, int spi, Set<Integer> taken) {
        if (spi < 0 || spi > MAX_SPI) throw new IllegalArgumentException("SPI " + spi + " of " + owner + " is not in 0.." + MAX_SPI);
        if (!taken.add(spi)) throw new IllegalArgumentException("SPI " + spi + " of " + owner + " is already taken");
    }

    private record Region(String name, long base, long size) {
    }

    /** Every region inside the guest physical address space and apart from every other. */
    private static void checkRegions(long ramBase, long ramSize, Gic gic, Uart uart, List<VirtioMmioWindow> virtio) {
        List<Region> regions = new ArrayList<>();
        regions.add(new Region("RAM", ramBase, ramSize));
        regions.add(new Region("GIC distributor", gic.distributorBase(), gic.distributorSize()));
        regions.add(new Region("GIC redistributors", gic.redistributorBase(), gic.redistributorSize()));
        regions.add(new Region("UART", uart.base(), uart.size()));
        for (VirtioMmioWindow w : virtio) regions.add(new Region("virtio-mmio window", w.base(), w.size()));
        for (Region r : regions) {
            if (r.base() <= 0 || r.size() <= 0 || r.size() > Layout.IPA_LIMIT - r.base()) {
                throw new IllegalArgumentException(r.name() + " 0x" + Long.toHexString(r.base()) + " + 0x" + Long.toHexString(r.size())
                        + " is not a non-empty range below the 40-bit IPA limit");
            }
        }
        regions.sort(Comparator.comparingLong(Region::base));
        for (int i = 1; i < regions.size(); i++) {
            Region a = regions.get(i - 1);
            Region b = regions.get(i);
            if (b.base() < a.base() + a.size()) {
                throw new IllegalArgumentException(a.name() + " at 0x" + Long.toHexString(a.base()) + " and " + b.name()
                        + " at 0x" + Long.toHexString(b.base()) + " overlap");
            }
        }
    }
}
