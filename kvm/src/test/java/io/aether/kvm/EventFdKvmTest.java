package io.aether.kvm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.sys.EventFd;
import io.aether.sys.Libc;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** ioeventfd and irqfd on the host's /dev/kvm, with a tiny real-mode guest. */
@Timeout(60)
class EventFdKvmTest {

    private static final long NOTIFY = 0x2_0050;

    private static void requireCapability(Kvm kvm, Capability capability) {
        boolean present = kvm.checkExtension(capability) > 0;
        if ("true".equals(System.getenv("CI"))) assertTrue(present, "CI=true but KVM lacks " + capability);
        Assumptions.assumeTrue(present, "KVM lacks " + capability);
    }

    @Test
    void aGuestWriteOfTheMatchingValueSignalsTheEventFdWithoutAnExit() {
        KvmTest.requireKvm();
        try (Kvm kvm = Kvm.open(); Vm vm = kvm.createVm(); EventFd notify = EventFd.open()) {
            requireCapability(kvm, Capability.IOEVENTFD);
            MemorySegment ram = Libc.mmap("mmap", 0x10000, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS, -1, 0);
            byte[] code = {
                (byte) 0xB8, 0x00, 0x20,                                             // mov ax, 0x2000
                (byte) 0x8E, (byte) 0xD8,                                            // mov ds, ax
                0x66, (byte) 0xC7, 0x06, 0x50, 0x00, 0x01, 0x00, 0x00, 0x00,         // mov dword [0x50], 1: matches
                0x66, (byte) 0xC7, 0x06, 0x50, 0x00, 0x01, 0x00, 0x00, 0x00,         // again
                0x66, (byte) 0xC7, 0x06, 0x50, 0x00, 0x02, 0x00, 0x00, 0x00,         // mov dword [0x50], 2: no match
                (byte) 0xF4};                                                        // hlt
            MemorySegment.copy(code, 0, ram, ValueLayout.JAVA_BYTE, 0x1000, code.length);
            vm.setUserMemoryRegion(0, 0, 0, ram);
            vm.addIoEventFd(notify.fd(), NOTIFY, 4, 1);
            try (Vcpu vcpu = vm.createVcpu(0)) {
                KvmTest.startInRealModeAt(vcpu, 0x1000);
                var write = assertInstanceOf(VcpuExit.MmioWrite.class, vcpu.run(), "the first exit is the unmatched write");
                assertEquals(NOTIFY, write.address());
                assertArrayEquals(new byte[] {2, 0, 0, 0}, write.data());
                assertEquals(2, notify.take(), "both matching writes signalled the eventfd inside KVM");
                assertInstanceOf(VcpuExit.Hlt.class, vcpu.run());
            }
            vm.removeIoEventFd(notify.fd(), NOTIFY, 4, 1);
            Libc.munmap(ram);
        }
    }

    @Test
    void aSignalOnTheIrqFdRaisesTheIoapicPinItServes() throws Exception {
        KvmTest.requireKvm();
        try (Kvm kvm = Kvm.open(); Vm vm = kvm.createVm(); EventFd trigger = EventFd.open(); EventFd resample = EventFd.open()) {
            requireCapability(kvm, Capability.IRQFD);
            vm.createIrqchip();
            int gsi = 9;
            vm.addLevelIrqFd(trigger.fd(), resample.fd(), gsi);
            assertEquals(0, ioapicIrr(vm) & (1 << gsi));
            trigger.signal();
            // KVM injects from a work queue: wait for the pin rather than assume it is instant.
            long deadline = System.nanoTime() + 10_000_000_000L;
            while ((ioapicIrr(vm) & (1 << gsi)) == 0) {
                assertTrue(System.nanoTime() < deadline, "the IOAPIC never saw GSI " + gsi + " asserted");
                Thread.sleep(5);
            }
            vm.removeIrqFd(trigger.fd(), gsi);
        }
    }

    /** struct kvm_ioapic_state: base_address (8), ioregsel (4), id (4), then irr. */
    private static int ioapicIrr(Vm vm) {
        return ByteBuffer.wrap(vm.irqchip(Vm.IRQCHIP_IOAPIC)).order(ByteOrder.LITTLE_ENDIAN).getInt(16);
    }
}
