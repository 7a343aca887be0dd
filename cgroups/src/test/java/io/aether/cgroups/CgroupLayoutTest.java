package io.aether.cgroups;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.cgroups.CgroupLayout.Mode;
import io.aether.cgroups.CgroupLayout.Placement;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Layouts read from mountinfo texts whose mount points are directories made here, as the kernel would show them. */
@Timeout(10)
class CgroupLayoutTest {

    @TempDir
    Path root;

    private int mountId = 32;

    /** A mountinfo line as the kernel writes it, with an optional field ({@code shared:N}) as systemd's mounts have. */
    private String line(Path mount, String mountOptions, String type, String superOptions) {
        return (mountId++) + " 31 0:" + mountId + " / " + mount.toString().replace(" ", "\\040") + " " + mountOptions
                + " shared:" + mountId + " - " + type + " " + type + " " + superOptions;
    }

    /** A v1 hierarchy's mount point; the cpu controller's has the CFS bandwidth files. */
    private Path v1(String name) throws IOException {
        Path dir = Files.createDirectories(root.resolve(name));
        if (name.contains("cpu")) Files.writeString(dir.resolve("cpu.cfs_quota_us"), "-1\n");
        return dir;
    }

    private Path v2(String name, String controllers) throws IOException {
        Path dir = Files.createDirectories(root.resolve(name));
        Files.writeString(dir.resolve("cgroup.controllers"), controllers + "\n");
        return dir;
    }

    private static Hierarchy usable(Placement placement) {
        if (placement instanceof Placement.Usable(Hierarchy h)) return h;
        throw new AssertionError("not usable: " + placement);
    }

    private static String reason(Placement placement) {
        if (placement instanceof Placement.Unusable(String reason)) return reason;
        throw new AssertionError("usable: " + placement);
    }

    @Test
    void hybridWithCpuAndCpuacctApartUsesTheV1HierarchiesAsThisMachineHasThem() throws IOException {
        Path cpu = v1("cpu");
        Path cpuacct = v1("acct");
        Path memory = v1("memory");
        Path unified = v2("unified", "");
        String mountinfo = String.join("\n",
                "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755",
                line(cpu, "rw,relatime", "cgroup", "rw,cpu"),
                line(cpuacct, "rw,relatime", "cgroup", "rw,cpuacct"),
                line(v1("pids"), "rw,relatime", "cgroup", "rw,pids"),
                line(memory, "rw,nosuid,nodev,noexec,relatime", "cgroup", "rw,memory"),
                line(v1("systemd"), "rw,relatime", "cgroup", "rw,xattr,name=systemd"),
                line(unified, "rw,relatime", "cgroup2", "rw"),
                "");
        CgroupLayout layout = CgroupLayout.detect(mountinfo, 0);
        assertEquals(Mode.HYBRID, layout.mode());
        assertEquals(new Hierarchy(cpu, false, Set.of("cpu"), false), usable(layout.cpu()));
        assertEquals(new Hierarchy(cpuacct, false, Set.of("cpuacct"), false), usable(layout.cpuAccounting()));
        assertEquals(new Hierarchy(memory, false, Set.of("memory"), false), usable(layout.memory()));
        assertTrue(layout.usable(), layout.problems().toString());
        assertEquals(List.of(usable(layout.cpu()), usable(layout.cpuAccounting()), usable(layout.memory())), layout.hierarchies());
        assertEquals("cgroup v1 with a v2 hierarchy beside it (hybrid): cpu in " + cpu + " (v1), cpu accounting in " + cpuacct
                + " (v1), memory in " + memory + " (v1)", layout.describe());
    }

    @Test
    void coMountedCpuAndCpuacctShareOneDirectory() throws IOException {
        Path cpu = v1("cpu,cpuacct");
        Path memory = v1("memory");
        CgroupLayout layout = CgroupLayout.detect(String.join("\n",
                line(cpu, "rw,nosuid", "cgroup", "rw,cpu,cpuacct"),
                line(memory, "rw", "cgroup", "rw,memory")), 0);
        assertEquals(Mode.LEGACY, layout.mode());
        Hierarchy both = new Hierarchy(cpu, false, Set.of("cpu", "cpuacct"), false);
        assertEquals(both, usable(layout.cpu()));
        assertEquals(both, usable(layout.cpuAccounting()));
        assertEquals(2, layout.hierarchies().size());
    }

