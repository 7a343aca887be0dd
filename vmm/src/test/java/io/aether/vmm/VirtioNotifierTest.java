package io.aether.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.devices.rng.VirtioRng;
import io.aether.kvm.Capability;
import io.aether.kvm.Kvm;
import io.aether.kvm.Vcpu;
import io.aether.kvm.VcpuExit;
import io.aether.kvm.Vm;
import io.aether.memory.GuestMemory;
import io.aether.memory.MemoryRegion;
import io.aether.memory.RegionSpec;
import io.aether.virtio.VirtioMmioTransport;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A guest's QueueNotify write reaches the device through ioeventfd and the device thread, without
 * an exit, and the device's interrupt reaches the IOAPIC through irqfd: an entropy device, set up
 * by writing its registers as a driver would, fills the guest's one buffer.
 */
@Timeout(60)
class VirtioNotifierTest {

    /** Below 1 MiB, so that a real-mode guest reaches it: QueueNotify at 0x20050. */
    private static final long WINDOW = 0x2_0000;
    private static final int GSI = 7;
    private static final long DESC = 0x3000;
    private static final long AVAIL = 0x4000;
    private static final long USED = 0x5000;
    private static final long BUFFER = 0x6000;

    @Test
    void aGuestNotifyWakesTheDeviceThreadAndItsInterruptReachesTheIoapic() throws Exception {
        StubGuestTest.requireKvm();
        try (Kvm kvm = Kvm.open(); Vm vm = kvm.createVm();
             GuestMemory memory = GuestMemory.anonymous(List.of(RegionSpec.ram(0, 0x10000)))) {
            boolean present = kvm.checkExtension(Capability.IOEVENTFD) > 0 && kvm.checkExtension(Capability.IRQFD) > 0;
            if ("true".equals(System.getenv("CI"))) assertTrue(present, "CI=true but KVM lacks ioeventfd or irqfd");
            Assumptions.assumeTrue(present, "KVM lacks ioeventfd or irqfd");
            for (MemoryRegion r : memory.regions()) vm.setUserMemoryRegion(r.slot(), 0, r.guestBase(), r.host());
            vm.createIrqchip();
            vm.createPit2(true); // Vm.state() reads the PIT too
            memory.write(0x1000, new byte[] {
                (byte) 0xB8, 0x00, 0x20,                                     // mov ax, 0x2000
                (byte) 0x8E, (byte) 0xD8,                                    // mov ds, ax
                0x66, (byte) 0xC7, 0x06, 0x50, 0x00, 0x00, 0x00, 0x00, 0x00, // mov dword [0x50], 0: QueueNotify, queue 0
                (byte) 0xE6, (byte) 0x80,                                    // out 0x80, al: the next exit
                (byte) 0xF4});                                               // hlt (in the kernel's irqchip: no exit)

            IrqFdLine irq = IrqFdLine.register(vm, GSI);
            VirtioMmioTransport transport = new VirtioMmioTransport(new VirtioRng(buffer -> java.util.Arrays.fill(buffer, (byte) 0x5A)), memory, irq);
            // One 16-byte device-writable buffer in queue 0 (virtio 1.2, 2.7: split virtqueue layout).
            ByteBuffer desc = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(BUFFER).putInt(16).putShort((short) 2).putShort((short) 0);
            memory.write(DESC, desc.array());
            memory.write(AVAIL, ByteBuffer.allocate(6).order(ByteOrder.LITTLE_ENDIAN).putShort((short) 0).putShort((short) 1).putShort((short) 0).array());
            driverHandshake(transport);

            try (VirtioNotifier notifier = VirtioNotifier.register("virtio-rng0", vm, WINDOW, transport, irq);
                 Vcpu vcpu = vm.createVcpu(0)) {
                notifier.start();
                X86Vcpus.loadRealModeEntry(vcpu, 0x1000);
                var out = assertInstanceOf(VcpuExit.IoOut.class, vcpu.run(), "the notify did not exit to the monitor");
                assertEquals(0x80, out.port());
                long deadline = System.nanoTime() + 10_000_000_000L;
                while (transport.counters().interrupts() == 0 || (ioapicIrr(vm) & (1 << GSI)) == 0) {
                    assertTrue(System.nanoTime() < deadline, "no interrupt: " + transport.counters() + ", IRR " + Integer.toHexString(ioapicIrr(vm)));
                    Thread.sleep(5);
                }
                assertEquals(1, transport.counters().notifications());
                assertEquals((byte) 0x5A, memory.read(BUFFER, 16)[15], "the device wrote the guest's buffer");
                assertEquals(1, memory.read(USED + 2, 2)[0], "one buffer used");
            }
        }
    }

    /** Status ACKNOWLEDGE, DRIVER, VERSION_1, FEATURES_OK, queue 0 of 8 at DESC/AVAIL/USED, DRIVER_OK (virtio-mmio register offsets). */
    private static void driverHandshake(VirtioMmioTransport t) {
        write(t, 0x070, 1);
        write(t, 0x070, 3);
        write(t, 0x024, 1);
        write(t, 0x020, 1);          // feature bit 32: VIRTIO_F_VERSION_1
        write(t, 0x070, 11);
        write(t, 0x030, 0);
        write(t, 0x038, 8);
        write(t, 0x080, (int) DESC);
        write(t, 0x090, (int) AVAIL);
        write(t, 0x0a0, (int) USED);
        write(t, 0x044, 1);
        write(t, 0x070, 15);
        assertEquals(15, t.status(), "the device accepted the driver");
    }

    private static void write(VirtioMmioTransport t, int offset, int value) {
        t.write(offset, ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(value).array());
    }

    /** struct kvm_ioapic_state: base_address (8), ioregsel (4), id (4), then irr. */
    private static int ioapicIrr(Vm vm) {
        return ByteBuffer.wrap(vm.state().ioapic()).order(ByteOrder.LITTLE_ENDIAN).getInt(16);
    }
}
