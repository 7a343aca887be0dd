package io.aether.cgroups;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * One VM's group, {@code PARENT/VMID} in each hierarchy the layout uses. Methods may be called
 * from any thread; each is a few reads or writes of the group's files.
 */
public interface VmCgroup {

    /** The VM's id, the group's directory name. */
    String vmId();

    /** The group's directory in each hierarchy it lives in. */
    List<Path> paths();

    /**
     * Moves process {@code pid} with all its threads into the group in every hierarchy. Its
     * children started from now on are inside too; memory it was charged before stays where it
     * was charged, so attach a monitor right after starting it.
     *
     * @throws CgroupException naming the file and the kernel's reason (no such process)
     */
    void attach(long pid) throws CgroupException;

    /**
     * Sets the group's limits to {@code quota}, for the processes inside now and later.
     *
     * @throws io.aether.common.FieldException naming {@code cpus} when the quota asks for more CPUs than the host has
     * @throws CgroupException naming the file and the kernel's reason (a memory limit below what
     *     the group holds and cannot reclaim)
     */
    void limit(Quota quota) throws CgroupException;

    /**
     * Sets the group's CPU weight against its siblings', for the processes inside now and later.
     *
     * @throws CgroupException naming the file and the kernel's reason
     */
    void weigh(CpuWeight weight) throws CgroupException;

    /** The group's CPU weight as the kernel holds it; empty when it is neither of {@link CpuWeight}'s. */
    Optional<CpuWeight> weight() throws CgroupException;

    /**
     * Renames the group to {@code vmId}'s in every hierarchy, with the processes inside: unlike
     * {@link #attach}, this moves no process and charges nothing anew. Only the v1 hierarchies
     * rename groups; the unified one refuses. Nothing is renamed when it fails.
     *
     * @return the group under its new name (this one names a group no longer there)
     * @throws CgroupException when a hierarchy refuses, or a group named {@code vmId} exists
     */
    VmCgroup rename(String vmId) throws CgroupException;

    /** The limits the kernel holds for the group now, read back from its files. */
    Quota limits() throws CgroupException;

    /** The group's accounting since it was made. */
    CgroupUsage usage() throws CgroupException;

    /** The processes inside the group. */
    List<Long> pids() throws CgroupException;

    /**
     * Removes the group from every hierarchy; a group already gone is fine. Call it once the
     * monitor has exited: a process that has just exited may keep the group busy for a moment,
     * which is waited out.
     *
     * @throws CgroupBusyException when processes are still inside, naming them; nothing removed
     */
    void remove() throws CgroupException;
}
