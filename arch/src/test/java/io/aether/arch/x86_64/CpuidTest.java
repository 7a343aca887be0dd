package io.aether.arch.x86_64;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.testkit.Gen;
import io.aether.testkit.Property;
import java.util.List;
import org.junit.jupiter.api.Test;

class CpuidTest {

    private static final int SIG = CpuidEntry.SIGNIFICANT_INDEX;

    private static CpuidEntry leaf(int function, int eax, int ebx, int ecx, int edx) {
        return new CpuidEntry(function, 0, 0, eax, ebx, ecx, edx);
    }

    private static CpuidEntry sub(int function, int index, int eax, int ebx, int ecx, int edx) {
        return new CpuidEntry(function, index, SIG, eax, ebx, ecx, edx);
    }

    /** A made-up KVM_GET_SUPPORTED_CPUID list of an 8-core, 16-thread Intel host. */
    static final List<CpuidEntry> INTEL = List.of(
            leaf(0x0, 0x1F, 0x756E_6547, 0x6C65_746E, 0x4965_6E69), // "GenuineIntel"
            leaf(0x1, 0x0009_06EA, 0x0710_0800, 0x7FFA_FBFF, 0xBFEB_FBFF),
            sub(0x4, 0, 0x1C00_4121, 0x01C0_003F, 0x3F, 0),
            sub(0x4, 1, 0x1C00_4122, 0x01C0_003F, 0x3F, 0),
            sub(0x4, 2, 0x1C00_4143, 0x00C0_003F, 0x3FF, 0),
            sub(0x4, 3, 0x1C03_C163, 0x03C0_003F, 0x3FFF, 6),
            sub(0x4, 4, 0, 0, 0, 0),
            leaf(0x6, 0x77, 0x2, 0x9, 0),
            sub(0x7, 0, 0, 0x029C_6FBF, 0x4000_0000, 0xBC00_0400),
            leaf(0xA, 0x0730_0404, 0, 0, 0x603),
            sub(0xB, 0, 1, 2, 0x100, 7),
            sub(0xB, 1, 4, 16, 0x201, 7),
            sub(0x1F, 0, 1, 2, 0x100, 7),
            sub(0x1F, 1, 4, 16, 0x201, 7),
            sub(0x1F, 2, 0, 0, 2, 7),
            leaf(0x4000_0000, 0x4000_0001, 0x4B4D_564B, 0x564B_4D56, 0x4D),
            leaf(0x4000_0001, 0x0100_7AFB, 0, 0, 0),
            leaf(0x8000_0000, 0x8000_0008, 0, 0, 0),
            leaf(0x8000_0001, 0, 0, 0x121, 0x2C10_0800),
            leaf(0x8000_0008, 0x3027, 0, 0, 0));

    /** A made-up list of a 16-core AMD host with topology extensions. */
    static final List<CpuidEntry> AMD = List.of(
            leaf(0x0, 0x10, 0x6874_7541, 0x444D_4163, 0x6974_6E65), // "AuthenticAMD"
            leaf(0x1, 0x00A2_0F10, 0x0520_0800, 0x7ED8_320B, 0x178B_FBFF),
            sub(0x4, 0, 0, 0, 0, 0),
            leaf(0x6, 0x4, 0, 0x1, 0),
            sub(0xB, 0, 1, 2, 0x100, 5),
            sub(0xB, 1, 5, 32, 0x201, 5),
            sub(0xB, 2, 0, 0, 2, 5),
            leaf(0x8000_0000, 0x8000_0022, 0x6874_7541, 0x444D_4163, 0x6974_6E65),
            leaf(0x8000_0001, 0x00A2_0F10, 0, 0x75C2_37FF, 0x2FD3_FBFF),
            leaf(0x8000_0008, 0x3030, 0x0, 0x0001_700F, 0),
            sub(0x8000_001D, 0, 0x0000_4121, 0x01C0_003F, 0x3F, 0),
            sub(0x8000_001D, 1, 0x0000_4122, 0x01C0_003F, 0x3F, 0),
            sub(0x8000_001D, 2, 0x0000_4143, 0x01C0_003F, 0x3FF, 2),
            sub(0x8000_001D, 3, 0x0003_C163, 0x03C0_003F, 0x7FFF, 1),
            sub(0x8000_001D, 4, 0, 0, 0, 0),
            leaf(0x8000_001E, 5, 0x0102, 0x0300, 0),
            leaf(0x8000_0022, 7, 0x0107_4105, 0, 0));

    private static List<CpuidEntry> all(List<CpuidEntry> entries, int function) {
        return entries.stream().filter(e -> e.function() == function).toList();
    }

    private static CpuidEntry one(List<CpuidEntry> entries, int function) {
        List<CpuidEntry> found = all(entries, function);
        assertEquals(1, found.size(), "entries for leaf 0x" + Integer.toHexString(function));
        return found.getFirst();
    }

