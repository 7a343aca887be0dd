package io.aether.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.arch.x86_64.StubGuest;
import io.aether.common.ByteSize;
import io.aether.vmspec.VmSpec;
import java.io.ByteArrayOutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Pausing and resuming whole VMs on the host's KVM, with stub guests whose progress shows on the console. */
@Timeout(120)
class MicroVmPauseTest {

    private static MicroVm counting(ByteArrayOutputStream console) {
        StubGuestTest.requireKvm();
        return MicroVm.create(VmSpec.stub(VmSpec.StubProgram.COUNT), console, null);
    }

    /** The count program's output (or its start): its greeting, then its line over and over, no byte lost or doubled. */
    static void assertCountedInOrder(String output) {
        String greeting = StubGuest.MESSAGE;
        String line = StubGuest.COUNT_LINE;
        for (int i = 0; i < output.length(); i++) {
            char expected = i < greeting.length() ? greeting.charAt(i) : line.charAt((i - greeting.length()) % line.length());
            if (output.charAt(i) != expected) {
                throw new AssertionError("byte " + i + " is '" + output.charAt(i) + "', not '" + expected + "': " + output);
            }
        }
    }

    /** Asserts the guest writes nothing for a while. */
    private static void assertStill(ByteArrayOutputStream console, long millis) throws InterruptedException {
        int before = console.size();
        Thread.sleep(millis);
        assertEquals(before, console.size(), "the guest printed while paused");
    }

    @Test
    void pauseHoldsTheGuestStillAndResumeGoesOnWhereItStopped() throws Exception {
        var console = new ByteArrayOutputStream();
        try (MicroVm vm = counting(console)) {
            vm.start();
            VmBuilderTest.awaitOutput(console, StubGuest.MESSAGE.length() + 100);
            vm.pause();
            assertEquals(RunState.PAUSED, vm.state());
            int held = console.size();
            assertStill(console, 300);
            vm.resume();
            assertEquals(RunState.RUNNING, vm.state());
            VmBuilderTest.awaitOutput(console, held + 100);
            vm.requestStop(new StopReason.Requested("test"));
            vm.awaitStop();
        }
        assertCountedInOrder(console.toString(StandardCharsets.US_ASCII));
    }

    @Test
    void pauseAndResumeInALoopFromOtherThreadsWhileTheGuestRuns() throws Exception {
        var console = new ByteArrayOutputStream();
        try (MicroVm vm = counting(console)) {
            vm.start();
            VmBuilderTest.awaitOutput(console, StubGuest.MESSAGE.length() + 12);
            AtomicInteger pauses = new AtomicInteger();
            List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
            List<Thread> controllers = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                controllers.add(Thread.ofPlatform().daemon().start(() -> {
                    for (int i = 0; i < 150; i++) {
                        try {
                            vm.pause();
                        } catch (IllegalStateException e) {
                            // The other controller paused first.
                            if (!e.getMessage().equals("cannot pause: the VM is paused")) failures.add(e);
                            continue;
                        } catch (Throwable e) {
                            failures.add(e);
                            return;
                        }
                        pauses.incrementAndGet();
                        try {
                            assertStill(console, 2);
                            vm.resume();
                        } catch (Throwable e) {
                            failures.add(e);
                            return;
                        }
                    }
                }));
            }
            for (Thread c : controllers) c.join(90_000);
            assertEquals(List.of(), failures);
            assertTrue(pauses.get() >= 150, "every round paused by one controller or the other: " + pauses.get());
            assertEquals(RunState.RUNNING, vm.state());
            int after = console.size();
            VmBuilderTest.awaitOutput(console, after + 100);
            vm.requestStop(new StopReason.Requested("test"));
            vm.awaitStop();
        }
        assertCountedInOrder(console.toString(StandardCharsets.US_ASCII));
    }

    private static String refusal(ThrowingRunnable action) {
        return assertThrows(IllegalStateException.class, action::run).getMessage();
    }

    private interface ThrowingRunnable {
        void run() throws Exception;
    }

    @Test
    void eachStepRefusedByTheStateMachineNamesTheState() throws Exception {
        var console = new ByteArrayOutputStream();
        MicroVm vm = counting(console);
        assertEquals(RunState.CREATED, vm.state());
        assertEquals("cannot pause: the VM is not started", refusal(vm::pause));
        assertEquals("cannot resume: the VM is not started", refusal(vm::resume));
        vm.start();
        assertEquals("cannot start: the VM is running", refusal(vm::start));
        assertEquals("cannot resume: the VM is running", refusal(vm::resume));
        vm.pause(); // at once: the vCPU's thread may not have entered the guest yet
        assertStill(console, 200);
        assertEquals("cannot pause: the VM is paused", refusal(vm::pause));
        assertEquals("cannot start: the VM is paused", refusal(vm::start));
        vm.requestStop(new StopReason.Requested("test"));
        assertEquals(new StopReason.Requested("test"), vm.awaitStop(), "a paused VM stops");
        assertEquals(RunState.STOPPED, vm.state());
        assertEquals("cannot pause: the VM is stopped", refusal(vm::pause));
        assertEquals("cannot resume: the VM is stopped", refusal(vm::resume));
        vm.close();
        assertEquals(RunState.STOPPED, vm.state());
        assertCountedInOrder(console.toString(StandardCharsets.US_ASCII));
    }

    @Test
    void keysTypedWhilePausedReachTheGuestAfterResume() throws Exception {
        StubGuestTest.requireKvm();
        var console = new ByteArrayOutputStream();
        var keys = new PipedOutputStream();
        ConsoleSession session = ConsoleSession.start(new PipedInputStream(keys), false);
        try (MicroVm vm = MicroVm.create(VmSpec.stub(VmSpec.StubProgram.ECHO), console, null)) {
            session.attach(vm);
            vm.start();
            VmBuilderTest.awaitOutput(console, StubGuest.MESSAGE.length());
            vm.pause();
            keys.write("typed while paused".getBytes(StandardCharsets.US_ASCII));
            keys.flush();
            assertStill(console, 300);
            vm.resume();
            keys.write(StubGuest.END_OF_ECHO);
            keys.flush();
            assertInstanceOf(StopReason.Halted.class, vm.awaitStop());
        } finally {
            keys.close();
        }
        assertEquals(StubGuest.MESSAGE + "typed while paused", console.toString(StandardCharsets.US_ASCII));
    }

    @Test
    void aMachineWithAnInterruptControllerPausesToo(@TempDir Path dir) throws Exception {
        StubGuestTest.requireKvm();
        var console = new ByteArrayOutputStream();
        VmSpec spec = VmSpec.linux(PvhTestKernel.write(dir)).withMemory(ByteSize.ofMiB(32));
        try (MicroVm vm = MicroVm.create(spec, console, null)) {
            vm.start();
            VmBuilderTest.awaitOutput(console, 50);
            for (int i = 0; i < 3; i++) {
                vm.pause();
                assertStill(console, 200);
                int held = console.size();
                vm.resume();
                VmBuilderTest.awaitOutput(console, held + 50);
            }
        }
    }
}
