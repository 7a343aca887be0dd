package io.aether.vmm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.arch.fdt.Dtc;
import io.aether.common.ByteSize;
import io.aether.devices.PowerEvents;
import io.aether.devices.serial.Serial16550;
import io.aether.kvm.VcpuExit;
import io.aether.memory.GuestMemory;
import io.aether.memory.RegionSpec;
import io.aether.vmspec.VmSpec;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The aarch64 side of the arch-neutral surface, without arm64 KVM: layout, console, kernel and device tree placement, exit decoding. */
@Timeout(60)
class Arm64ArchTest {

    private final Arm64Arch arch = new Arm64Arch();

    /** A 64-byte arm64 Image header (booting.rst): text_offset 0, image_size 64 KiB, little-endian, 4 KiB pages. */
    static byte[] image() {
        ByteBuffer b = ByteBuffer.allocate(4096).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(16, 0x1_0000);
        // flags: bit 0 little-endian (0), bits 1-2 page size 01 = 4 KiB.
        b.putLong(24, 0b010);
        b.put(56, (byte) 'A').put(57, (byte) 'R').put(58, (byte) 'M').put(59, (byte) 0x64);
        return b.array();
    }

    @Test
    void hostArchitecturesPickTheirBackendAndOthersAreRefusedByName() {
        assertInstanceOf(Arm64Arch.class, Arch.of("aarch64", null));
        var e = assertThrows(VmCreationException.class, () -> Arch.of("riscv64", null));
        assertTrue(e.getMessage().contains("riscv64"), e.getMessage());
    }

    @Test
    void ramStartsAtOneGibAndVirtioWindowsSitOnSpisFromSixteen() {
        assertEquals(List.of(RegionSpec.ram(0x4000_0000L, 64L << 20)), arch.memoryRegions(VmSpec.stub(VmSpec.StubProgram.HELLO).boot(), 64L << 20));
        var windows = arch.virtioWindows(2);
        assertEquals(0x0A00_0000L, windows.get(0).base());
        assertEquals(0x0A00_1000L, windows.get(1).base());
        assertEquals(17, windows.get(1).gsi());
    }

    @Test
    void theConsoleIsA16550OnMmioAndNoPortDeviceExists() {
        var out = new ByteArrayOutputStream();
        try (DeviceManager devices = new DeviceManager()) {
            arch.attachPlatformDevices(devices, null, line -> new Device.Uart("serial", new Serial16550(out, line)),
                    PowerEvents.NONE, false);
            devices.mmio().write(0x0900_0000L, new byte[] {'A'});
            assertEquals("A", out.toString());
            assertEquals(List.of("serial"), devices.devices().stream().map(Device::name).toList());
        }
    }

    @Test
    void theDeviceTreeFollowsTheInitrdAndNamesItWhereTheLoaderPutIt(@TempDir Path dir) throws Exception {
        Path kernel = Files.write(dir.resolve("Image"), image());
        Path initrd = Files.write(dir.resolve("initrd"), new byte[100]);
        VmSpec spec = VmSpec.linux(kernel).withMemory(ByteSize.ofMiB(32))
                .withBoot(new VmSpec.Boot.Linux(kernel, Optional.of(initrd), "console=ttyS0 marker"));
        try (GuestMemory memory = GuestMemory.anonymous(arch.memoryRegions(spec.boot(), spec.memory().bytes()))) {
            arch.loadKernel(memory, (VmSpec.Boot.Linux) spec.boot());
            long dtb = arch.placeDeviceTree(memory, spec, 1, List.of(0x8000_0000L, 0x8000_0001L));
            // Kernel at RAM's 2 MiB-aligned base (text_offset 0) for 64 KiB; the initrd on the next 4 KiB page,
            // 0x4001_0000..0x4001_0064; the device tree on the 4 KiB page after that.
            assertEquals(0x4001_1000L, dtb);
            int size = ByteBuffer.wrap(memory.read(dtb, 8)).getInt(4);
            String dts = Dtc.decompile(memory.read(dtb, size), dir).source();
            assertTrue(dts.contains("bootargs = \"console=ttyS0 marker\";"), dts);
            assertTrue(dts.contains("linux,initrd-start = <0x00 0x40010000>;"), dts);
            assertTrue(dts.contains("linux,initrd-end = <0x00 0x40010064>;"), dts);
            assertTrue(dts.contains("reg = <0x00 0x40000000 0x00 0x2000000>;"), "32 MiB of RAM from 1 GiB: " + dts);
            assertTrue(dts.contains("cpu@1 {"), dts);
            assertTrue(dts.contains("virtio_mmio@a000000 {"), dts);
        }
    }

    @Test
    void anX86KernelIsRefusedInOneLineNamingTheFile(@TempDir Path dir) throws Exception {
        byte[] bzImage = new byte[4096];
        // The x86 boot protocol's "HdrS" at 0x202: a bzImage, not an arm64 Image.
        bzImage[0x202] = 'H';
        bzImage[0x203] = 'd';
        bzImage[0x204] = 'r';
        bzImage[0x205] = 'S';
        Path kernel = Files.write(dir.resolve("bzImage"), bzImage);
        try (GuestMemory memory = GuestMemory.anonymous(arch.memoryRegions(VmSpec.linux(kernel).boot(), 32L << 20))) {
            var e = assertThrows(VmCreationException.class, () -> arch.loadKernel(memory, (VmSpec.Boot.Linux) VmSpec.linux(kernel).boot()));
            assertTrue(e.getMessage().contains(kernel.toString()) && e.getMessage().contains("not an arm64 Image"), e.getMessage());
            assertEquals(1, e.getMessage().lines().count(), e.getMessage());
        }
    }