    @Test
    void vendorComesFromLeafZero() {
        assertEquals(Cpuid.Vendor.INTEL, Cpuid.vendor(INTEL));
        assertEquals(Cpuid.Vendor.AMD, Cpuid.vendor(AMD));
        assertEquals(Cpuid.Vendor.AMD, Cpuid.vendor(List.of(leaf(0, 0xD, 0x6F67_7948, 0x656E_6975, 0x6E65_476E)))); // HygonGenuine
        assertEquals(Cpuid.Vendor.OTHER, Cpuid.vendor(List.of(leaf(0, 0xD, 1, 2, 3))));
        assertEquals(Cpuid.Vendor.OTHER, Cpuid.vendor(List.of()));
    }

    @Test
    void intelLeafOneCarriesApicIdCountHttAndHypervisorBit() {
        CpuidEntry l1 = one(Cpuid.forVcpu(INTEL, 2, 4, false), 0x1);
        assertEquals(0x0009_06EA, l1.eax());
        assertEquals(0x0204_0800, l1.ebx(), "APIC id 2, 4 logical processors, CLFLUSH size kept");
        assertEquals((0x7FFA_FBFF | (1 << 31)) & ~(1 << 15) & ~(1 << 24), l1.ecx(), "hypervisor bit set, PDCM and TSC-deadline cleared");
        assertTrue(l1.ecx() < 0, "ECX bit 31");
        assertEquals(0, l1.ecx() & (1 << 15), "PDCM cleared with the PMU");
        assertEquals(1 << 28, l1.edx() & (1 << 28), "HTT with more than one vCPU");
        CpuidEntry single = one(Cpuid.forVcpu(INTEL, 0, 1, false), 0x1);
        assertEquals(0x0001_0800, single.ebx());
        assertEquals(0, single.edx() & (1 << 28), "no HTT for a single vCPU");
    }

    @Test
    void intelCacheLeafSharesL1AndL2PerCoreAndL3AcrossAll() {
        List<CpuidEntry> caches = all(Cpuid.forVcpu(INTEL, 2, 4, false), 0x4);
        assertEquals(5, caches.size());
        assertEquals((3 << 26) | 0x121, caches.get(0).eax(), "L1d: 4 cores, 1 thread sharing");
        assertEquals((3 << 26) | 0x122, caches.get(1).eax());
        assertEquals((3 << 26) | 0x143, caches.get(2).eax(), "L2: per core");
        assertEquals((3 << 26) | (3 << 14) | 0x163, caches.get(3).eax(), "L3: shared by all 4");
        assertEquals(0x03C0_003F, caches.get(3).ebx(), "geometry kept");
        assertEquals(INTEL.get(6), caches.get(4), "terminating sub-leaf untouched");
    }

    @Test
    void powerManagementAndPerfmonAreRemoved() {
        List<CpuidEntry> out = Cpuid.forVcpu(INTEL, 0, 2, false);
        CpuidEntry l6 = one(out, 0x6);
        assertEquals(new CpuidEntry(0x6, 0, 0, 0x4, 0, 0, 0), l6, "only ARAT stays");
        assertEquals(new CpuidEntry(0xA, 0, 0, 0, 0, 0, 0), one(out, 0xA));
    }

    @Test
    void extendedTopologyIsRebuiltForOneSocketOfCores() {
        List<CpuidEntry> out = Cpuid.forVcpu(INTEL, 5, 6, false);
        for (int leaf : new int[] {0xB, 0x1F}) {
            assertEquals(List.of(
                    new CpuidEntry(leaf, 0, SIG, 0, 1, 0x100, 5),
                    new CpuidEntry(leaf, 1, SIG, 3, 6, 0x201, 5),
                    new CpuidEntry(leaf, 2, SIG, 0, 0, 2, 5)), all(out, leaf));
        }
    }

    @Test
    void everythingElseIsPassedOnUnchanged() {
        List<CpuidEntry> out = Cpuid.forVcpu(INTEL, 1, 2, false);
        for (int leaf : new int[] {0x0, 0x7, 0x4000_0000, 0x4000_0001, 0x8000_0000, 0x8000_0001, 0x8000_0008}) {
            assertEquals(all(INTEL, leaf), all(out, leaf), "leaf 0x" + Integer.toHexString(leaf));
        }
        assertEquals(INTEL.size() - 2 + 3, out.size(), "leaf 0xB now has three sub-leaves");
    }

