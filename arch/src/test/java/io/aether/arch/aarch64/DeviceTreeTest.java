package io.aether.arch.aarch64;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.aether.arch.fdt.Dtc;
import io.aether.arch.fdt.FdtReader;
import io.aether.testkit.Gen;
import io.aether.testkit.Property;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 120, unit = TimeUnit.SECONDS)
class DeviceTreeTest {

    @TempDir
    Path dir;

    /** MPIDR_EL1 as KVM gives vCPU {@code i}: bit 31 (RES1), Aff0 = i[3:0], Aff1 = i[11:4], Aff2 = i[19:12]. */
    static long kvmMpidr(int i) {
        return 0x8000_0000L | (i & 0xF) | (long) ((i >> 4) & 0xFF) << 8 | (long) ((i >> 12) & 0xFF) << 16;
    }

    static List<Long> mpidrs(int count) {
        List<Long> list = new ArrayList<>();
        for (int i = 0; i < count; i++) list.add(kvmMpidr(i));
        return list;
    }

    @Test
    void dtcReadsTheWholeMachineWithoutAWarning() throws Exception {
        Platform p = Platform.standard(128L << 20, mpidrs(2), 2, "console=ttyS0 quiet",
                Optional.of(new Platform.Initrd(0x4400_0000L, 0x4410_0000L)));
        Dtc.Decompiled d = Dtc.decompile(DeviceTree.build(p), dir);
        assertEquals("", d.warnings(), "dtc's checks (unit addresses vs reg, interrupt providers, phandles) all pass");
        assertEquals("""
                /dts-v1/;

                / {
                	compatible = "aether,virt";
                	model = "Aether microVM";
                	#address-cells = <0x02>;
                	#size-cells = <0x02>;
                	interrupt-parent = <0x01>;

                	chosen {
                		bootargs = "console=ttyS0 quiet";
                		stdout-path = "/serial@9000000";
                		linux,initrd-start = <0x00 0x44000000>;
                		linux,initrd-end = <0x00 0x44100000>;
                	};

                	memory@40000000 {
                		device_type = "memory";
                		reg = <0x00 0x40000000 0x00 0x8000000>;
                	};

                	cpus {
                		#address-cells = <0x01>;
                		#size-cells = <0x00>;

                		cpu@0 {
                			device_type = "cpu";
                			compatible = "arm,armv8";
                			reg = <0x00>;
                			enable-method = "psci";
                		};

                		cpu@1 {
                			device_type = "cpu";
                			compatible = "arm,armv8";
                			reg = <0x01>;
                			enable-method = "psci";
                		};
                	};

                	psci {
                		compatible = "arm,psci-1.0\\0arm,psci-0.2";
                		method = "hvc";
                	};

                	intc@8000000 {
                		compatible = "arm,gic-v3";
                		#interrupt-cells = <0x03>;
                		#address-cells = <0x00>;
                		interrupt-controller;
                		reg = <0x00 0x8000000 0x00 0x10000 0x00 0x80a0000 0x00 0x40000>;
                		phandle = <0x01>;
                	};

                	timer {
                		compatible = "arm,armv8-timer";
                		interrupts = <0x01 0x0d 0x04 0x01 0x0e 0x04 0x01 0x0b 0x04 0x01 0x0a 0x04>;
                	};

                	serial@9000000 {
                		compatible = "ns16550a";
                		reg = <0x00 0x9000000 0x00 0x08>;
                		interrupts = <0x00 0x01 0x04>;
                		clock-frequency = <0x1c2000>;
                	};

                	virtio_mmio@a000000 {
                		compatible = "virtio,mmio";
                		reg = <0x00 0xa000000 0x00 0x200>;
                		interrupts = <0x00 0x10 0x04>;
                		dma-coherent;
                	};

                	virtio_mmio@a001000 {
                		compatible = "virtio,mmio";
                		reg = <0x00 0xa001000 0x00 0x200>;
                		interrupts = <0x00 0x11 0x04>;
                		dma-coherent;
                	};
                };
                """, d.source());
    }

