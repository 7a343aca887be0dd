package io.aether.arch.x86_64;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The CPUID a vCPU sees: KVM's supported list (KVM_GET_SUPPORTED_CPUID) with a coherent
 * topology for one socket of {@code count} single-threaded cores, APIC id = vCPU index, and
 * without the power and performance-monitoring features the monitor does not offer.
 *
 * <p>Leaves touched (Intel SDM Vol. 2A "CPUID"; AMD APM Vol. 3 appendix E):
 * <ul>
 *   <li>1: initial APIC id (EBX 31:24), logical processor count (EBX 23:16), HTT when more
 *       than one vCPU, the hypervisor bit (ECX 31); PDCM cleared (no perfmon capabilities MSR);
 *       TSC-deadline (ECX 24) set where the in-kernel local APIC runs that timer mode and cleared
 *       elsewhere: older kernels' KVM_GET_SUPPORTED_CPUID leaves it out, as it depends on
 *       KVM_CREATE_IRQCHIP (KVM's api.rst), and says it through KVM_CAP_TSC_DEADLINE_TIMER instead.
 *       Without it Linux calibrates the APIC timer against the PIT at boot;
 *   <li>4 (Intel): cores per package (EAX 31:26) and threads sharing each cache (EAX 25:14):
 *       one for L1/L2, all vCPUs for L3;
 *   <li>6: only ARAT (always-running APIC timer) kept;
 *   <li>0xA: zero, no architectural performance monitoring;
 *   <li>0xB and 0x1F: x2APIC topology rebuilt: SMT level (1 thread), core level (all vCPUs,
 *       shift = bits of the core id), then the invalid level; EDX = x2APIC id;
 *   <li>AMD 0x8000_0001: CmpLegacy set when more than one vCPU (HTT counts cores), core/NB/LLC
 *       performance counter extensions cleared; 0x8000_0008 ECX: core count and APIC id size;
 *       0x8000_001D: cache sharing as for leaf 4; 0x8000_001E: extended APIC id, core id,
 *       one thread per core, one node; 0x8000_0022 (PerfMonV2): zero.
 * </ul>
 * Everything else, KVM's paravirtual leaves 0x4000_0000 and up included, is passed on unchanged.
 */
public final class Cpuid {

    static final int LEAF_VENDOR = 0x0;
    static final int LEAF_FEATURES = 0x1;
    static final int LEAF_CACHE = 0x4;
    static final int LEAF_THERMAL_POWER = 0x6;
    static final int LEAF_PERFMON = 0xA;
    static final int LEAF_TOPOLOGY = 0xB;
    static final int LEAF_TOPOLOGY_V2 = 0x1F;
    static final int LEAF_EXT_FEATURES = 0x8000_0001;
    static final int LEAF_EXT_ADDRESS_SIZES = 0x8000_0008;
    static final int LEAF_AMD_CACHE = 0x8000_001D;
    static final int LEAF_AMD_TOPOLOGY = 0x8000_001E;
    static final int LEAF_AMD_PERFMON_V2 = 0x8000_0022;

    static final int ECX_PDCM = 1 << 15;
    static final int ECX_TSC_DEADLINE = 1 << 24;
    static final int ECX_HYPERVISOR = 1 << 31;
    static final int EDX_HTT = 1 << 28;
    static final int EAX_ARAT = 1 << 2;
    static final int AMD_ECX_CMP_LEGACY = 1 << 1;
    static final int AMD_ECX_PERF_CTR_CORE = 1 << 23;
    static final int AMD_ECX_PERF_CTR_NB = 1 << 24;
    static final int AMD_ECX_PERF_CTR_LLC = 1 << 28;
    static final int LEVEL_SMT = 1;
    static final int LEVEL_CORE = 2;

    enum Vendor { INTEL, AMD, OTHER }

    private Cpuid() {
    }

    /**
     * The CPUID entries for vCPU {@code index} of {@code count}.
     *
     * @param supported what KVM_GET_SUPPORTED_CPUID returned on this host
     * @param tscDeadline whether the vCPU's local APIC can run in TSC-deadline mode (KVM's in-kernel
     *     APIC where KVM_CAP_TSC_DEADLINE_TIMER is present)
     * @throws IllegalArgumentException if {@code count} is not in 1..{@link PlatformConfig#MAX_VCPUS}
     *     or {@code index} not in 0..count-1
     */
    public static List<CpuidEntry> forVcpu(List<CpuidEntry> supported, int index, int count, boolean tscDeadline) {
        if (count < 1 || count > PlatformConfig.MAX_VCPUS) throw new IllegalArgumentException("vCPU count " + count + " is not in 1.." + PlatformConfig.MAX_VCPUS);
        if (index < 0 || index >= count) throw new IllegalArgumentException("vCPU index " + index + " is not in 0.." + (count - 1));
        Vendor vendor = vendor(supported);
        boolean amd = vendor == Vendor.AMD;
        int coreBits = 32 - Integer.numberOfLeadingZeros(count - 1); // ceil(log2(count))
        List<CpuidEntry> out = new ArrayList<>(supported.size() + 3);
        boolean topologyDone = false;
        boolean topologyV2Done = false;
        for (CpuidEntry e : supported) {
            switch (e.function()) {
                case LEAF_FEATURES -> out.add(features(e, index, count, tscDeadline));
                case LEAF_CACHE -> out.add(vendor == Vendor.INTEL ? cacheSharing(e, count, true) : e);
                case LEAF_THERMAL_POWER -> out.add(e.withRegisters(e.eax() & EAX_ARAT, 0, 0, 0));
                case LEAF_PERFMON -> out.add(e.withRegisters(0, 0, 0, 0));
                case LEAF_TOPOLOGY -> {
                    if (!topologyDone) out.addAll(topology(LEAF_TOPOLOGY, index, count, coreBits));
                    topologyDone = true;
                }
                case LEAF_TOPOLOGY_V2 -> {
                    if (!topologyV2Done) out.addAll(topology(LEAF_TOPOLOGY_V2, index, count, coreBits));
                    topologyV2Done = true;
                }
                case LEAF_EXT_FEATURES -> out.add(amd ? amdExtFeatures(e, count) : e);
                case LEAF_EXT_ADDRESS_SIZES -> out.add(amd ? e.withRegisters(e.eax(), e.ebx(),
                        (e.ecx() & ~0xF0FF) | (coreBits << 12) | (count - 1), e.edx()) : e);
                case LEAF_AMD_CACHE -> out.add(amd ? cacheSharing(e, count, false) : e);
                case LEAF_AMD_TOPOLOGY -> out.add(amd ? e.withRegisters(index, index & 0xFF, 0, 0) : e);
                case LEAF_AMD_PERFMON_V2 -> out.add(amd ? e.withRegisters(0, 0, 0, 0) : e);
                default -> out.add(e);
            }
        }
        return List.copyOf(out);
    }

    static Vendor vendor(List<CpuidEntry> entries) {
        for (CpuidEntry e : entries) {
            if (e.function() != LEAF_VENDOR) continue;
            byte[] id = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putInt(e.ebx()).putInt(e.edx()).putInt(e.ecx()).array();
            return switch (new String(id, StandardCharsets.US_ASCII)) {
                case "GenuineIntel" -> Vendor.INTEL;
                case "AuthenticAMD", "HygonGenuine" -> Vendor.AMD;
                default -> Vendor.OTHER;
            };
        }
        return Vendor.OTHER;
    }

    private static CpuidEntry features(CpuidEntry e, int index, int count, boolean tscDeadline) {
        int ebx = (index << 24) | (Math.min(count, 0xFF) << 16) | (e.ebx() & 0xFFFF);
        int ecx = (e.ecx() | ECX_HYPERVISOR) & ~ECX_PDCM;
        ecx = tscDeadline ? ecx | ECX_TSC_DEADLINE : ecx & ~ECX_TSC_DEADLINE;
        int edx = count > 1 ? e.edx() | EDX_HTT : e.edx() & ~EDX_HTT;
        return e.withRegisters(e.eax(), ebx, ecx, edx);
    }

    /**
     * Leaf 4 (Intel) or 0x8000_001D (AMD): threads sharing the cache in EAX 25:14 (minus one),
     * one per core for L1/L2 and all vCPUs for L3; on Intel also cores per package in EAX 31:26.
     */
    private static CpuidEntry cacheSharing(CpuidEntry e, int count, boolean intel) {
        if ((e.eax() & 0x1F) == 0) return e; // cache type 0: no more caches
        int level = (e.eax() >>> 5) & 0x7;
        int sharing = level >= 3 ? Math.min(count, 0x1000) - 1 : 0;
        int eax = (e.eax() & ~(0xFFF << 14)) | (sharing << 14);
        if (intel) eax = (eax & 0x03FF_FFFF) | ((Math.min(count, 64) - 1) << 26);
        return e.withRegisters(eax, e.ebx(), e.ecx(), e.edx());
    }

    private static List<CpuidEntry> topology(int leaf, int index, int count, int coreBits) {
        int f = CpuidEntry.SIGNIFICANT_INDEX;
        return List.of(
                new CpuidEntry(leaf, 0, f, 0, 1, (LEVEL_SMT << 8), index),
                new CpuidEntry(leaf, 1, f, coreBits, count, (LEVEL_CORE << 8) | 1, index),
                new CpuidEntry(leaf, 2, f, 0, 0, 2, index));
    }

    private static CpuidEntry amdExtFeatures(CpuidEntry e, int count) {
        int ecx = e.ecx() & ~(AMD_ECX_PERF_CTR_CORE | AMD_ECX_PERF_CTR_NB | AMD_ECX_PERF_CTR_LLC);
        ecx = count > 1 ? ecx | AMD_ECX_CMP_LEGACY : ecx & ~AMD_ECX_CMP_LEGACY;
        return e.withRegisters(e.eax(), e.ebx(), ecx, e.edx());
    }
}
