package io.aether.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.arch.x86_64.StubGuest;
import io.aether.vmspec.VmSpec;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** VMs built on a shell made ahead of them, on the host's KVM (x86_64: arm64 makes none). */
@Timeout(120)
class VmShellTest {

    private static VmShell shell() {
        StubGuestTest.requireKvm();
        return VmShell.prebuild().orElseThrow(() -> new AssertionError("x86_64 builds a shell ahead"));
    }

    /** Starts {@code vm} and waits for the stub's greeting, whole. */
    private static void runsItsGuest(MicroVm vm, ByteArrayOutputStream console) throws InterruptedException {
        vm.start();
        VmBuilderTest.awaitOutput(console, StubGuest.MESSAGE.length());
        assertTrue(console.toString(StandardCharsets.US_ASCII).startsWith(StubGuest.MESSAGE), console.toString(StandardCharsets.US_ASCII));
    }

    @Test
    void aStubVmIsBuiltOnItsShellAndRuns() throws Exception {
        try (VmShell shell = shell()) {
            assertFalse(shell.taken());
            var console = new ByteArrayOutputStream();
            try (MicroVm vm = MicroVm.create(VmSpec.stub(VmSpec.StubProgram.HELLO), console, null, shell)) {
                assertTrue(shell.taken(), "the VM took the shell");
                runsItsGuest(vm, console);
            }
        }
    }

    @Test
    void aShellServesOneVmOnlyTheNextIsBuiltAfresh() throws Exception {
        try (VmShell shell = shell()) {
            var first = new ByteArrayOutputStream();
            var second = new ByteArrayOutputStream();
            // Both alive at once: a second VM on the first's KVM VM would fail to map its memory (its slot is taken) or share its vCPU.
            try (MicroVm a = MicroVm.create(VmSpec.stub(VmSpec.StubProgram.ECHO), first, null, shell);
                 MicroVm b = MicroVm.create(VmSpec.stub(VmSpec.StubProgram.HELLO), second, null, shell)) {
                runsItsGuest(b, second);
                runsItsGuest(a, first);
            }
        }
    }

    @Test
    void aSpecThatDoesNotFitGetsAFreshVmAndLeavesTheShellForTheNext(@TempDir Path dir) throws Exception {
        try (VmShell shell = shell()) {
            // A Linux guest needs its interrupt controller made before any vCPU: the shell's first vCPU is there already.
            VmSpec linux = VmSpec.linux(PvhTestKernel.write(dir)).withMemory(io.aether.common.ByteSize.ofMiB(32));
            var console = new ByteArrayOutputStream();
            try (MicroVm vm = MicroVm.create(linux, console, null, shell)) {
                assertFalse(shell.taken(), "a Linux VM does not take a stub-shaped shell");
                vm.start();
                VmBuilderTest.awaitOutput(console, 3);
            }
            var stub = new ByteArrayOutputStream();
            try (MicroVm vm = MicroVm.create(VmSpec.stub(VmSpec.StubProgram.HELLO), stub, null, shell)) {
                assertTrue(shell.taken());
                runsItsGuest(vm, stub);
            }
        }
    }

    /** Runs {@code vm} (a COUNT guest) until it printed, pauses it and snapshots it into {@code snapshot}. */
    private static VmSnapshot.Saved snapshotOf(MicroVm vm, ByteArrayOutputStream console, Path snapshot) throws Exception {
        vm.start();
        VmBuilderTest.awaitOutput(console, StubGuest.MESSAGE.length() + 20);
        vm.pause();
        vm.snapshot(snapshot, null);
        return VmSnapshot.read(snapshot);
    }

    @Test
    void theShellsVcpuIsConfiguredAsAFreshBuildsIs(@TempDir Path dir) throws Exception {
        StubGuestTest.requireKvm();
        VmSpec count = VmSpec.stub(VmSpec.StubProgram.COUNT);
        var plainConsole = new ByteArrayOutputStream();
        VmSnapshot.Saved plain;
        try (MicroVm vm = MicroVm.create(count, plainConsole, null)) {
            plain = snapshotOf(vm, plainConsole, dir.resolve("plain"));
        }
        try (VmShell shell = shell()) {
            var console = new ByteArrayOutputStream();
            try (MicroVm vm = MicroVm.create(count, console, null, shell)) {
                assertTrue(shell.taken());
                assertEquals(plain.cpuids(), snapshotOf(vm, console, dir.resolve("shelled")).cpuids(), "the CPUID a VM on a shell runs with");
            }
        }
    }
}
