package io.aether.kvm;

import static io.aether.kvm.Arm64Test.IOC_READ;
import static io.aether.kvm.Arm64Test.IOC_WRITE;
import static io.aether.kvm.Arm64Test.ioc;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.snapshot.Section;
import io.aether.snapshot.SnapshotException;
import io.aether.snapshot.StateFile;
import io.aether.snapshot.StateWriter;
import io.aether.sys.Libc;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The x86_64 vCPU and VM state: ioctl numbers against the {@code _IOC} formula with the struct
 * sizes of arch/x86/include/uapi/asm/kvm.h, a round trip through the host's KVM into a fresh VM,
 * and the state file encoding with its refusals.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class X86StateTest {

    private static final long TSC = 1L << 40;
    private static final long CLOCK = 10_000_000_000L;
    private static final int MP_STATE_HALTED = 3;
    private static final boolean PVM = java.nio.file.Files.isDirectory(java.nio.file.Path.of("/sys/module/kvm_pvm"));

    @Test
    void ioctlNumbersFollowTheEncodingWithTheHeadersStructSizes() {
        assertEquals(ioc(IOC_READ, 0xA4, 4096), Ioctls.KVM_GET_XSAVE);
        assertEquals(ioc(IOC_WRITE, 0xA5, 4096), Ioctls.KVM_SET_XSAVE);
        // struct kvm_xcrs: nr_xcrs, flags, 16 x {xcr, reserved, value}, 16 x u64 padding
        assertEquals(ioc(IOC_READ, 0xA6, 4 + 4 + 16 * 16 + 16 * 8), Ioctls.KVM_GET_XCRS);
        assertEquals(ioc(IOC_WRITE, 0xA7, 392), Ioctls.KVM_SET_XCRS);
        assertEquals(ioc(IOC_READ, 0x9F, 64), Ioctls.KVM_GET_VCPU_EVENTS);
        assertEquals(ioc(IOC_WRITE, 0xA0, 64), Ioctls.KVM_SET_VCPU_EVENTS);
        // struct kvm_debugregs: db[4], dr6, dr7, flags, reserved[9]
        assertEquals(ioc(IOC_READ, 0xA1, 8 * (4 + 3 + 9)), Ioctls.KVM_GET_DEBUGREGS);
        assertEquals(ioc(IOC_WRITE, 0xA2, 128), Ioctls.KVM_SET_DEBUGREGS);
        // struct kvm_irqchip: chip_id, pad, a 512-byte union; KVM_SET_IRQCHIP is _IOR in the header
        assertEquals(ioc(IOC_READ | IOC_WRITE, 0x62, 4 + 4 + 512), Ioctls.KVM_GET_IRQCHIP);
        assertEquals(ioc(IOC_READ, 0x63, 520), Ioctls.KVM_SET_IRQCHIP);
        // struct kvm_pit_state2: 3 x 24-byte channels, flags, reserved[9]
        assertEquals(ioc(IOC_READ, 0x9F, 3 * 24 + 4 + 9 * 4), Ioctls.KVM_GET_PIT2);
        assertEquals(ioc(IOC_WRITE, 0xA0, 112), Ioctls.KVM_SET_PIT2);
        assertEquals(ioc(IOC_READ, 0x7C, 48), Ioctls.KVM_GET_CLOCK);
        assertEquals(ioc(IOC_WRITE, 0x7B, 48), Ioctls.KVM_SET_CLOCK);
        assertEquals(ioc(IOC_READ | IOC_WRITE, 0x02, 4), Ioctls.KVM_GET_MSR_INDEX_LIST);
        assertEquals(ioc(IOC_READ | IOC_WRITE, 0x88, 8), Ioctls.KVM_GET_MSRS);
        assertEquals(ioc(IOC_READ, 0x8E, 1024), Ioctls.KVM_GET_LAPIC);
        assertEquals(ioc(IOC_READ, 0x98, 4), Ioctls.KVM_GET_MP_STATE);
        assertEquals(ioc(IOC_WRITE, 0x99, 4), Ioctls.KVM_SET_MP_STATE);
    }

    /** A VM with the irqchip and PIT and vCPU 0, the way the monitor makes one. */
    private record Machine(Vm vm, Vcpu vcpu) implements AutoCloseable {
        static Machine create(Kvm kvm) {
            Vm vm = kvm.createVm();
            vm.setTssAddress(0xFFFB_D000L);
            vm.createIrqchip();
            vm.createPit2(true);
            return new Machine(vm, vm.createVcpu(0));
        }

        @Override
        public void close() {
            vcpu.close();
            vm.close();
        }
    }

    private static byte[] withU32(byte[] b, int offset, int value) {
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(offset, value);
        return b;
    }

    private static byte[] withU64(byte[] b, int offset, long value) {
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(offset, value);
        return b;
    }

    private static long u64(byte[] b, int offset) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong(offset);
    }

    /** Puts values into the vCPU and the VM that no fresh one has. */
    private static List<Integer> setDistinctiveState(Kvm kvm, Machine m) {
        Vcpu vcpu = m.vcpu();
        vcpu.setRegs(new Regs(0x1111, 0x2222, 0x3333, 0x4444, 0x5555, 0x6666, 0x7000, 0x8000, 8, 9, 10, 11, 12, 13, 14, 15,
                0xFFF0, 0x202));
        Sregs s = vcpu.sregs();
        Segment ds = new Segment(0x12340, 0xFFFF, 0x1234, 3, true, 0, false, true, false, false, false, false);
        vcpu.setSregs(new Sregs(s.cs(), ds, s.es(), s.fs(), s.gs(), s.ss(), s.tr(), s.ldt(), new DescriptorTable(0x5000, 0x27),
                new DescriptorTable(0x6000, 0x3FF), s.cr0(), 0xDEAD_B000L, 0x9000, s.cr4(), s.cr8(), s.efer(), s.apicBase()));
        // the legacy area of the XSAVE layout (SDM vol. 1, 10.5.1 and 13.4): FCW at 0, MXCSR at
        // 24, XMM0 at 160; XSTATE_BV at 512 says x87 and SSE state are held, not in their init state
        byte[] xsave = vcpu.xsave();
        xsave[0] = 0x72;
        xsave[1] = 0x03;
        withU32(xsave, 24, 0x1FC0);
        withU64(xsave, 160, 0x0123_4567_89AB_CDEFL);
        xsave[512] |= 3;
        vcpu.setXsave(xsave);

        List<Integer> msrs = VcpuState.savedMsrs(kvm.msrIndexList());
        List<MsrEntry> values = new ArrayList<>();
        for (MsrEntry e : vcpu.msrs(msrs)) {
            long value = switch (e.index()) {
                case 0x10 -> TSC;
                case 0x174 -> 0x10;
                case 0x175 -> 0xFFFF_8000_0000_1000L;
                case 0x176 -> 0xFFFF_8000_0000_2000L;
                case 0x2FF -> 0xC06; // MTRRs on, write-back default
                case 0x277 -> 0x0007_0106_0007_0106L; // PAT: types WB, WT, UC-, UC, all valid
                case 0xC000_0081 -> 0x0023_0010_0000_0000L;
                case 0xC000_0082 -> 0xFFFF_FFFF_8100_0000L;
                case 0xC000_0083 -> 0xFFFF_FFFF_8100_1000L;
                case 0xC000_0084 -> 0x4_7700;
                case 0xC000_0102 -> 0xFFFF_8880_0000_0000L;
                default -> e.data();
            };
            values.add(new MsrEntry(e.index(), value));
        }
        vcpu.setMsrs(values);

        byte[] lapic = vcpu.lapic();
        lapic[0x80] = 0x30; // TPR
        vcpu.setLapic(lapic);
        byte[] events = vcpu.vcpuEvents();
        events[14] = 1; // nmi.masked
        vcpu.setVcpuEvents(events);
        byte[] dr = new byte[128];
        for (int i = 0; i < 4; i++) withU64(dr, i * 8, 0x1000L * (i + 1));
        withU64(dr, 32, 0xFFFF_0FF0L); // DR6 at its reset value
        withU64(dr, 40, 0x400); // DR7: reserved bit 10 set, no breakpoint enabled
        vcpu.setDebugRegs(dr);

        Vm vm = m.vm();
        // first, so that the PIT, silenced by HPET legacy mode, raises no IRQ 0 after the PIC is set
        byte[] pit = vm.pit();
        withU32(pit, 0, 0x1234); // channels[0].count
        pit[12] = 3; // rw_mode
        pit[13] = 2; // mode
        withU32(pit, 72, 1); // flags: KVM_PIT_FLAGS_HPET_LEGACY
        vm.setPit(pit);
        byte[] master = vm.irqchip(Vm.IRQCHIP_PIC_MASTER);
        master[2] = (byte) 0xA5; // kvm_pic_state.imr
        vm.setIrqchip(Vm.IRQCHIP_PIC_MASTER, master);
        byte[] ioapic = vm.irqchip(Vm.IRQCHIP_IOAPIC);
        withU64(ioapic, 24 + 3 * 8, 0x1_0031L); // redirtbl[3]: masked, vector 0x31
        vm.setIrqchip(Vm.IRQCHIP_IOAPIC, ioapic);
        vm.setClock(CLOCK);
        vcpu.setMpState(MP_STATE_HALTED);
        return msrs;
    }

    @Test
    void stateReadFromOneVmLoadsIntoAFreshOneAndReadsBackTheSame() throws Exception {
        KvmTest.requireKvm();
        try (Kvm kvm = Kvm.open(); Machine first = Machine.create(kvm); Machine second = Machine.create(kvm)) {
            kvm.requireStateCapabilities();
            List<Integer> msrs = setDistinctiveState(kvm, first);
            VcpuState saved = first.vcpu().state(msrs);
            VmState savedVm = first.vm().state();

            assertEquals(0xDEAD_B000L, saved.sregs().cr2());
            assertEquals(0x1234, saved.sregs().ds().selector());
            assertEquals(0x5555, saved.regs().rsi());
            assertEquals(0x0372, saved.xsave()[0] & 0xFF | (saved.xsave()[1] & 0xFF) << 8);
            assertEquals(0x1FC0, ByteBuffer.wrap(saved.xsave()).order(ByteOrder.LITTLE_ENDIAN).getInt(24));
            assertEquals(0x0123_4567_89AB_CDEFL, u64(saved.xsave(), 160));
            assertEquals(0x30, saved.lapic()[0x80]);
            assertEquals(MP_STATE_HALTED, saved.mpState());
            assertEquals(0xC06, saved.msrs().stream().filter(e -> e.index() == 0x2FF).findFirst().orElseThrow().data());
            long tsc = saved.msrs().stream().filter(e -> e.index() == 0x10).findFirst().orElseThrow().data();
            if (PVM) {
                // PVM runs the guest on the host's TSC: a write of IA32_TSC is accepted and has no effect
                assertTrue(tsc > TSC + 50_000_000_000L, "TSC " + tsc);
            } else {
                assertTrue(tsc >= TSC && tsc - TSC < 50_000_000_000L, "TSC " + tsc);
            }
            assertEquals(1, saved.vcpuEvents()[14]);
            assertEquals(0x3000, u64(saved.debugRegs(), 16));
            assertEquals((byte) 0xA5, savedVm.picMaster()[2]);
            assertEquals(0x1_0031L, u64(savedVm.ioapic(), 48));
            assertTrue(savedVm.clock() >= CLOCK && savedVm.clock() < CLOCK + 5_000_000_000L, "clock " + savedVm.clock());

            second.vm().restore(savedVm);
            second.vcpu().restore(saved);
            VcpuState restored = second.vcpu().state(msrs);
            VmState restoredVm = second.vm().state();

            assertEquals(saved.regs(), restored.regs());
            assertEquals(saved.sregs(), restored.sregs());
            assertArrayEquals(saved.xsave(), restored.xsave());
            assertArrayEquals(saved.xcrs(), restored.xcrs());
            assertArrayEquals(saved.lapic(), restored.lapic());
            assertArrayEquals(saved.vcpuEvents(), restored.vcpuEvents());
            assertArrayEquals(saved.debugRegs(), restored.debugRegs());
            assertEquals(saved.mpState(), restored.mpState());
            for (int i = 0; i < msrs.size(); i++) {
                MsrEntry was = saved.msrs().get(i);
                MsrEntry is = restored.msrs().get(i);
                assertEquals(was.index(), is.index());
                if (was.index() == 0x10) {
                    // the TSC runs on: later, but by less than 5 s at 10 GHz
                    assertTrue(is.data() >= was.data() && is.data() - was.data() < 50_000_000_000L, "TSC " + was + " -> " + is);
                } else {
                    assertEquals(was, is);
                }
            }
            assertArrayEquals(savedVm.picMaster(), restoredVm.picMaster());
            assertArrayEquals(savedVm.picSlave(), restoredVm.picSlave());
            assertArrayEquals(savedVm.ioapic(), restoredVm.ioapic());
            for (int channel = 0; channel < 3; channel++) {
                // count_load_time (bytes 16..23 of each channel) is the host's time of the load
                int at = channel * 24;
                assertArrayEquals(Arrays.copyOfRange(savedVm.pit(), at, at + 16), Arrays.copyOfRange(restoredVm.pit(), at, at + 16),
                        "PIT channel " + channel);
            }
            assertArrayEquals(Arrays.copyOfRange(savedVm.pit(), 72, 112), Arrays.copyOfRange(restoredVm.pit(), 72, 112));
            assertTrue(restoredVm.clock() >= savedVm.clock() && restoredVm.clock() < savedVm.clock() + 5_000_000_000L,
                    "clock " + savedVm.clock() + " -> " + restoredVm.clock());
        }
    }

    private static byte[] pattern(int length, int seed) {
        byte[] b = new byte[length];
        for (int i = 0; i < b.length; i++) b[i] = (byte) (i * 31 + seed);
        return b;
    }

    private static VcpuState sampleVcpu() {
        Segment cs = new Segment(0xFFFF_0000L, 0xFFFF, 0xF000, 11, true, 0, false, true, false, false, false, false);
        Segment data = new Segment(0, 0xFFFF_FFFF, 0x18, 3, true, 3, true, true, false, true, true, false);
        Segment unusable = new Segment(0, 0, 0, 0, false, 0, false, false, false, false, false, true);
        Sregs sregs = new Sregs(cs, data, data, unusable, data, data, unusable, unusable, new DescriptorTable(0x1000, 0x27),
                new DescriptorTable(0x2000, 0xFFFF), 0x8005_0033L, 0xDEAD_B000L, 0x9000, 0x20, 3, 0x500, 0xFEE0_0900L);
        Regs regs = new Regs(-1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 0xFFFF_FFFF_8100_0000L, 0x246);
        return new VcpuState(regs, sregs, pattern(4096, 1), pattern(392, 2),
                List.of(new MsrEntry(0x10, 123), new MsrEntry(0xC000_0082, 0xFFFF_FFFF_8100_0000L)),
                pattern(1024, 3), pattern(64, 4), 3, pattern(128, 5));
    }

    private static VmState sampleVm() {
        return new VmState(pattern(512, 6), pattern(512, 7), pattern(512, 8), pattern(112, 9), CLOCK);
    }

    /** Through a whole state file, as a snapshot stores it. */
    private static Section throughStateFile(Section section) throws SnapshotException {
        return StateFile.decode(StateFile.encode(List.of(section))).getFirst();
    }

    private static VcpuState readVcpu(byte[] payload) throws SnapshotException {
        var in = new Section("vcpu0", payload).reader();
        VcpuState state = VcpuState.read(in);
        in.end();
        return state;
    }

    // Payload offsets from the layout: 18 registers of 8 bytes, 8 segments of 8+4+2+1+1+1+6 bytes,
    // two tables of 8+2, seven control registers of 8, then the length-prefixed XSAVE area, XCRs...
    private static final int CS_TYPE = 18 * 8 + 8 + 4 + 2;
    private static final int XSAVE_LENGTH = 18 * 8 + 8 * 23 + 2 * 10 + 7 * 8;
    private static final int MSR_COUNT = XSAVE_LENGTH + 4 + 4096 + 4 + 392;

    @Test
    void statesSurviveAStateFileAndTheLayoutIsTheDocumentedOne() throws Exception {
        VcpuState vcpu = sampleVcpu();
        StateWriter out = new StateWriter();
        vcpu.write(out);
        byte[] payload = throughStateFile(out.toSection("vcpu0")).payload();
        assertEquals(MSR_COUNT + 4 + 2 * (4 + 8) + (4 + 1024) + (4 + 64) + 4 + (4 + 128), payload.length);
        ByteBuffer b = ByteBuffer.wrap(payload); // big-endian, as StateWriter writes
        assertEquals(-1L, b.getLong(0));
        assertEquals(11, payload[CS_TYPE]);
        assertEquals(4096, b.getInt(XSAVE_LENGTH));
        assertEquals(2, b.getInt(MSR_COUNT));
        assertEquals(0xC000_0082, b.getInt(MSR_COUNT + 4 + 12));
        assertEquals(vcpu, readVcpu(payload));

        VmState vm = sampleVm();
        StateWriter vmOut = new StateWriter();
        vm.write(vmOut);
        var in = throughStateFile(vmOut.toSection("vm")).reader();
        assertEquals(vm, VmState.read(in));
        in.end();
    }

    private static String refusal(byte[] payload) {
        return assertThrows(SnapshotException.class, () -> readVcpu(payload)).getMessage();
    }

    @Test
    void truncatedOversizedAndInvalidSectionsAreRefusedNamingTheField() {
        StateWriter out = new StateWriter();
        sampleVcpu().write(out);
        byte[] payload = out.toSection("vcpu0").payload();

        for (int length = 0; length < payload.length; length++) {
            String message = refusal(Arrays.copyOf(payload, length));
            assertTrue(message.startsWith("section vcpu0: field ") && message.endsWith(": truncated"), length + ": " + message);
        }
        assertEquals("section vcpu0: 1 bytes after the last field", refusal(Arrays.copyOf(payload, payload.length + 1)));

        byte[] oversized = payload.clone();
        ByteBuffer.wrap(oversized).putInt(XSAVE_LENGTH, 4097);
        assertEquals("section vcpu0: field xsave: length 4097 is more than 4096", refusal(oversized));

        // an XSAVE area one byte short, the rest of the section intact
        byte[] undersized = new byte[payload.length - 1];
        System.arraycopy(payload, 0, undersized, 0, XSAVE_LENGTH + 4 + 4095);
        System.arraycopy(payload, XSAVE_LENGTH + 4 + 4096, undersized, XSAVE_LENGTH + 4 + 4095, payload.length - XSAVE_LENGTH - 4 - 4096);
        ByteBuffer.wrap(undersized).putInt(XSAVE_LENGTH, 4095);
        assertEquals("section vcpu0: xsave: 4095 bytes, expected 4096", refusal(undersized));

        byte[] manyMsrs = payload.clone();
        ByteBuffer.wrap(manyMsrs).putInt(MSR_COUNT, 100_000);
        assertEquals("section vcpu0: field msrs: count 100000 is more than 256", refusal(manyMsrs));

        byte[] twice = payload.clone();
        ByteBuffer.wrap(twice).putInt(MSR_COUNT + 4 + 12, 0x10);
        assertEquals("section vcpu0: msrs: MSR 0x10 twice", refusal(twice));

        byte[] badType = payload.clone();
        badType[CS_TYPE] = 16;
        assertEquals("section vcpu0: field cs.type: 16 is more than 4 bits", refusal(badType));

        byte[] badMpState = payload.clone();
        ByteBuffer.wrap(badMpState).putInt(payload.length - 4 - 128 - 4, 11);
        assertEquals("section vcpu0: mpState: 11 is no KVM_MP_STATE (0 to 10)", refusal(badMpState));

        StateWriter vmOut = new StateWriter();
        sampleVm().write(vmOut);
        byte[] vm = vmOut.toSection("vm").payload();
        ByteBuffer.wrap(vm).putInt(3 * (4 + 512), 113);
        var in = new Section("vm", vm).reader();
        assertEquals("section vm: field pit: length 113 is more than 112",
                assertThrows(SnapshotException.class, () -> VmState.read(in)).getMessage());
    }

    @Test
    void aRunningGuestRestoredIntoAFreshVmContinuesWhereItStopped() {
        KvmTest.requireKvm();
        // real mode at 0x1000: inc bx; mov al, bl; out 0x10, al; jmp back to the inc
        byte[] code = {0x43, (byte) 0x88, (byte) 0xD8, (byte) 0xE6, 0x10, (byte) 0xEB, (byte) 0xF9};
        MemorySegment ram = Libc.mmap("mmap", 0x10000, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS, -1, 0);
        MemorySegment copy = Libc.mmap("mmap", 0x10000, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS, -1, 0);
        MemorySegment.copy(code, 0, ram, ValueLayout.JAVA_BYTE, 0x1000, code.length);
        try (Kvm kvm = Kvm.open(); Machine first = Machine.create(kvm); Machine second = Machine.create(kvm)) {
            first.vm().setUserMemoryRegion(0, 0, 0, ram);
            second.vm().setUserMemoryRegion(0, 0, 0, copy);
            Vcpu vcpu = first.vcpu();
            vcpu.bindToCurrentThread();
            Sregs s = vcpu.sregs();
            Segment cs = new Segment(0, 0xFFFF, 0, s.cs().type(), true, 0, false, true, false, false, false, false);
            vcpu.setSregs(new Sregs(cs, s.ds(), s.es(), s.fs(), s.gs(), s.ss(), s.tr(), s.ldt(), s.gdt(), s.idt(),
                    s.cr0(), s.cr2(), s.cr3(), s.cr4(), s.cr8(), s.efer(), s.apicBase()));
            vcpu.setRegs(new Regs(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x1000, 2));
            for (int i = 1; i <= 3; i++) {
                var out = assertInstanceOf(VcpuExit.IoOut.class, vcpu.run());
                assertEquals(i, out.data()[0]);
            }
            vcpu.kick(); // completes the OUT before the state is read
            assertInstanceOf(VcpuExit.Interrupted.class, vcpu.run());
            VcpuState saved = vcpu.state(VcpuState.savedMsrs(kvm.msrIndexList()));
            VmState savedVm = first.vm().state();
            MemorySegment.copy(ram, 0, copy, 0, ram.byteSize());

            second.vm().restore(savedVm);
            second.vcpu().restore(saved);
            second.vcpu().bindToCurrentThread();
            for (int i = 4; i <= 6; i++) {
                var out = assertInstanceOf(VcpuExit.IoOut.class, second.vcpu().run());
                assertEquals(0x10, out.port());
                assertEquals(i, out.data()[0], "the counter goes on from 3");
            }
        } finally {
            Libc.munmap(ram);
            Libc.munmap(copy);
        }
    }
    @Test
    void aVcpuWithoutAnInKernelLapicIsSavedAndRestoredWithoutOne() throws SnapshotException {
        KvmTest.requireKvm();
        // real mode at 0x1000: inc bx; mov al, bl; out 0x10, al; jmp back to the inc (as above, no irqchip: the stub guest's VM)
        byte[] code = {0x43, (byte) 0x88, (byte) 0xD8, (byte) 0xE6, 0x10, (byte) 0xEB, (byte) 0xF9};
        MemorySegment ram = Libc.mmap("mmap", 0x10000, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS, -1, 0);
        MemorySegment.copy(code, 0, ram, ValueLayout.JAVA_BYTE, 0x1000, code.length);
        try (Kvm kvm = Kvm.open(); Vm first = kvm.createVm(); Vm second = kvm.createVm()) {
            first.setTssAddress(0xFFFB_D000L);
            second.setTssAddress(0xFFFB_D000L);
            first.setUserMemoryRegion(0, 0, 0, ram);
            second.setUserMemoryRegion(0, 0, 0, ram);
            try (Vcpu vcpu = first.createVcpu(0); Vcpu fresh = second.createVcpu(0)) {
                vcpu.bindToCurrentThread();
                Sregs s = vcpu.sregs();
                Segment cs = new Segment(0, 0xFFFF, 0, s.cs().type(), true, 0, false, true, false, false, false, false);
                vcpu.setSregs(new Sregs(cs, s.ds(), s.es(), s.fs(), s.gs(), s.ss(), s.tr(), s.ldt(), s.gdt(), s.idt(),
                        s.cr0(), s.cr2(), s.cr3(), s.cr4(), s.cr8(), s.efer(), s.apicBase()));
                vcpu.setRegs(new Regs(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x1000, 2));
                assertEquals(1, assertInstanceOf(VcpuExit.IoOut.class, vcpu.run()).data()[0]);
                vcpu.kick();
                assertInstanceOf(VcpuExit.Interrupted.class, vcpu.run());
                VcpuState saved = vcpu.state(VcpuState.savedMsrs(kvm.msrIndexList()), false);
                assertEquals(0, saved.lapic().length);
                StateWriter out = new StateWriter();
                saved.write(out);
                VcpuState read = VcpuState.read(out.toSection("vcpu0").reader());
                assertEquals(saved, read);
                fresh.restore(read);
                fresh.bindToCurrentThread();
                assertEquals(2, assertInstanceOf(VcpuExit.IoOut.class, fresh.run()).data()[0], "the counter goes on from 1");
            }
        } finally {
            Libc.munmap(ram);
        }
    }
}
