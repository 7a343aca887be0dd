package io.aether.kvm;

import io.aether.testkit.Prerequisites;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.sys.Libc;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/** Runs a tiny real-mode guest on the host's /dev/kvm: the bindings end to end. */
class KvmTest {

    static void requireKvm() {
        Prerequisites.requireKvm();
    }

    /** 64 KiB of anonymous memory for a guest at physical address 0. */
    private static MemorySegment guestRam() {
        return Libc.mmap("mmap", 0x10000, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS, -1, 0);
    }

    /** Real mode (the reset state) with CS based at 0, so the vCPU starts at physical address {@code ip}. */
    static void startInRealModeAt(Vcpu vcpu, long ip) {
        Sregs s = vcpu.sregs();
        Segment cs = new Segment(0, 0xFFFF, 0, s.cs().type(), true, 0, false, true, false, false, false, false);
        vcpu.setSregs(new Sregs(cs, s.ds(), s.es(), s.fs(), s.gs(), s.ss(), s.tr(), s.ldt(), s.gdt(), s.idt(),
                s.cr0(), s.cr2(), s.cr3(), s.cr4(), s.cr8(), s.efer(), s.apicBase()));
        vcpu.setRegs(new Regs(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ip, 2));
    }

    @Test
    void realModeGuestWritesToAPortAndHalts() {
        requireKvm();
        try (Kvm kvm = Kvm.open(); Vm vm = kvm.createVm()) {
            assertEquals(12, kvm.apiVersion());
            assertTrue(kvm.checkExtension(Capability.USER_MEMORY) > 0);
            assertTrue(kvm.vcpuMmapSize() >= 4096);
            assertTrue(kvm.supportedCpuid().stream().anyMatch(e -> e.function() == 0));

            MemorySegment ram = guestRam();
            // mov al,'A'; out 0x3f8 via dx; in al,dx; hlt
            byte[] code = {(byte) 0xB0, 'A', (byte) 0xBA, (byte) 0xF8, 0x03, (byte) 0xEE, (byte) 0xEC, (byte) 0xF4};
            MemorySegment.copy(code, 0, ram, ValueLayout.JAVA_BYTE, 0x1000, code.length);
            vm.setUserMemoryRegion(0, 0, 0, ram);
            try (Vcpu vcpu = vm.createVcpu(0)) {
                vcpu.bindToCurrentThread();
                startInRealModeAt(vcpu, 0x1000);

                VcpuExit out = vcpu.run();
                var io = assertInstanceOf(VcpuExit.IoOut.class, out);
                assertEquals(0x3F8, io.port());
                assertArrayEquals(new byte[] {'A'}, io.data());

                var in = assertInstanceOf(VcpuExit.IoIn.class, vcpu.run());
                in.data()[0] = 'Z';
                vcpu.complete(in);
                assertInstanceOf(VcpuExit.Hlt.class, vcpu.run());
                assertEquals('Z', vcpu.regs().rax() & 0xFF);
                assertEquals(0x1008, vcpu.regs().rip());
            }
            Libc.munmap(ram);
        }
    }

    @Test
    void dirtyLoggingReportsThePagesTheGuestWrote() {
        requireKvm();
        try (Kvm kvm = Kvm.open(); Vm vm = kvm.createVm()) {
            MemorySegment ram = guestRam();
            // mov byte [0x5000], 0x2a; mov byte [0x9abc], 1; hlt
            byte[] code = {(byte) 0xC6, 0x06, 0x00, 0x50, 0x2A, (byte) 0xC6, 0x06, (byte) 0xBC, (byte) 0x9A, 0x01, (byte) 0xF4};
            MemorySegment.copy(code, 0, ram, ValueLayout.JAVA_BYTE, 0x1000, code.length);
            vm.setUserMemoryRegion(0, Vm.MEM_LOG_DIRTY_PAGES, 0, ram);
            assertEquals(0, vm.dirtyLog(0, 16)[0] & ~(1L << 1), "nothing written yet (the code page may count as loaded)");
            try (Vcpu vcpu = vm.createVcpu(0)) {
                startInRealModeAt(vcpu, 0x1000);
                assertInstanceOf(VcpuExit.Hlt.class, vcpu.run());
            }
            assertEquals(0x2A, ram.get(ValueLayout.JAVA_BYTE, 0x5000));
            long bitmap = vm.dirtyLog(0, 16)[0];
            // The code page may count too: KVM on nested SVM (the nested test host) marks the page it
            // emulated an instruction from.
            assertEquals(1L << 5 | 1L << 9, bitmap & ~(1L << 1), "pages 5 and 9 written: " + Long.toBinaryString(bitmap));
            assertEquals(0, vm.dirtyLog(0, 16)[0], "reading the log clears it");
            Libc.munmap(ram);
        }
    }

