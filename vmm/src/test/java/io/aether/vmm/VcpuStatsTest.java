package io.aether.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.arch.x86_64.StubGuest;
import io.aether.vmspec.VmSpec;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** vCPU exits and CPU time against what the stub guest's program and the kernel's own accounting say. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class VcpuStatsTest {

    @Test
    void exitsAreCountedByReasonAsTheStubsProgramMakesThem() throws Exception {
        StubGuestTest.requireKvm();
        try (MicroVm vm = MicroVm.create(VmSpec.stub(VmSpec.StubProgram.HELLO), new ByteArrayOutputStream(), null)) {
            vm.start();
            assertInstanceOf(StopReason.Halted.class, vm.awaitStop());
            List<VcpuStats> stats = vm.vcpuStats();
            assertEquals(1, stats.size());
            VcpuStats vcpu = stats.getFirst();
            // The program: for each byte of the message, poll the LSR (in) until THR is empty, write
            // the byte (out); then HLT. The UART's THR is always empty, so one poll per byte.
            assertEquals(StubGuest.MESSAGE.length(), vcpu.exits().get("io_out"));
            assertEquals(StubGuest.MESSAGE.length(), vcpu.exits().get("io_in"));
            assertEquals(1, vcpu.exits().get("hlt"));
            assertEquals(0, vcpu.exits().get("mmio_write") + vcpu.exits().get("shutdown") + vcpu.exits().get("unsupported"));
            assertEquals(11, vcpu.exits().size(), "every reason listed, zeros included");
        }
    }

    @Test
    void cpuTimeAgreesWithTheKernelsAccountingOfTheVcpuThread() throws Exception {
        StubGuestTest.requireKvm();
        try (MicroVm vm = MicroVm.create(VmSpec.stub(VmSpec.StubProgram.COUNT), new ByteArrayOutputStream(), null)) {
            vm.start();
            Path task = vcpuTask("vcpu-0");
            // The guest prints for ever: its vCPU thread burns CPU. Wait until the kernel has counted 50 ms of it.
            while (procCpuNanos(task) < 50_000_000) Thread.sleep(20);
            long before = procCpuNanos(task);
            long seen = vm.vcpuStats().getFirst().cpuNanos();
            long after = procCpuNanos(task);
            // /proc gives utime and stime in clock ticks (USER_HZ, 100 a second), each rounded down:
            // their sum is up to two ticks (20 ms) below the precise time the vCPU's clock reads.
            assertTrue(seen >= before && seen < after + 20_000_000,
                    "vCPU time " + seen + " ns, the kernel's " + before + ".." + after + " ns");
        }
    }

    /**
     * The task directory of this process's thread named {@code name} (its comm). The thread names
     * itself once it runs, a little after it was started: wait for it, within a second.
     */
    private static Path vcpuTask(String name) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + 1_000_000_000L;
        while (System.nanoTime() < deadline && tasksNamed(name).isEmpty()) Thread.sleep(5);
        List<Path> found = tasksNamed(name);
        assertEquals(1, found.size(), "threads named " + name);
        return found.getFirst();
    }

    private static List<Path> tasksNamed(String name) throws IOException {
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            return tasks.filter(t -> {
                try {
                    return Files.readString(t.resolve("comm")).strip().equals(name);
                } catch (IOException e) {
                    return false; // the thread ended
                }
            }).toList();
        }
    }

    /** utime + stime of a task, fields 14 and 15 of its stat (proc(5)), counted after the command's closing parenthesis. */
    private static long procCpuNanos(Path task) throws IOException {
        String stat = Files.readString(task.resolve("stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        // f[0] is field 3 (state): field n is f[n - 3].
        return (Long.parseLong(f[11]) + Long.parseLong(f[12])) * 10_000_000L;
    }
}
