package io.aether.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.agentapi.Resources;
import io.aether.agentapi.VmInfo;
import io.aether.cgroups.CgroupLayout;
import io.aether.cgroups.Quota;
import io.aether.common.ByteSize;
import io.aether.http.ApiError;
import io.aether.http.ApiException;
import io.aether.vmspec.VmSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class QuotasTest {

    private static final CgroupLayout NONE = new CgroupLayout(CgroupLayout.Mode.NONE, new CgroupLayout.Placement.Unusable("no cgroup filesystem mounted"),
            new CgroupLayout.Placement.Unusable("no cgroup filesystem mounted"), new CgroupLayout.Placement.Unusable("no cgroup filesystem mounted"));

    @Test
    void whereCgroupsAreUnusableAQuotaIsRefusedWithTheReasonAndAVmWithoutOneRunsUnenforced() throws Exception {
        Quotas quotas = Quotas.open(NONE, "aether");
        VmSpec spec = VmSpec.stub(VmSpec.StubProgram.COUNT);
        assertFalse(quotas.enforced());
        assertTrue(quotas.describe().contains("quotas not enforced: cgroup quotas are unusable here: cpu: no cgroup filesystem mounted"),
                quotas.describe());

        ApiException refused = assertThrows(ApiException.class, () -> quotas.quotaFor(spec, new Resources(0.3, null)));
        ApiError.Conflict conflict = asConflict(refused.error());
        assertTrue(conflict.message().startsWith("resources: cannot enforce a quota on this node: cgroup quotas are unusable here"), conflict.message());

        // 1 vCPU and half a CPU, 16M of RAM and 96M for the monitor: the defaults, written out here rather than taken from Quota.forVm
        assertEquals(new Quota(Math.min(1.5, Runtime.getRuntime().availableProcessors()), ByteSize.ofMiB(112)), quotas.quotaFor(spec, null));
        assertEquals(new VmInfo.Quota(Math.min(1.5, Runtime.getRuntime().availableProcessors()), 112L << 20, false), quotas.report(spec, null));
        assertTrue(quotas.create("vm", quotas.quotaFor(spec, null)).isEmpty());
    }

    private static ApiError.Conflict asConflict(ApiError error) {
        assertTrue(error instanceof ApiError.Conflict, "a conflict: " + error);
        return (ApiError.Conflict) error;
    }
}