    @Test
    void unifiedPlacesEverythingInTheOneHierarchy() throws IOException {
        Path unified = v2("with space", "cpuset cpu io memory hugetlb pids rdma misc");
        CgroupLayout layout = CgroupLayout.detect(line(unified, "rw,nosuid,nodev,noexec,relatime", "cgroup2", "rw,nsdelegate,memory_recursiveprot"), 0);
        assertEquals(Mode.UNIFIED, layout.mode());
        Hierarchy h = usable(layout.cpu());
        assertEquals(unified, h.mount(), "the mountinfo escape \\040 is a space");
        assertTrue(h.unified());
        assertEquals(h, usable(layout.cpuAccounting()));
        assertEquals(h, usable(layout.memory()));
        assertEquals(List.of(h), layout.hierarchies());
    }

    @Test
    void eachMissingPieceIsReportedWithItsReason() throws IOException {
        Path unified = v2("unified", "cpuset io pids");
        CgroupLayout noControllers = CgroupLayout.detect(line(unified, "rw", "cgroup2", "rw"), 0);
        assertFalse(noControllers.usable());
        assertEquals("the kernel offers no cpu controller: no cgroup v1 hierarchy has it and " + unified.resolve("cgroup.controllers")
                + " does not list it", reason(noControllers.cpu()));
        assertEquals(unified, usable(noControllers.cpuAccounting()).mount(), "v2 keeps cpu.stat without the cpu controller");
        assertEquals(List.of("cpu: " + reason(noControllers.cpu()), "memory: " + reason(noControllers.memory())), noControllers.problems());

        Path readOnly = v2("ro", "cpu memory");
        CgroupLayout mountedReadOnly = CgroupLayout.detect(line(readOnly, "ro,nosuid", "cgroup2", "rw"), 0);
        assertEquals("read-only mount: " + readOnly, reason(mountedReadOnly.memory()));
        assertEquals("read-only mount: " + readOnly, reason(mountedReadOnly.cpu()));

        Path noBandwidth = Files.createDirectories(root.resolve("nobw"));
        CgroupLayout noCfs = CgroupLayout.detect(String.join("\n",
                line(noBandwidth, "rw", "cgroup", "rw,cpu,cpuacct"), line(v1("memory"), "rw", "cgroup", "rw,memory")), 0);
        assertEquals("the kernel has no CFS bandwidth control (no cpu.cfs_quota_us in " + noBandwidth + ")", reason(noCfs.cpu()));
        assertEquals(noBandwidth, usable(noCfs.cpuAccounting()).mount());

        CgroupLayout v1WithoutMemory = CgroupLayout.detect(line(v1("cpu"), "rw", "cgroup", "rw,cpu,cpuacct"), 0);
        assertEquals("no cgroup v1 hierarchy has the memory controller and no cgroup v2 hierarchy is mounted", reason(v1WithoutMemory.memory()));

        CgroupLayout none = CgroupLayout.detect("22 1 0:21 / /proc rw - proc proc rw\n", 0);
        assertEquals(Mode.NONE, none.mode());
        assertEquals(List.of("cpu: no cgroup filesystem is mounted (see /proc/self/mountinfo)",
                "cpu accounting: no cgroup filesystem is mounted (see /proc/self/mountinfo)",
                "memory: no cgroup filesystem is mounted (see /proc/self/mountinfo)"), none.problems());
        assertEquals("no cgroup filesystem mounted: cpu unusable (no cgroup filesystem is mounted (see /proc/self/mountinfo)), cpu accounting"
                + " unusable (no cgroup filesystem is mounted (see /proc/self/mountinfo)), memory unusable (no cgroup filesystem is mounted"
                + " (see /proc/self/mountinfo))", none.describe());
    }

    @Test
    void malformedLinesAreIgnored() {
        assertEquals(Mode.NONE, CgroupLayout.detect("garbage\n\n1 2 3\n1 2 0:1 / /x rw - cgroup\n", 0).mode());
    }
}