    @Test
    void theStubIsWrittenAtTheStartOfRamAndTheX86CrashAndKeyboardProgramsAreRefusedByName() {
        try (GuestMemory memory = GuestMemory.anonymous(arch.memoryRegions(VmSpec.stub(VmSpec.StubProgram.CRASH).boot(), 16L << 20))) {
            var e = assertThrows(VmCreationException.class, () -> arch.loadStub(memory, VmSpec.StubProgram.CRASH, null));
            assertEquals("--stub=crash: the crash (a triple fault) and keyboard (the i8042) programs are x86_64's; "
                    + "arm64 has hello, echo, count and hypercall", e.getMessage());
            var k = assertThrows(VmCreationException.class, () -> arch.loadStub(memory, VmSpec.StubProgram.KEYBOARD, null));
            assertTrue(k.getMessage().startsWith("--stub=keyboard: "), k.getMessage());
            assertEquals(0, memory.read(0x4000_0000L, 4)[0], "nothing written on refusal");
        }
    }

    @Test
    void snapshotsAreRefusedInOneLineNamingTheArchitecture() {
        var e = assertThrows(UnsupportedOperationException.class, () -> arch.requireSnapshots("snapshot"));
        assertEquals("cannot snapshot: snapshots are implemented for x86_64 guests only, not aarch64", e.getMessage());
        assertThrows(UnsupportedOperationException.class, () -> arch.restoreVcpu(null, null));
        assertEquals(List.of(), arch.cpuids());
    }

    @Test
    void debugHypercallAndUndecodableAbortExitsAreCountedUnderTheirOwnReasons() {
        assertEquals("debug", ExitReason.of(new VcpuExit.Debug(new long[] {0, 0, 0, 0})).label());
        assertEquals("hypercall", ExitReason.of(new VcpuExit.Hypercall(0x8600_AE00L, 0)).label());
        assertEquals("arm_nisv", ExitReason.of(new VcpuExit.ArmNisv(0, 0x900_0000L)).label());
    }

    /** SMCCC (DEN 0028): status in x0, SUCCESS 0 and NOT_SUPPORTED -1 (all ones); results from x1. */
    @Test
    void theMonitorsCallAnswersItsArgumentPlusOneAndAnyOtherForwardedCallIsNotSupported() {
        assertArrayEquals(new long[] {0, 'B'}, Arm64Arch.answer(0x8600_AE00L, 'A'));
        assertArrayEquals(new long[] {0, 0}, Arm64Arch.answer(0x8600_AE00L, -1L), "x1 wraps as a 64-bit register does");
        assertArrayEquals(new long[] {0xFFFF_FFFF_FFFF_FFFFL}, Arm64Arch.answer(0x8600_AE01L, 'A'));
        // Sign-extended, the 32-bit id is not the one KVM reports (its nr is the zero-extended w0).
        assertArrayEquals(new long[] {-1L}, Arm64Arch.answer(0xFFFF_FFFF_8600_AE00L, 'A'));
        var action = ExitHandler.handle(0, new VcpuExit.Hypercall(0x8600_AE00L, 0), new Bus("io"), new Bus("mmio"), false, arch, null);
        assertEquals(new ExitHandler.Action.AnswerHypercall(new VcpuExit.Hypercall(0x8600_AE00L, 0)), action);
    }

    @Test
    void aSingleStepShowsEsrEl2DecodedAndTheTraceGoesOn() {
        var sink = new ByteArrayOutputStream();
        // EC 0x32 (software step, lower EL) << 26 | IL | ISV (bit 24) | IFSC 0x22 (debug exception) = 0xcb000022.
        var step = new VcpuExit.Debug(new long[] {0xCB00_0022L, 0x4008_0000L, 0, 0});
        var action = ExitHandler.handle(0, step, new Bus("io"), new Bus("mmio"), false, arch, new PrintStream(sink, true));
        assertInstanceOf(ExitHandler.Action.Resume.class, action);
        assertEquals("[vcpu 0] DEBUG ESR_EL2=0xcb000022 EC=0x32 SOFTSTP_LOW (software step from a lower EL) IL=32: ISV=1 EX=0"
                + " IFSC=0x22 (debug exception) far=0x40080000", sink.toString().strip());
        // BRK #7: EC 0x3c << 26 | IL | comment 7 = 0xf2000007.
        String brk = arch.describe(new VcpuExit.Debug(new long[] {0xF200_0007L, 0x4000_0010L, 0, 0}));
        assertTrue(brk.startsWith("DEBUG ESR_EL2=0xf2000007 EC=0x3c BRK64") && brk.endsWith("comment=0x7 far=0x40000010"), brk);
    }

    @Test
    void anAccessKvmCannotDecodeStopsTheGuestWithItsSyndromeByName() {
        // KVM's esr_iss keeps CM, WnR and DFSC only: WnR (bit 6) | DFSC 0x06 (translation fault, level 2) = 0x46.
        var stop = assertInstanceOf(ExitHandler.Action.Stop.class,
                ExitHandler.handle(1, new VcpuExit.ArmNisv(0x46, 0x0A00_0100L), new Bus("io"), new Bus("mmio"), false, arch, null));
        String message = stop.reason().message();
        assertTrue(message.startsWith("guest crashed on vCPU 1: an access KVM cannot decode, ARM_NISV ESR_EL2=0x92000046 EC=0x24"), message);
        assertTrue(message.contains("ISV=0 WnR=write") && message.contains("DFSC=0x06") && message.endsWith("ipa=0xa000100"), message);
        assertEquals(3, stop.reason().exitStatus());
    }
}
