package io.aether.agent;

import io.aether.cgroups.CgroupException;
import io.aether.cgroups.Cgroups;
import io.aether.cgroups.CpuWeight;
import io.aether.cgroups.Quota;
import io.aether.cgroups.VmCgroup;
import io.aether.monitorapi.WarmPool;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The warm pool's standby monitors, each in a cgroup of its own ({@code PARENT/_standby-PID-N})
 * from its spawn, at the lowest CPU weight: a standby's JVM start and warm-up, the most CPU it
 * ever takes, run on what the VMs beside it leave (the kernel weighs sibling groups against each
 * other before the threads inside them, so a nice value alone would not do), never on a booting
 * guest's CPU; its VM's group gets the normal weight back. A launch claims the standby's group for the VM before the launch
 * is sent: the group takes the VM's limits and is renamed to the VM's id, so the guest runs under
 * its quota from its first instruction, and what the monitor was charged since it was placed
 * stays with its VM. Moving the process into a fresh group on the launch's path instead costs 8
 * to 40 ms on a loaded host (the kernel waits out every CPU to move a process); a rename moves
 * nothing. Where the kernel renames no
 * group (the unified hierarchy), the claim makes the VM's group and moves the standby into it,
 * still before the launch.
 */
final class StandbyGroups implements WarmPool.Placement {

    private static final Logger LOG = Logger.getLogger(StandbyGroups.class.getName());

    /** VM ids start with a letter or a digit: no VM's group is ever named like a standby's. */
    static final String PREFIX = "_";

    /** A standby's limits: all the host's CPUs, a monitor's memory. */
    private final Quota standbyQuota;
    private final Cgroups cgroups;
    /** The groups of the standbys in the pool, by standby name; a claimed one leaves. */
    private final Map<String, Held> held = new HashMap<>();

    private record Held(VmCgroup group, long pid) {
    }

    /** The groups under {@code cgroups}' parent; groups a dead agent's standbys left are removed. */
    StandbyGroups(Cgroups cgroups) {
        this.cgroups = cgroups;
        this.standbyQuota = new Quota(Runtime.getRuntime().availableProcessors(), Quota.MONITOR_OVERHEAD);
        try {
            for (String name : cgroups.vmIds()) {
                if (name.startsWith(PREFIX)) cgroups.find(name).ifPresent(Quotas::remove);
            }
        } catch (CgroupException e) {
            LOG.log(Level.WARNING, "cannot list the groups of earlier standby monitors: " + e.getMessage(), e);
        }
    }

    /** Leaves nothing behind when it fails: the group made is released with the standby. */
    @Override
    public synchronized void place(String standby, long pid) throws CgroupException {
        VmCgroup group = cgroups.create(PREFIX + standby, standbyQuota);
        held.put(standby, new Held(group, pid));
        group.weigh(CpuWeight.LOWEST);
        group.attach(pid);
    }

    @Override
    public synchronized void release(String standby) {
        Held h = held.remove(standby);
        if (h != null) Quotas.remove(h.group());
    }

    /** What a launch of VM {@code vmId} under {@code quota} claims; {@link Claim#group()} is the VM's group once claimed. */
    Claim claimFor(String vmId, Quota quota) {
        return new Claim(vmId, quota);
    }

    final class Claim implements WarmPool.Claim {
        private final String vmId;
        private final Quota quota;
        private Held claimed;
        private VmCgroup group;
        /** Whether the standby's group became the VM's (else the standby was moved into a new one). */
        private boolean renamed;

        private Claim(String vmId, Quota quota) {
            this.vmId = vmId;
            this.quota = quota;
        }

        /** The VM's group, once claimed. */
        Optional<VmCgroup> group() {
            return Optional.ofNullable(group);
        }

        @Override
        public void claim(String standby) throws CgroupException {
            Held h;
            synchronized (StandbyGroups.this) {
                h = held.remove(standby);
            }
            if (h == null) throw new CgroupException("standby monitor " + standby + " has no group");
            try {
                group = confine(h);
                claimed = h;
                StartTrace.mark("cgroup-claimed");
            } catch (CgroupException | RuntimeException e) {
                synchronized (StandbyGroups.this) {
                    held.put(standby, h);
                }
                throw e;
            }
        }

        /** The VM's group with the standby inside, the VM's limits and the normal weight; the standby's group as it was on failure. */
        private VmCgroup confine(Held h) throws CgroupException {
            // A group left by a monitor that died with the agent down.
            Optional<VmCgroup> stale = cgroups.find(vmId);
            if (stale.isPresent()) stale.get().remove();
            try {
                h.group().limit(quota);
                h.group().weigh(CpuWeight.NORMAL);
            } catch (CgroupException | RuntimeException e) {
                standBy(h.group(), e);
                throw e;
            }
            try {
                VmCgroup vm = h.group().rename(vmId);
                renamed = true;
                return vm;
            } catch (CgroupException cannotRename) {
                try {
                    VmCgroup moved = cgroups.create(vmId, quota);
                    try {
                        moved.attach(h.pid());
                    } catch (CgroupException e) {
                        // Back where it was (a process in no group of its own is attached anew there), then the empty group goes.
                        h.group().attach(h.pid());
                        moved.remove();
                        throw e;
                    }
                    Quotas.remove(h.group());
                    renamed = false;
                    return moved;
                } catch (CgroupException | RuntimeException e) {
                    e.addSuppressed(cannotRename);
                    standBy(h.group(), e);
                    throw e;
                }
            }
        }

        /** Gives a standby's group back its limits and weight after a claim that failed; what fails here is added to {@code failure}. */
        private void standBy(VmCgroup group, Exception failure) {
            try {
                group.limit(standbyQuota);
                group.weigh(CpuWeight.LOWEST);
            } catch (CgroupException | RuntimeException e) {
                failure.addSuppressed(e);
            }
        }

        @Override
        public void unclaim(String standby) throws CgroupException {
            if (claimed == null) return;
            VmCgroup back;
            if (renamed) {
                back = group.rename(PREFIX + standby);
            } else {
                back = cgroups.create(PREFIX + standby, standbyQuota);
                back.attach(claimed.pid());
                group.remove();
            }
            back.limit(standbyQuota);
            back.weigh(CpuWeight.LOWEST);
            synchronized (StandbyGroups.this) {
                held.put(standby, new Held(back, claimed.pid()));
            }
            group = null;
            claimed = null;
        }

        /** A launch whose standby died: the VM's group goes (the standby has exited: the pool waited for it). */
        void abandon() {
            if (group != null) Quotas.remove(group);
            group = null;
            claimed = null;
        }
    }
}
