package io.aether.vmm;

import io.aether.arch.VirtioMmioWindow;
import io.aether.arch.x86_64.Layout;
import io.aether.common.InterruptLine;
import io.aether.devices.PowerEvents;
import io.aether.devices.i8042.I8042;
import io.aether.devices.rng.VirtioRng;
import io.aether.devices.serial.Serial16550;
import io.aether.kvm.VcpuExit;
import io.aether.memory.GuestMemory;
import io.aether.memory.RegionSpec;
import io.aether.virtio.VirtioMmioTransport;
import java.io.OutputStream;
import java.util.List;

/**
 * The port and MMIO exits an x86 Linux guest's boot makes, handed to {@link ExitHandler} over
 * throwaway devices often enough for the JIT to compile their paths: the standby's stub guests
 * only print, so the i8042, the virtio-mmio registers and the accesses nobody claims (PCI
 * configuration, the CMOS clock) ran interpreted in the first boot, each exit of it, and were
 * compiled (when at all) on its time. The devices are the VM's own classes, wired to nothing.
 */
public final class ExitPathWarmUp {

    /** What the warm-up handed over: exits in all, and those that reached no device. */
    public record Warmed(long exits, long unclaimed) {
    }

    private ExitPathWarmUp() {
    }

    /** Hands each of a boot's kinds of exit to the handler {@code rounds} times. */
    public static Warmed run(int rounds) {
        Bus io = new Bus("port I/O");
        Bus mmio = new Bus("MMIO");
        io.register(Serial16550.COM1_PORT, Serial16550.PORT_COUNT, "serial", new Serial16550(OutputStream.nullOutputStream(), InterruptLine.NONE));
        io.register(I8042.BASE_PORT, I8042.PORT_COUNT, "i8042", new I8042(PowerEvents.NONE, InterruptLine.NONE));
        VirtioMmioWindow window = Layout.virtioMmioWindows(1).getFirst();
        try (GuestMemory memory = GuestMemory.anonymous(List.of(RegionSpec.ram(0, 64 * 1024)))) {
            VirtioMmioTransport transport = new VirtioMmioTransport(new VirtioRng(buffer -> { }), memory, InterruptLine.NONE);
            mmio.register(window.base(), window.size(), "virtio-mmio0", transport);
            List<VcpuExit> exits = bootExits(window);
            for (int r = 0; r < rounds; r++) {
                for (VcpuExit exit : exits) ExitHandler.handle(0, exit, io, mmio, false, VcpuExit::describe, null);
            }
            return new Warmed((long) rounds * exits.size(), io.unclaimedAccesses() + mmio.unclaimedAccesses());
        }
    }

    /** One of each access the boot makes (the 8250's set-up and output, the i8042's probe, PCI and CMOS, virtio-mmio's probe). */
    private static List<VcpuExit> bootExits(VirtioMmioWindow window) {
        int com1 = Serial16550.COM1_PORT;
        long virtio = window.base();
        return List.of(
                // The 8250: divisor latch, line and modem control, FIFO, interrupts, then a byte out.
                out(com1 + 3, 0x80), out(com1, 0x01), out(com1 + 1, 0x00), out(com1 + 3, 0x03),
                out(com1 + 2, 0x07), out(com1 + 4, 0x0B), out(com1 + 1, 0x02), out(com1 + 7, 0x55),
                in(com1 + 7, 1), in(com1 + 2, 1), in(com1 + 6, 1), in(com1 + 5, 1), out(com1, 'x'), in(com1 + 1, 1),
                // The i8042: status, its configuration read and written back, the self-test.
                in(I8042.BASE_PORT + 4, 1), out(I8042.BASE_PORT + 4, 0x20), in(I8042.BASE_PORT, 1),
                out(I8042.BASE_PORT + 4, 0x60), out(I8042.BASE_PORT, 0x45), out(I8042.BASE_PORT + 4, 0xAA), in(I8042.BASE_PORT, 1),
                // PCI configuration mechanism 1 and the CMOS clock, which no device claims here.
                out(0xCF8, 4, 0x8000_0000L), in(0xCFC, 4), in(0xCFE, 2), out(0x70, 0x0A), in(0x71, 1), out(0x80, 0),
                // virtio-mmio's probe: magic, version, device and vendor, features, status.
                mmioRead(virtio), mmioRead(virtio + 0x4), mmioRead(virtio + 0x8), mmioRead(virtio + 0xC),
                mmioWrite(virtio + 0x14, 1), mmioRead(virtio + 0x10), mmioWrite(virtio + 0x70, 0), mmioRead(virtio + 0x70),
                mmioRead(virtio + window.size())); // the next window, empty: nobody's
    }

    private static VcpuExit out(int port, int value) {
        return out(port, 1, value);
    }

    private static VcpuExit out(int port, int size, long value) {
        byte[] data = new byte[size];
        for (int i = 0; i < size; i++) data[i] = (byte) (value >>> (8 * i));
        return new VcpuExit.IoOut(port, size, 1, data);
    }

    private static VcpuExit in(int port, int size) {
        return new VcpuExit.IoIn(port, size, 1, new byte[size]);
    }

    private static VcpuExit mmioRead(long address) {
        return new VcpuExit.MmioRead(address, new byte[4]);
    }

    private static VcpuExit mmioWrite(long address, int value) {
        return new VcpuExit.MmioWrite(address, new byte[] {(byte) value, (byte) (value >>> 8), (byte) (value >>> 16), (byte) (value >>> 24)});
    }
}