    @Test
    void withoutAnInitrdChosenHasNoInitrdRange() throws Exception {
        Platform p = Platform.standard(64L << 20, mpidrs(1), 0, "", Optional.empty());
        FdtReader.Node chosen = FdtReader.read(DeviceTree.build(p)).child("chosen");
        assertEquals(List.of("bootargs", "stdout-path"), List.copyOf(chosen.properties().keySet()));
        assertEquals(List.of(""), chosen.strings("bootargs"));
        assertEquals("", Dtc.decompile(DeviceTree.build(p), dir).warnings());
    }

    @Test
    void everyMachineSizeGivesOneNodePerCpuAndDevice() {
        Property.forAll(Gen.ints(1, Layout.MAX_VCPUS), Gen.ints(0, Layout.MAX_VIRTIO_DEVICES), Gen.longs(32, (1 << 20) - 1024))
                .tries(200).check((vcpus, devices, ramMib) -> {
                    Platform p = Platform.standard(ramMib << 20, mpidrs(vcpus), devices, "console=ttyS0", Optional.empty());
                    byte[] dtb = DeviceTree.build(p);
                    FdtReader.Node root = FdtReader.read(dtb);
                    // boot_cpuid_phys names vCPU 0's reg (affinity 0).
                    assertEquals(0, ByteBuffer.wrap(dtb).getInt(28));

                    assertArrayEquals(new int[] {0, 0x4000_0000, (int) (ramMib >>> 12), (int) (ramMib << 20)},
                            root.child("memory@40000000").cells("reg"));

                    List<FdtReader.Node> cpus = root.child("cpus").children();
                    assertEquals(vcpus, cpus.size());
                    for (int i = 0; i < vcpus; i++) {
                        int affinity = (i & 0xF) | ((i >> 4) & 0xFF) << 8;
                        assertEquals("/cpus/cpu@" + Integer.toHexString(affinity), cpus.get(i).path());
                        assertArrayEquals(new int[] {affinity}, cpus.get(i).cells("reg"));
                        assertEquals(List.of("psci"), cpus.get(i).strings("enable-method"));
                    }

                    int[] gicReg = root.child("intc@8000000").cells("reg");
                    assertEquals(vcpus * 0x2_0000, gicReg[7], "one 128 KiB redistributor per vCPU");

                    List<FdtReader.Node> virtio = root.children().stream().filter(n -> n.path().startsWith("/virtio_mmio@")).toList();
                    assertEquals(devices, virtio.size());
                    for (int i = 0; i < devices; i++) {
                        int base = 0x0A00_0000 + i * 0x1000;
                        assertEquals("/virtio_mmio@" + Integer.toHexString(base), virtio.get(i).path());
                        assertArrayEquals(new int[] {0, base, 0, 0x200}, virtio.get(i).cells("reg"));
                        // GIC_SPI, SPI 16 + i, IRQ_TYPE_LEVEL_HIGH
                        assertArrayEquals(new int[] {0, 16 + i, 4}, virtio.get(i).cells("interrupts"));
                    }
                });
    }

    @Test
    void aLargeMachineStillPassesDtc() throws Exception {
        Platform p = Platform.standard(8L << 30, mpidrs(Layout.MAX_VCPUS), Layout.MAX_VIRTIO_DEVICES, "console=ttyS0", Optional.empty());
        Dtc.Decompiled d = Dtc.decompile(DeviceTree.build(p), dir);
        assertEquals("", d.warnings());
        // vCPU 122 = 0x7a: Aff0 0xa, Aff1 0x7.
        assertEquals(1, d.source().split("\tcpu@70a \\{").length - 1);
        assertEquals(1, d.source().split("virtio_mmio@a01f000 \\{").length - 1);
    }
}
