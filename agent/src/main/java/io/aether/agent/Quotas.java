package io.aether.agent;

import io.aether.agentapi.Resources;
import io.aether.agentapi.VmInfo;
import io.aether.cgroups.CgroupException;
import io.aether.cgroups.CgroupLayout;
import io.aether.cgroups.CgroupUsage;
import io.aether.cgroups.Cgroups;
import io.aether.cgroups.Quota;
import io.aether.cgroups.VmCgroup;
import io.aether.common.FieldException;
import io.aether.http.ApiError;
import io.aether.vmspec.VmSpec;
import java.util.Optional;
import java.util.Set;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Each VM's quota, enforced by its monitor process's own cgroup ({@code PARENT/VMID}): a cold
 * monitor is moved into it right after it is spawned, a standby monitor's group (see
 * {@link StandbyGroups}) becomes the VM's before the VM is handed to it. Where the host's cgroups cannot be used
 * (not root, a controller missing) a VM that asks for a quota is refused, and one that does not
 * runs with its default quota reported unenforced: a node without cgroups still runs VMs.
 */
final class Quotas {

    private static final Logger LOG = Logger.getLogger(Quotas.class.getName());

    private final CgroupLayout layout;
    /** Empty where the layout cannot serve quotas; {@link #unusable} then says why. */
    private final Optional<Cgroups> cgroups;
    private final String unusable;
    private final int hostCpus;

    private Quotas(CgroupLayout layout, Optional<Cgroups> cgroups, String unusable, int hostCpus) {
        this.layout = layout;
        this.cgroups = cgroups;
        this.unusable = unusable;
        this.hostCpus = hostCpus;
    }

    /** The VM groups under {@code parent} of {@code layout}, or none, with the reason, where it is unusable. */
    static Quotas open(CgroupLayout layout, String parent) {
        int hostCpus = Runtime.getRuntime().availableProcessors();
        try {
            return new Quotas(layout, Optional.of(Cgroups.under(layout, parent)), null, hostCpus);
        } catch (CgroupException e) {
            LOG.warning("VM quotas are not enforced: " + e.getMessage());
            return new Quotas(layout, Optional.empty(), e.getMessage(), hostCpus);
        }
    }

    boolean enforced() {
        return cgroups.isPresent();
    }

    /** The layout line for the node's capabilities, with why quotas are off where they are. */
    String describe() {
        return layout.describe() + (enforced() ? "" : "; quotas not enforced: " + unusable);
    }

    /**
     * The quota of a VM: what {@code asked} gives, the default for the rest.
     *
     * @throws io.aether.http.ApiException 400 naming {@code resources.cpus} or {@code resources.memory}
     *     when it cannot hold the VM on this host, 409 when a quota is asked for where none can be enforced
     */
    Quota quotaFor(VmSpec spec, Resources asked) {
        if (asked != null && !enforced()) throw new ApiError.Conflict("resources: cannot enforce a quota on this node: " + unusable).exception();
        try {
            return merged(spec, asked).checkFits(hostCpus, spec.memory());
        } catch (FieldException e) {
            throw new ApiError.BadRequest("resources." + e.field(), e.problem()).exception();
        }
    }

    /** The quota as the API reports it, unchecked: a VM created on another node may ask for more than this one has. */
    VmInfo.Quota report(VmSpec spec, Resources asked) {
        try {
            Quota quota = merged(spec, asked);
            return new VmInfo.Quota(quota.cpus(), quota.memory().bytes(), enforced());
        } catch (FieldException e) {
            return new VmInfo.Quota(asked.cpus() != null ? asked.cpus() : spec.vcpus(), spec.memory().bytes(), false);
        }
    }

    /** One CPU per vCPU (at most the host's) and the guest's RAM plus the monitor's overhead, where {@code asked} does not say. */
    private Quota merged(VmSpec spec, Resources asked) {
        Quota defaults = Quota.forVm(spec.vcpus(), spec.memory());
        double cpus = asked != null && asked.cpus() != null ? asked.cpus() : Math.min(defaults.cpus(), hostCpus);
        return new Quota(cpus, asked != null ? asked.memoryLimit().orElse(defaults.memory()) : defaults.memory());
    }

    /**
     * Makes the VM's group with {@code quota}; empty where quotas are not enforced. A group left
     * over from a monitor that died with the agent down is removed first.
     *
     * @throws CgroupException when the group cannot be made (one left over still holds a process)
     */
    Optional<VmCgroup> create(String vmId, Quota quota) throws CgroupException {
        if (cgroups.isEmpty()) return Optional.empty();
        Optional<VmCgroup> stale = cgroups.get().find(vmId);
        if (stale.isPresent()) stale.get().remove();
        return Optional.of(cgroups.get().create(vmId, quota));
    }

    /**
     * Removes the VM groups under the parent that belong to none of {@code vmIds} (an agent killed
     * while it claimed a standby's group for a VM whose folder it had not written yet); standbys'
     * groups are {@link StandbyGroups}'. One still holding a process is left, with a warning.
     */
    void removeGroupsOtherThan(Set<String> vmIds) {
        if (cgroups.isEmpty()) return;
        try {
            for (String id : cgroups.get().vmIds()) {
                if (!id.startsWith(StandbyGroups.PREFIX) && !vmIds.contains(id)) cgroups.get().find(id).ifPresent(Quotas::remove);
            }
        } catch (CgroupException e) {
            LOG.log(Level.WARNING, "cannot list the VM groups: " + e.getMessage(), e);
        }
    }

    /** The groups of the warm pool's standby monitors; empty where quotas are not enforced. */
    Optional<StandbyGroups> standbyGroups() {
        return cgroups.map(StandbyGroups::new);
    }

    /** The group of a VM whose monitor is re-adopted, if it has one. */
    Optional<VmCgroup> find(String vmId) {
        return cgroups.flatMap(c -> c.find(vmId));
    }

    /** Removes a group whose monitor has exited; a failure is logged (the group is retried at the VM's next start). */
    static void remove(VmCgroup group) {
        try {
            group.remove();
        } catch (CgroupException e) {
            LOG.log(Level.WARNING, "cannot remove the cgroup of VM " + group.vmId() + ": " + e.getMessage(), e);
        }
    }

    /** The group's accounting as the API shows it; empty when it cannot be read (the group went with its monitor). */
    static Optional<VmInfo.Usage> usage(VmCgroup group) {
        try {
            CgroupUsage u = group.usage();
            return Optional.of(new VmInfo.Usage(u.cpuTime().toNanos() / 1e9, u.throttledPeriods(), u.memory().bytes(),
                    u.memoryLimitHits(), u.oomKills()));
        } catch (CgroupException e) {
            return Optional.empty();
        }
    }
}
