package io.aether.vmm;

import io.aether.testkit.Prerequisites;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.arch.x86_64.StubGuest;
import io.aether.vmspec.VmSpec;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The built-in stub guest on the host's KVM: real vCPU entry, mode switches, UART, halt. */
@Timeout(300)
class StubGuestTest {

    static void requireKvm() {
        Prerequisites.requireKvm();
    }

    @Test
    void stubGuestEntersLongModePrintsAndHalts() throws Exception {
        requireKvm();
        var console = new ByteArrayOutputStream();
        var traceBytes = new ByteArrayOutputStream();
        try (MicroVm vm = MicroVm.create(VmSpec.stub(VmSpec.StubProgram.HELLO), console, new PrintStream(traceBytes, true))) {
            vm.start();
            StopReason reason = vm.awaitStop();
            assertInstanceOf(StopReason.Halted.class, reason);
            assertEquals(0, reason.exitStatus());
        }
        assertEquals(StubGuest.MESSAGE, console.toString(StandardCharsets.US_ASCII));
        String trace = traceBytes.toString(StandardCharsets.US_ASCII);
        long outs = trace.lines().filter(l -> l.startsWith("[vcpu 0] IO_OUT port=0x03f8")).count();
        assertEquals(StubGuest.MESSAGE.length(), outs, "one UART write exit per byte");
        assertTrue(trace.lines().anyMatch(l -> l.equals("[vcpu 0] IO_IN  port=0x03fd size=1 count=1")), "LSR polled");
        assertTrue(trace.strip().endsWith("[vcpu 0] HLT"));
    }

    @Test
    void guestDebuggingIsRefusedOnX86InOneLineAndOnlyBeforeTheStart() throws Exception {
        requireKvm();
        try (MicroVm vm = MicroVm.create(VmSpec.stub(VmSpec.StubProgram.HELLO), new ByteArrayOutputStream(), null)) {
            var e = assertThrows(VmCreationException.class, vm::enableGuestDebug);
            assertEquals("guest debugging (single step, breakpoints) is implemented for aarch64 guests only", e.getMessage());
            vm.start();
            var late = assertThrows(IllegalStateException.class, vm::enableGuestDebug);
            assertTrue(late.getMessage().startsWith("cannot debug: the VM is "), late.getMessage());
        }
    }

    @Test
    void theArm64HypercallProgramIsRefusedOnX86InOneLine() throws Exception {
        requireKvm();
        var e = assertThrows(VmCreationException.class,
                () -> MicroVm.create(VmSpec.stub(VmSpec.StubProgram.HYPERCALL), new ByteArrayOutputStream(), null).close());
        assertEquals("--stub=hypercall: the hypercall program (an SMCCC call through HVC) is aarch64's; "
                + "x86_64 has hello, echo, count, crash and keyboard", e.getMessage());
    }

    @Test
    void consoleInputReachesTheGuestWhichEchoesItBack() throws Exception {
        requireKvm();
        var console = new ByteArrayOutputStream();
        try (MicroVm vm = MicroVm.create(VmSpec.stub(VmSpec.StubProgram.ECHO), console, null)) {
            vm.start();
            byte[] keys = ("typed into the guest" + (char) StubGuest.END_OF_ECHO).getBytes(StandardCharsets.US_ASCII);
            int sent = 0;
            while (sent < keys.length) {
                sent += vm.consoleInput(java.util.Arrays.copyOfRange(keys, sent, keys.length));
                vm.awaitConsoleSpace(100);
            }
            assertInstanceOf(StopReason.Halted.class, vm.awaitStop());
        }
        assertEquals(StubGuest.MESSAGE + "typed into the guest", console.toString(StandardCharsets.US_ASCII));
    }

    @Test
    void ctrlAltDelReachesAGuestThatPollsTheKeyboardAndItResets() throws Exception {
        requireKvm();
        var console = new ByteArrayOutputStream();
        try (MicroVm vm = MicroVm.create(VmSpec.stub(VmSpec.StubProgram.KEYBOARD), console, null)) {
            vm.start();
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (console.size() < StubGuest.MESSAGE.length()) {
                assertTrue(System.nanoTime() < deadline, "no greeting");
                Thread.sleep(5);
            }
            Thread.sleep(100);
            assertEquals(RunState.RUNNING, vm.state(), "the stub waits for the keys");
            vm.pause();
            IllegalStateException paused = assertThrows(IllegalStateException.class, vm::pressCtrlAltDel);
            assertEquals("cannot ask the guest to shut down: the VM is paused", paused.getMessage());
            vm.resume();
            assertTrue(vm.pressCtrlAltDel());
            assertInstanceOf(StopReason.Reboot.class, vm.awaitStop());
            var keyboard = (Device.Keyboard) vm.devices().devices().get(1);
            assertEquals(1, keyboard.counters().ctrlAltDels());
            assertEquals(1, keyboard.counters().resetRequests());
        }
    }

    @Test
    void aTripleFaultStopsTheVmWithANonZeroStatusAndSaysSo() throws Exception {
        requireKvm();
        var console = new ByteArrayOutputStream();
        try (MicroVm vm = MicroVm.create(VmSpec.stub(VmSpec.StubProgram.CRASH), console, null)) {
            vm.start();
            StopReason reason = vm.awaitStop();
            var crash = assertInstanceOf(StopReason.GuestCrash.class, reason);
            assertEquals(3, crash.exitStatus());
            // KVM reports a triple fault; a host that emulates the guest may report the failure instead.
            assertTrue(crash.what().equals("triple fault") || crash.what().contains("emulation failure"), crash.what());
        }
        assertEquals(StubGuest.MESSAGE, console.toString(StandardCharsets.US_ASCII));
    }

    private static boolean dirty(long[] bitmap, int page) {
        return (bitmap[page / 64] & (1L << (page % 64))) != 0;
    }

    @Test
    void dirtyLoggingMergesTheMonitorsWritesWithKvmsLog() throws Exception {
        requireKvm();
        try (MicroVm vm = MicroVm.create(VmSpec.stub(VmSpec.StubProgram.HELLO), new ByteArrayOutputStream(), null)) {
            var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, vm::takeDirtyPages);
            assertTrue(e.getMessage().contains("startDirtyLog"));
            vm.startDirtyLog();
            vm.memory().writeInt(0x7_0010, 42);        // a device's DMA, say: the monitor's own write
            vm.memory().write(0x3F_F000, new byte[8192]); // two pages, across a 2 MiB boundary
            vm.start();
            vm.awaitStop();
            long[] pages = vm.takeDirtyPages().getFirst();
            assertTrue(dirty(pages, 0x70), "the page the monitor wrote");
            assertTrue(dirty(pages, 0x3FF) && dirty(pages, 0x400), "both pages of a write across them");
            assertTrue(!dirty(pages, 0x200), "an untouched page");
            long[] again = vm.takeDirtyPages().getFirst();
            assertEquals(0, java.util.Arrays.stream(again).filter(w -> w != 0).count(), "taking the pages clears them");
        }
    }

    @Test
    void aStopRequestEndsARunningVmAndCloseJoinsItsThreads() throws Exception {
        requireKvm();
        var console = new ByteArrayOutputStream();
        MicroVm vm = MicroVm.create(VmSpec.stub(VmSpec.StubProgram.HELLO), console, null);
        vm.requestStop(new StopReason.Requested("test"));
        vm.start();
        assertEquals(new StopReason.Requested("test"), vm.awaitStop());
        vm.close();
        vm.close(); // idempotent
    }
}
