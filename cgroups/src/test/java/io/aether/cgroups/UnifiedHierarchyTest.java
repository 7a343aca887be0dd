package io.aether.cgroups;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.aether.cgroups.CgroupLayout.Mode;
import io.aether.cgroups.CgroupLayout.Placement;
import io.aether.common.ByteSize;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cgroup v2 files, which this machine's kernel does not offer (its controllers are bound to
 * v1): a group directory made here with the files a v2 kernel has, their contents written as
 * the kernel's documentation (Documentation/admin-guide/cgroup-v2.rst) shows them.
 */
@Timeout(10)
class UnifiedHierarchyTest {

    @TempDir
    Path mount;

    private Hierarchy unified() {
        return new Hierarchy(mount, true, Set.of("cpu", "memory"), false);
    }

    private KernelCgroup group(String... files) throws IOException {
        Path dir = Files.createDirectories(mount.resolve("aether/vm1"));
        for (String file : files) Files.createFile(dir.resolve(file));
        KernelCgroup.Dir d = new KernelCgroup.Dir(unified(), dir);
        return new KernelCgroup("vm1", d, d, d, Runtime.getRuntime().availableProcessors());
    }

    private String read(String file) throws IOException {
        return Files.readString(mount.resolve("aether/vm1").resolve(file));
    }

    private void write(String file, String content) throws IOException {
        Files.writeString(mount.resolve("aether/vm1").resolve(file), content);
    }

    @Test
    void limitsAreWrittenAsCpuMaxMemoryMaxAndNoSwap() throws Exception {
        KernelCgroup group = group("cpu.max", "memory.max", "memory.swap.max");
        group.setLimits(new Quota(0.2, ByteSize.ofMiB(64)));
        assertEquals("20000 100000", read("cpu.max"));
        assertEquals("67108864", read("memory.max"));
        assertEquals("0", read("memory.swap.max"));
        assertEquals(new Quota(0.2, ByteSize.ofMiB(64)), group.limits());
    }

    @Test
    void theWeightIsCpuWeightFromOneToTheDefaultHundred() throws Exception {
        KernelCgroup group = group("cpu.weight");
        group.weigh(CpuWeight.LOWEST);
        assertEquals("1", read("cpu.weight"));
        assertEquals(Optional.of(CpuWeight.LOWEST), group.weight());
        group.weigh(CpuWeight.NORMAL);
        assertEquals("100", read("cpu.weight"));
        assertEquals(Optional.of(CpuWeight.NORMAL), group.weight());
        write("cpu.weight", "50\n");
        assertEquals(Optional.empty(), group.weight(), "a weight set by someone else");
    }

    @Test
    void usageComesFromCpuStatMemoryCurrentPeakAndEvents() throws Exception {
        KernelCgroup group = group("cpu.stat", "memory.current", "memory.events");
        write("cpu.stat", "usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\nnr_periods 30\nnr_throttled 12\nthrottled_usec 81000\n");
        write("memory.current", "1048576\n");
        write("memory.events", "low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\noom_group_kill 0\n");
        assertEquals(new CgroupUsage(Duration.ofMillis(1500), 12, ByteSize.ofMiB(1), Optional.empty(), 7, 1), group.usage(),
                "kernels before 5.19 have no memory.peak");
        write("memory.peak", "2097152\n");
        assertEquals(Optional.of(ByteSize.ofMiB(2)), group.usage().memoryPeak());
    }

    @Test
    void unexpectedContentIsAnErrorNamingTheFile() throws Exception {
        KernelCgroup group = group("cpu.stat", "memory.current", "memory.events", "cpu.max", "memory.max");
        write("cpu.stat", "usage_usec 1\nnr_throttled 0\n");
        write("memory.events", "max 0\noom_kill 0\n");
        write("memory.current", "lots\n");
        assertEquals(mount.resolve("aether/vm1/memory.current") + ": 'lots' is not a number",
                assertThrows(CgroupException.class, group::usage).getMessage());
        write("cpu.stat", "nr_throttled 0\n");
        assertEquals(mount.resolve("aether/vm1/cpu.stat") + ": no 'usage_usec' line", assertThrows(CgroupException.class, group::usage).getMessage());
        write("cpu.stat", "usage_usec 1\n" + "x".repeat(64 * 1024));
        assertEquals(mount.resolve("aether/vm1/cpu.stat") + ": longer than 65536 bytes", assertThrows(CgroupException.class, group::usage).getMessage());
        write("cpu.max", "max 100000\n");
        assertEquals(mount.resolve("aether/vm1/cpu.max") + ": no CPU limit set", assertThrows(CgroupException.class, group::limits).getMessage());
    }

    @Test
    void controllersAreEnabledDownTheTreeAndAFailureRemovesWhatWasMade() throws Exception {
        Files.createFile(mount.resolve("cgroup.subtree_control"));
        Placement.Usable here = new Placement.Usable(unified());
        Cgroups cgroups = Cgroups.under(new CgroupLayout(Mode.UNIFIED, here, here, here), "aether");
        // The new parent has no cgroup.subtree_control here, as a v2 kernel would have made it
        CgroupException e = assertThrows(CgroupException.class, () -> cgroups.create("vm1", new Quota(1, ByteSize.ofMiB(64))));
        assertEquals("cannot write '+cpu' to " + mount.resolve("aether/cgroup.subtree_control") + ": no such file", e.getMessage());
        assertFalse(Files.exists(mount.resolve("aether")), "the parent made for the group is removed again");
    }
}