    @Test
    void aKickInterruptsAVcpuSpinningInTheGuest() throws Exception {
        requireKvm();
        try (Kvm kvm = Kvm.open(); Vm vm = kvm.createVm()) {
            MemorySegment ram = guestRam();
            ram.set(ValueLayout.JAVA_BYTE, 0x1000, (byte) 0xEB); // jmp $
            ram.set(ValueLayout.JAVA_BYTE, 0x1001, (byte) 0xFE);
            vm.setUserMemoryRegion(0, 0, 0, ram);
            try (Vcpu vcpu = vm.createVcpu(0)) {
                var result = new java.util.concurrent.CompletableFuture<VcpuExit>();
                Thread t = Thread.ofPlatform().start(() -> {
                    vcpu.bindToCurrentThread();
                    startInRealModeAt(vcpu, 0x1000);
                    result.complete(vcpu.run());
                });
                Thread.sleep(200);
                vcpu.kick();
                assertInstanceOf(VcpuExit.Interrupted.class, result.get(10, java.util.concurrent.TimeUnit.SECONDS));
                t.join();
            }
            Libc.munmap(ram);
        }
    }

    @Test
    void aKickAfterCloseTouchesNothingAndASecondCloseNothingMore() {
        requireKvm();
        try (Kvm kvm = Kvm.open(); Vm vm = kvm.createVm()) {
            Vcpu vcpu = vm.createVcpu(0);
            vcpu.close();
            // A stop request's kick may arrive after the VM was closed; kvm_run is unmapped by then
            // (before the fix this write crashed the JVM with SIGSEGV).
            vcpu.kick();
            vcpu.close();
            try (Vcpu again = vm.createVcpu(1)) {
                again.kick();
            }
        }
    }

    @Test
    void exitsDecodeFromKvmRunAndBadSizesAreRefused() {
        MemorySegment run = MemorySegment.ofArray(new long[512]);
        run.set(ValueLayout.JAVA_INT, 8, 2); // KVM_EXIT_IO
        run.set(ValueLayout.JAVA_BYTE, 32, (byte) 1);
        run.set(ValueLayout.JAVA_BYTE, 33, (byte) 1);
        run.set(ValueLayout.JAVA_SHORT, 34, (short) 0x3F8);
        run.set(ValueLayout.JAVA_INT, 36, 3);
        run.set(ValueLayout.JAVA_LONG, 40, 4000);
        run.set(ValueLayout.JAVA_BYTE, 4000, (byte) 'h');
        var out = assertInstanceOf(VcpuExit.IoOut.class, Vcpu.decode(run));
        assertEquals(3, out.count());
        assertEquals('h', out.data()[0]);

        run.set(ValueLayout.JAVA_LONG, 40, 4095); // data would run past kvm_run
        assertInstanceOf(VcpuExit.Unsupported.class, Vcpu.decode(run));

        run.set(ValueLayout.JAVA_INT, 8, 6); // KVM_EXIT_MMIO
        run.set(ValueLayout.JAVA_LONG, 32, 0xD000_0000L);
        run.set(ValueLayout.JAVA_INT, 48, 1 << 20); // absurd length is capped at 8
        run.set(ValueLayout.JAVA_BYTE, 52, (byte) 0);
        var read = assertInstanceOf(VcpuExit.MmioRead.class, Vcpu.decode(run));
        assertEquals(8, read.data().length);

        run.set(ValueLayout.JAVA_INT, 8, 17);
        run.set(ValueLayout.JAVA_INT, 32, 1);
        run.set(ValueLayout.JAVA_INT, 36, 99);
        var err = assertInstanceOf(VcpuExit.InternalError.class, Vcpu.decode(run));
        assertEquals(16, err.data().length);
        assertTrue(err.describe().startsWith("INTERNAL_ERROR emulation failure"));
        run.set(ValueLayout.JAVA_INT, 8, 1234);
        assertEquals(new VcpuExit.Unsupported(1234), Vcpu.decode(run));
    }
}
