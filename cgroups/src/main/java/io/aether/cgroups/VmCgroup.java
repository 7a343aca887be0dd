package io.aether.cgroups;

import java.nio.file.Path;
import java.util.List;

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
