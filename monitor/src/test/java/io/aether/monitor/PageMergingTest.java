package io.aether.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.monitorapi.MonitorClient;
import io.aether.monitorapi.VmState;
import io.aether.testkit.ProcessMappings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real monitor offers its own memory to the kernel's same-page merging and keeps its guest's
 * out, as the kernel reports them ({@code /proc/PID/ksm_stat}, {@code /proc/PID/smaps}'s {@code mg}
 * flag: VM_MERGEABLE); {@code --no-page-merging} offers nothing.
 */
@Timeout(60)
class PageMergingTest {

    /** The guest's RAM: the spec's 16 MiB. */
    private static final long GUEST_BYTES = 16L << 20;

    @TempDir
    Path dir;

    private Process monitor;

    @AfterEach
    void stop() throws InterruptedException {
        if (monitor != null) {
            monitor.destroyForcibly();
            monitor.waitFor(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void aMonitorsOwnMemoryIsMergeableAndItsGuestsIsNot() throws Exception {
        List<ProcessMappings.Mapping> mappings = mappingsOfRunningMonitor();
        // The guest's RAM is private, anonymous and not reserved (smaps's "nr"). The kernel merges
        // it with a neighbour of the same kind, and glibc's malloc arenas are that kind: in the
        // nested test host it once sat beside one, a mapping of 16.13 MiB. So the guest's mapping
        // is the writable unreserved one of at least 16 MiB, not one of exactly that size.
        List<ProcessMappings.Mapping> guest = mappings.stream()
                .filter(m -> m.size() >= GUEST_BYTES && m.flags().contains("wr") && m.flags().contains("nr")).toList();
        assertFalse(guest.isEmpty(), "no mapping of the guest's 16 MiB: " + mappings);
        assertTrue(guest.stream().noneMatch(ProcessMappings.Mapping::mergeable), "the guest's RAM is mergeable: " + guest);
        if (!ProcessMappings.kernelMergesWholeProcesses()) {
            // Linux before 6.4 (the nested test host's 6.1): the monitor runs unmerged and says nothing of it.
            assertTrue(mappings.stream().noneMatch(ProcessMappings.Mapping::mergeable), "mergeable without the kernel's merging: " + mappings);
            assertFalse(read(dir.resolve("monitor.out")).contains("page merging"), read(dir.resolve("monitor.out")));
            return;
        }
        assertEquals("yes", ProcessMappings.ksmStat(monitor.pid(), "ksm_merge_any"));
        // The Java heap, the JVM's and libc's own: dozens of mappings of the monitor's.
        long mergeable = mappings.stream().filter(ProcessMappings.Mapping::mergeable).count();
        assertTrue(mergeable > 10, mergeable + " mergeable mappings of " + mappings.size());
    }

    @Test
    void noPageMergingOffersNothing() throws Exception {
        List<ProcessMappings.Mapping> mappings = mappingsOfRunningMonitor(PageMerging.OFF_OPTION);
        if (ProcessMappings.kernelMergesWholeProcesses()) assertEquals("no", ProcessMappings.ksmStat(monitor.pid(), "ksm_merge_any"));
        assertTrue(mappings.stream().noneMatch(ProcessMappings.Mapping::mergeable), "mergeable: " + mappings.stream().filter(ProcessMappings.Mapping::mergeable).toList());
    }

    private List<ProcessMappings.Mapping> mappingsOfRunningMonitor(String... options) throws Exception {
        MonitorProcesses.requireKvm();
        Path socket = dir.resolve("vm.sock");
        Path spec = Files.writeString(dir.resolve("spec.json"), "{\"boot\": {\"stub\": \"echo\"}, \"memory\": \"16M\"}");
        List<String> command = MonitorProcesses.command();
        command.addAll(List.of("--spec", spec.toString(), "--socket", socket.toString()));
        command.addAll(List.of(options));
        monitor = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(dir.resolve("monitor.out").toFile()).start();
        MonitorClient client = new MonitorClient(socket, Duration.ofSeconds(10));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(40);
        while (true) {
            try {
                if (client.state().state() == VmState.RUNNING) break;
            } catch (IOException e) {
                // not serving yet
            }
            assertTrue(monitor.isAlive() && System.nanoTime() < deadline, () -> "no running VM: " + read(dir.resolve("monitor.out")));
            Thread.sleep(20);
        }
        return ProcessMappings.of(monitor.pid());
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            return e.toString();
        }
    }
}
