package io.aether.cgroups;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.aether.common.ByteSize;
import io.aether.common.FieldException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class QuotaTest {

    private static void refused(String field, String message, Runnable build) {
        FieldException e = assertThrows(FieldException.class, build::run);
        assertEquals(field, e.field());
        assertEquals(message, e.getMessage());
    }

    @Test
    void eachBadValueIsRefusedNamingItsField() {
        refused("cpus", "cpus: 0.005 is too small (at least 0.01)", () -> new Quota(0.005, ByteSize.ofMiB(64)));
        refused("cpus", "cpus: 0 is too small (at least 0.01)", () -> new Quota(0, ByteSize.ofMiB(64)));
        refused("cpus", "cpus: -1 is too small (at least 0.01)", () -> new Quota(-1, ByteSize.ofMiB(64)));
        refused("cpus", "cpus: NaN is not a number of CPUs", () -> new Quota(Double.NaN, ByteSize.ofMiB(64)));
        refused("cpus", "cpus: Infinity is not a number of CPUs", () -> new Quota(Double.POSITIVE_INFINITY, ByteSize.ofMiB(64)));
        refused("memory", "memory: 3M is too small (at least 4M)", () -> new Quota(1, ByteSize.ofMiB(3)));
    }

    @Test
    void aQuotaMustFitTheHostsCpusAndHoldTheGuestAndItsMonitor() {
        Quota quota = new Quota(2, ByteSize.ofMiB(352));
        assertSame(quota, quota.checkFits(2, ByteSize.ofMiB(256)), "256M of RAM + 96M for the monitor = 352M: just fits");
        refused("cpus", "cpus: 2.5 is more than this host's 2 CPUs", () -> new Quota(2.5, ByteSize.ofMiB(352)).checkFits(2, ByteSize.ofMiB(256)));
        refused("memory", "memory: 351M is less than the VM's 256M of RAM plus 96M for its monitor (352M)",
                () -> new Quota(1, ByteSize.ofMiB(351)).checkFits(2, ByteSize.ofMiB(256)));
        refused("memory", "memory: 369098751 is less than the VM's 256M of RAM plus 96M for its monitor (352M)",
                () -> new Quota(1, new ByteSize(369_098_751)).checkFits(2, ByteSize.ofMiB(256)));
    }

    @Test
    void theDefaultQuotaIsOneCpuPerVcpuAndTheGuestsRamPlusTheMonitor() {
        assertEquals(new Quota(4.5, ByteSize.ofMiB(2048 + 96)), Quota.forVm(4, ByteSize.ofMiB(2048)), "half a CPU for the monitor's threads");
    }

    @Test
    void cpusBecomeACfsQuotaPerPeriod() {
        ByteSize memory = ByteSize.ofMiB(64);
        assertEquals(1_000, new Quota(0.01, memory).quotaMicros(100_000), "the kernel's smallest quota, 1 ms");
        assertEquals(20_000, new Quota(0.2, memory).quotaMicros(100_000));
        assertEquals(150_000, new Quota(1.5, memory).quotaMicros(100_000));
        assertEquals(33_333, new Quota(1 / 3.0, memory).quotaMicros(100_000));
    }
}
