package io.aether.arch.aarch64;

import io.aether.arch.VirtioMmioWindow;
import io.aether.arch.fdt.FdtWriter;

/**
 * The device tree an arm64 Linux boots with: memory, CPUs started through PSCI, the GICv3, the
 * architected timer, the console UART, one {@code virtio,mmio} node per device and
 * {@code /chosen}. Bindings followed (Linux, Documentation/devicetree/bindings):
 * {@code arm/psci.yaml}, {@code interrupt-controller/arm,gic-v3.yaml}, {@code timer/arm,arch_timer.yaml},
 * {@code serial/8250.yaml}, {@code virtio/mmio.yaml}.
 */
public final class DeviceTree {

    /** Interrupt specifier cells of the GICv3 binding: type, number, flags. */
    static final int GIC_SPI = 0;
    static final int GIC_PPI = 1;
    /**
     * Every interrupt is level-triggered, active high: the UART and the virtio-mmio transport
     * hold their line up until the guest acknowledges (KVM_IRQ_LINE levels, not pulses).
     */
    static final int IRQ_TYPE_LEVEL_HIGH = 4;

    private DeviceTree() {
    }

    /** The device tree blob for {@code platform}; vCPU 0 is the boot CPU. */
    public static byte[] build(Platform platform) {
        FdtWriter w = new FdtWriter();
        w.beginNode("");
        w.propertyString("compatible", "aether,virt");
        w.propertyString("model", "Aether microVM");
        // Two cells of address and two of size: RAM and devices may lie above 4 GiB.
        w.propertyU32("#address-cells", 2);
        w.propertyU32("#size-cells", 2);
        int gic = w.newPhandle();
        w.propertyPhandle("interrupt-parent", gic);
        writeChildren(w, platform, gic);
        w.endNode();
        return w.finish(platform.cpuAffinity(0));
    }

    private static void writeChildren(FdtWriter w, Platform p, int gicPhandle) {
        w.beginNode("chosen");
        w.propertyString("bootargs", p.bootargs());
        w.propertyString("stdout-path", uartPath(p.uart()));
        p.initrd().ifPresent(r -> {
            w.propertyU64("linux,initrd-start", r.start());
            w.propertyU64("linux,initrd-end", r.end());
        });
        w.endNode();

        w.beginNode("memory@" + Long.toHexString(p.ramBase()));
        w.propertyString("device_type", "memory");
        w.propertyU64s("reg", p.ramBase(), p.ramSize());
        w.endNode();

        w.beginNode("cpus");
        // One cell of CPU id (Aff2..Aff0), no size: CPUs are not memory-mapped.
        w.propertyU32("#address-cells", 1);
        w.propertyU32("#size-cells", 0);
        for (int i = 0; i < p.mpidrs().size(); i++) {
            int affinity = p.cpuAffinity(i);
            w.beginNode("cpu@" + Integer.toHexString(affinity));
            w.propertyString("device_type", "cpu");
            w.propertyString("compatible", "arm,armv8");
            w.propertyU32("reg", affinity);
            w.propertyString("enable-method", "psci");
            w.endNode();
        }
        w.endNode();

        w.beginNode("psci");
        // KVM's PSCI (vCPU feature PSCI_0_2) implements 1.x, which keeps the 0.2 function ids.
        w.propertyStrings("compatible", "arm,psci-1.0", "arm,psci-0.2");
        w.propertyString("method", "hvc");
        w.endNode();

        Platform.Gic g = p.gic();
        w.beginNode("intc@" + Long.toHexString(g.distributorBase()));
        w.propertyString("compatible", "arm,gic-v3");
        w.propertyU32("#interrupt-cells", 3);
        // No children and no interrupt-map through it: an interrupt provider says so with 0 address cells.
        w.propertyU32("#address-cells", 0);
        w.propertyEmpty("interrupt-controller");
        w.propertyU64s("reg", g.distributorBase(), g.distributorSize(), g.redistributorBase(), g.redistributorSize());
        w.phandle(gicPhandle);
        w.endNode();

        w.beginNode("timer");
        w.propertyString("compatible", "arm,armv8-timer");
        int[] cells = new int[12];
        int i = 0;
        for (int ppi : p.timer().inBindingOrder()) {
            cells[i++] = GIC_PPI;
            cells[i++] = ppi;
            cells[i++] = IRQ_TYPE_LEVEL_HIGH;
        }
        w.propertyU32s("interrupts", cells);
        w.endNode();

        Platform.Uart u = p.uart();
        w.beginNode(uartPath(u).substring(1));
        w.propertyString("compatible", "ns16550a");
        w.propertyU64s("reg", u.base(), u.size());
        w.propertyU32s("interrupts", GIC_SPI, u.spi(), IRQ_TYPE_LEVEL_HIGH);
        w.propertyU32("clock-frequency", u.clockHz());
        w.endNode();

        for (VirtioMmioWindow v : p.virtioMmio()) {
            w.beginNode("virtio_mmio@" + Long.toHexString(v.base()));
            w.propertyString("compatible", "virtio,mmio");
            w.propertyU64s("reg", v.base(), v.size());
            w.propertyU32s("interrupts", GIC_SPI, v.gsi(), IRQ_TYPE_LEVEL_HIGH);
            // The device is the monitor reading guest RAM through the same caches: no cache maintenance needed.
            w.propertyEmpty("dma-coherent");
            w.endNode();
        }
    }

    private static String uartPath(Platform.Uart u) {
        return "/serial@" + Long.toHexString(u.base());
    }
}
