package io.aether.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.devices.block.VirtioBlock;
import io.aether.devices.serial.Serial16550;
import io.aether.kvm.CpuidEntry;
import io.aether.kvm.Kvm;
import io.aether.memory.GuestMemory;
import io.aether.memory.RegionSpec;
import io.aether.virtio.MockDriver;
import io.aether.virtio.VirtioFeatures;
import io.aether.virtio.VirtioInterrupt;
import io.aether.vmspec.VmSpec;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The machines the builder assembles, on the host's KVM. */
@Timeout(120)
class VmBuilderTest {

    /** Waits until {@code console} holds at least {@code bytes}. */
    static void awaitOutput(ByteArrayOutputStream console, int bytes) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (console.size() < bytes) {
            assertTrue(System.nanoTime() < deadline, "the guest printed only " + console.size() + " bytes");
            Thread.sleep(5);
        }
    }

    @Test
    void theStubMachineHasItsConsoleAndItsKeyboard() {
        StubGuestTest.requireKvm();
        try (MicroVm vm = MicroVm.create(VmSpec.stub(VmSpec.StubProgram.HELLO), new ByteArrayOutputStream(), null)) {
            assertEquals(List.of("serial", "i8042"), vm.devices().devices().stream().map(Device::name).toList());
        }
    }

    @Test
    void theHostsCpuidIsAskedOnceForEveryVmOfTheProcess() {
        StubGuestTest.requireKvm();
        try (Kvm first = Kvm.open(); Kvm second = Kvm.open()) {
            List<CpuidEntry> asked = X86Arch.hostCpuid(first);
            // KVM's own answer, read here without the cache, differs only in the host CPU's APIC
            // ids (leaves 1, 0xB, 0x1F: whichever CPU ran the ioctl), which a guest's CPUID replaces.
            for (int count : new int[] {1, 2}) {
                for (int index = 0; index < count; index++) {
                    assertEquals(X86Vcpus.guestCpuid(second.supportedCpuid(), index, count, true), X86Vcpus.guestCpuid(asked, index, count, true),
                            "vCPU " + index + " of " + count + ": the guest's CPUID");
                }
            }
            assertSame(asked, X86Arch.hostCpuid(second), "the second VM reuses the answer");
        }
    }

    @Test
    void aLinuxMachineListsEveryDeviceInItsWindowAndRunsItsKernel(@TempDir Path dir) throws Exception {
        StubGuestTest.requireKvm();
        Path disk = Files.write(dir.resolve("disk.img"), new byte[1 << 20]);
        VmSpec spec = VmSpec.linux(PvhTestKernel.write(dir)).withMemory(io.aether.common.ByteSize.ofMiB(32))
                .withDisks(List.of(new VmSpec.Disk(disk, true)));
        var console = new ByteArrayOutputStream();
        try (MicroVm vm = MicroVm.create(spec, console, null)) {
            List<Device> devices = vm.devices().devices();
            assertEquals(List.of("serial", "i8042", "acpi-power", "virtio-blk0", "virtio-rng0"), devices.stream().map(Device::name).toList());
            var block = assertInstanceOf(Device.Block.class, devices.get(3));
            assertEquals(2048, block.model().capacity());
            byte[] id = new byte[4];
            vm.devices().mmio().read(0xD000_0008L, id);
            assertEquals(2, id[0], "virtio-mmio DeviceID at the first window: block");
            vm.devices().mmio().read(0xD000_1008L, id);
            assertEquals(4, id[0], "the next window: entropy");
            vm.start();
            awaitOutput(console, 3);
            vm.requestStop(new StopReason.Requested("test"));
            assertEquals(new StopReason.Requested("test"), vm.awaitStop());
            var uart = assertInstanceOf(Serial16550.Counters.class, devices.getFirst().counters());
            assertTrue(uart.bytesOut() >= 3, uart.toString());
        }
        assertTrue(console.toString().chars().allMatch(c -> c == '!'), console.toString());
    }

    /**
     * A Linux guest's vCPUs announce the TSC-deadline timer (CPUID.01H:ECX bit 24, Intel SDM Vol. 2A),
     * which KVM's in-kernel APIC runs whether or not this kernel's KVM_GET_SUPPORTED_CPUID lists it
     * (older ones, such as the nested test host's 6.1, do not): without it Linux calibrates its APIC
     * timer against the PIT at boot. The stub runs without an APIC and is not told of it.
     */
    @Test
    void aLinuxGuestIsToldOfTheTscDeadlineTimerAndTheStubIsNot(@TempDir Path dir) throws Exception {
        StubGuestTest.requireKvm();
        int tscDeadline = 1 << 24;
        try (Kvm kvm = Kvm.open()) {
            assertTrue(kvm.checkExtension(io.aether.kvm.Capability.TSC_DEADLINE_TIMER) > 0, "this host's KVM runs the TSC-deadline timer");
        }
        VmSpec linux = VmSpec.linux(PvhTestKernel.write(dir)).withMemory(io.aether.common.ByteSize.ofMiB(32)).withVcpus(2);
        try (MicroVm vm = MicroVm.create(linux, new ByteArrayOutputStream(), null)) {
            for (List<CpuidEntry> cpuid : vm.cpuids()) assertEquals(tscDeadline, leafOne(cpuid).ecx() & tscDeadline);
        }
        try (MicroVm vm = MicroVm.create(VmSpec.stub(VmSpec.StubProgram.HELLO), new ByteArrayOutputStream(), null)) {
            assertEquals(0, leafOne(vm.cpuids().getFirst()).ecx() & tscDeadline);
        }
    }

    private static CpuidEntry leafOne(List<CpuidEntry> cpuid) {
        return cpuid.stream().filter(e -> e.function() == 1).findFirst().orElseThrow();
    }

    @Test
    void aDisksRateLimitFromTheSpecHoldsItsRequestsUntilTheTimerRetries(@TempDir Path dir) throws Exception {
        StubGuestTest.requireKvm();
        Path disk = Files.write(dir.resolve("disk.img"), new byte[1 << 20]);
        VmSpec spec = VmSpec.linux(PvhTestKernel.write(dir)).withMemory(io.aether.common.ByteSize.ofMiB(32))
                .withDisks(List.of(new VmSpec.Disk(disk, true, Optional.of(new VmSpec.RateLimit(0, 5, 0, 1)))));
        try (MicroVm vm = MicroVm.create(spec, new ByteArrayOutputStream(), null);
             GuestMemory memory = GuestMemory.anonymous(List.of(RegionSpec.ram(0, 1 << 20)))) {
            // The device model alone, driven by a mock driver: the VM is never started.
            VirtioBlock block = assertInstanceOf(Device.Block.class, vm.devices().devices().get(3)).model();
            MockDriver driver = new MockDriver(memory, 16, 0x1000, 0x40000);
            block.activate(memory, VirtioFeatures.TRANSPORT, List.of(driver.queue(16, VirtioFeatures.TRANSPORT)), new VirtioInterrupt() {
                @Override
                public void usedBuffers(int queue) {
                }

                @Override
                public void configChanged() {
                }
            });
            for (int i = 0; i < 2; i++) {
                byte[] header = new byte[16]; // type 0 (IN), sector 0
                driver.add(driver.readable(header), driver.writable(512), driver.writable(1));
            }
            long start = System.nanoTime();
            block.queueNotify(0);
            assertEquals(1, driver.takeUsed().size(), "a bucket of one request");
            assertEquals(1, block.counters().throttled());
            List<MockDriver.Used> later = List.of();
            while (later.isEmpty() && System.nanoTime() - start < 10_000_000_000L) {
                Thread.sleep(10);
                later = driver.takeUsed();
            }
            assertEquals(1, later.size(), "the VM's timer served the queue again");
            assertTrue(System.nanoTime() - start >= 190_000_000L, "not before the next token, 1/5 s later");
            assertEquals(2, block.counters().reads());
        }
    }

    private static long openFiles() throws Exception {
        try (var fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.count();
        }
    }

    @Test
    void aMachineThatCannotBeBuiltLeavesNothingOpen(@TempDir Path dir) throws Exception {
        StubGuestTest.requireKvm();
        Path notAKernel = Files.writeString(dir.resolve("vmlinuz"), "not a kernel");
        Path disk = Files.write(dir.resolve("disk.img"), new byte[4096]);
        VmSpec spec = VmSpec.linux(notAKernel).withDisks(List.of(new VmSpec.Disk(disk, false)));
        assertThrows(VmCreationException.class, () -> MicroVm.create(spec, new ByteArrayOutputStream(), null).close());
        long before = openFiles();
        for (int i = 0; i < 3; i++) {
            var e = assertThrows(VmCreationException.class, () -> MicroVm.create(spec, new ByteArrayOutputStream(), null).close());
            assertTrue(e.getMessage().contains("vmlinuz"), e.getMessage());
        }
        assertEquals(before, openFiles(), "KVM, VM, vCPU and disk descriptors all closed");
    }

    /** Builds {@code spec} with its virtio devices built beside its vCPUs, as an arm64 boot's are. */
    private static MicroVm createWithLateVirtio(VmSpec spec, ByteArrayOutputStream console) {
        System.setProperty(VmBuilder.LATE_VIRTIO_PROPERTY, "on");
        try {
            return MicroVm.create(spec, console, null);
        } finally {
            System.clearProperty(VmBuilder.LATE_VIRTIO_PROPERTY);
        }
    }

    @Test
    void virtioDevicesBuiltBesideTheVcpusAreListedInTheirWindowsAndAnswerThere(@TempDir Path dir) throws Exception {
        StubGuestTest.requireKvm();
        Path disk = Files.write(dir.resolve("disk.img"), new byte[1 << 20]);
        VmSpec spec = VmSpec.linux(PvhTestKernel.write(dir)).withMemory(io.aether.common.ByteSize.ofMiB(32))
                .withDisks(List.of(new VmSpec.Disk(disk, true)));
        var console = new ByteArrayOutputStream();
        try (MicroVm vm = createWithLateVirtio(spec, console)) {
            vm.start();
            byte[] id = new byte[4];
            vm.devices().mmio().read(0xD000_1008L, id);
            assertEquals(4, id[0], "virtio-mmio DeviceID at the second window: entropy");
            vm.devices().mmio().read(0xD000_0008L, id);
            assertEquals(2, id[0], "the first window: block");
            assertEquals(List.of("serial", "i8042", "acpi-power", "virtio-blk0", "virtio-rng0"),
                    vm.devices().devices().stream().map(Device::name).toList());
            awaitOutput(console, 3);
            vm.requestStop(new StopReason.Requested("test"));
            assertEquals(new StopReason.Requested("test"), vm.awaitStop());
        }
    }

    @Test
    void aVirtioDeviceThatFailsToBuildBesideTheVcpusStopsTheVmWithItsReason(@TempDir Path dir) throws Exception {
        StubGuestTest.requireKvm();
        // A NIC whose MAC nobody chose: its device cannot be built, which only the build finds.
        VmSpec spec = VmSpec.linux(PvhTestKernel.write(dir)).withMemory(io.aether.common.ByteSize.ofMiB(32))
                .withNics(List.of(new VmSpec.Nic("tap-none0", Optional.empty())));
        try (MicroVm vm = createWithLateVirtio(spec, new ByteArrayOutputStream())) {
            vm.start();
            assertEquals(new StopReason.HostError("nics[0].mac: not chosen (VmSpec.withMacsFor chooses one)"), vm.awaitStop());
            assertEquals(List.of("serial", "i8042", "acpi-power"), vm.devices().devices().stream().map(Device::name).toList());
        }
    }
}