    @Test
    void amdTopologyLeavesDescribeTheSameCores() {
        List<CpuidEntry> out = Cpuid.forVcpu(AMD, 3, 6, false);
        assertEquals(0x0001_0000 | (3 << 12) | 5, one(out, 0x8000_0008).ecx(), "6 cores, 3-bit core id, perf TSC size kept");
        assertEquals(0x3030, one(out, 0x8000_0008).eax());
        assertEquals(new CpuidEntry(0x8000_001E, 0, 0, 3, 3, 0, 0), one(out, 0x8000_001E), "APIC id 3, core 3, 1 thread, node 0");
        List<CpuidEntry> caches = all(out, 0x8000_001D);
        assertEquals(0x121, caches.get(0).eax(), "L1d: the host's 2 SMT threads become 1");
        assertEquals(0x143, caches.get(2).eax());
        assertEquals((5 << 14) | 0x163, caches.get(3).eax(), "L3 shared by all 6");
        assertEquals(AMD.get(14), caches.get(4));
        CpuidEntry ext = one(out, 0x8000_0001);
        assertEquals(2, ext.ecx() & 2, "CmpLegacy: HTT counts cores");
        assertEquals(0, ext.ecx() & ((1 << 23) | (1 << 24) | (1 << 28)), "no core/NB/LLC perf counters");
        assertEquals(0x75C2_37FF & ~((1 << 23) | (1 << 24) | (1 << 28)) | 2, ext.ecx());
        assertEquals(new CpuidEntry(0x8000_0022, 0, 0, 0, 0, 0, 0), one(out, 0x8000_0022));
        assertEquals(AMD.get(2), one(out, 0x4), "leaf 4 is Intel's; left alone on AMD");
        assertEquals(0x0306_0800, one(out, 0x1).ebx());
        assertEquals(List.of(
                new CpuidEntry(0xB, 0, SIG, 0, 1, 0x100, 3),
                new CpuidEntry(0xB, 1, SIG, 3, 6, 0x201, 3),
                new CpuidEntry(0xB, 2, SIG, 0, 0, 2, 3)), all(out, 0xB));
    }

    @Test
    void singleVcpuAmdHasNoCmpLegacyAndZeroCoreBits() {
        List<CpuidEntry> out = Cpuid.forVcpu(AMD, 0, 1, false);
        assertEquals(0, one(out, 0x8000_0001).ecx() & 2);
        assertEquals(0x0001_0000, one(out, 0x8000_0008).ecx());
    }

    @Test
    void unknownVendorsGetOnlyTheCommonChanges() {
        List<CpuidEntry> host = List.of(leaf(0, 0xB, 1, 2, 3), leaf(0x1, 0x1, 0, 0, 0), sub(0x4, 0, 0x121, 0, 0, 0),
                leaf(0x8000_0008, 0x3030, 0, 0x700F, 0));
        List<CpuidEntry> out = Cpuid.forVcpu(host, 1, 2, false);
        assertEquals(0x0102_0000, one(out, 0x1).ebx());
        assertEquals(host.get(2), one(out, 0x4));
        assertEquals(host.get(3), one(out, 0x8000_0008));
    }

    /**
     * CPUID.01H:ECX bit 24 is TSC-Deadline (Intel SDM Vol. 2A, table "Feature Information Returned
     * in the ECX Register"); an older KVM's supported list leaves it clear (api.rst, KVM_GET_SUPPORTED_CPUID).
     */
    @Test
    void theTscDeadlineTimerIsAnnouncedOnlyWhereTheApicRunsIt() {
        int tscDeadline = 0x0100_0000;
        for (List<CpuidEntry> host : List.of(INTEL, AMD)) {
            List<CpuidEntry> kvmLike = host.stream()
                    .map(e -> e.function() == 0x1 ? e.withRegisters(e.eax(), e.ebx(), e.ecx() & ~tscDeadline, e.edx()) : e)
                    .toList();
            CpuidEntry with = one(Cpuid.forVcpu(kvmLike, 0, 1, true), 0x1);
            CpuidEntry without = one(Cpuid.forVcpu(kvmLike, 0, 1, false), 0x1);
            assertEquals(tscDeadline, with.ecx() & tscDeadline, "announced with the in-kernel APIC");
            assertEquals(0, without.ecx() & tscDeadline, "not announced without it");
            assertEquals(without.ecx(), with.ecx() & ~tscDeadline, "no other bit of ECX changes");
            assertEquals(List.of(without.eax(), without.ebx(), without.edx()), List.of(with.eax(), with.ebx(), with.edx()));
        }
    }

    @Test
    void badIndicesAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> Cpuid.forVcpu(INTEL, 2, 2, false));
        assertThrows(IllegalArgumentException.class, () -> Cpuid.forVcpu(INTEL, -1, 2, false));
        assertThrows(IllegalArgumentException.class, () -> Cpuid.forVcpu(INTEL, 0, 0, false));
        assertThrows(IllegalArgumentException.class, () -> Cpuid.forVcpu(INTEL, 0, 256, false));
    }

    @Test
    void everyVcpuSitsInPackageZeroWithItsOwnId() {
        Property.forAll(Gen.ints(1, 255), Gen.ints(0, 254)).tries(300).check((count, rawIndex) -> {
            int index = rawIndex % count;
            for (List<CpuidEntry> host : List.of(INTEL, AMD)) {
                List<CpuidEntry> out = Cpuid.forVcpu(host, index, count, false);
                assertEquals(index, one(out, 0x1).ebx() >>> 24);
                CpuidEntry core = all(out, 0xB).get(1);
                int shift = core.eax() & 0x1F;
                assertEquals(index, core.edx());
                assertEquals(0, index >>> shift, "package id 0");
                assertTrue(count <= 1 << shift, "every core id fits the shift");
                assertTrue(shift == 0 || count > 1 << (shift - 1), "the shift is minimal");
                assertEquals(count, core.ebx() & 0xFFFF);
            }
        });
    }
}
