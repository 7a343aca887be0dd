package io.aether.cgroups;

import io.aether.cgroups.CgroupLayout.Placement;
import io.aether.common.FieldException;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The VM groups under one parent ({@code aether} by default), made in each hierarchy a usable
 * {@link CgroupLayout} names: {@code MOUNT/PARENT/VMID}. The parent is relative to the
 * hierarchy's mount point; an agent run under a delegating service manager passes its own
 * group's path.
 */
public final class Cgroups {

    /** The default parent of every VM group. */
    public static final String DEFAULT_PARENT = "aether";

    /** The kernel's default CFS period; 0.01 CPU of it is the smallest quota, 1 ms. */
    static final long PERIOD_MICROS = 100_000;

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]{0,63}");

    private final CgroupLayout layout;
    private final String parent;
    private final int hostCpus;

    private Cgroups(CgroupLayout layout, String parent, int hostCpus) {
        this.layout = layout;
        this.parent = parent;
        this.hostCpus = hostCpus;
    }

    /**
     * The groups under {@code parent} (one or more names joined by {@code /}).
     *
     * @throws CgroupException when the layout cannot serve quotas, with every reason
     * @throws IllegalArgumentException when {@code parent} is not a relative path of plain names
     */
    public static Cgroups under(CgroupLayout layout, String parent) throws CgroupException {
        for (String segment : parent.split("/", -1)) {
            if (!NAME.matcher(segment).matches()) {
                throw new IllegalArgumentException("parent: '" + parent + "' is not a relative cgroup path of names (A-Z a-z 0-9 . _ -)");
            }
        }
        if (!layout.usable()) throw new CgroupException("cgroup quotas are unusable here: " + String.join("; ", layout.problems()));
        return new Cgroups(layout, parent, Runtime.getRuntime().availableProcessors());
    }

    public CgroupLayout layout() {
        return layout;
    }

    /**
     * Makes the group of VM {@code vmId} with {@code quota}'s limits. Nothing is left behind when
     * it fails; a group that already exists is refused and left as it is.
     *
     * @throws IllegalArgumentException naming {@code vmId} when it cannot be a directory name
     * @throws FieldException naming {@code cpus} when the quota asks for more CPUs than the host has
     */
    public VmCgroup create(String vmId, Quota quota) throws CgroupException {
        checkVmId(vmId);
        quota.checkCpus(hostCpus);
        KernelCgroup group = group(vmId);
        for (Path dir : group.paths()) {
            if (Files.exists(dir)) throw new CgroupException("a group for VM " + vmId + " already exists: " + dir);
        }
        List<Path> made = new ArrayList<>();
        try {
            for (Hierarchy h : layout.hierarchies()) {
                makeDirectories(h, h.mount().relativize(group.dir(h)), made);
            }
            group.setLimits(quota);
            return group;
        } catch (CgroupException | RuntimeException e) {
            for (Path dir : made.reversed()) {
                try {
                    Files.delete(dir);
                } catch (IOException cleanup) {
                    // a parent another VM's group now lives in stays; nothing of this VM is left in it
                    if (dir.getFileName().toString().equals(vmId)) e.addSuppressed(cleanup);
                }
            }
            throw e;
        }
    }

    /** The group of VM {@code vmId} as far as it exists (after an agent restart, to adopt or remove it). */
    public Optional<VmCgroup> find(String vmId) {
        checkVmId(vmId);
        KernelCgroup group = group(vmId);
        return group.paths().stream().anyMatch(Files::isDirectory) ? Optional.of(group) : Optional.empty();
    }

    /** The VM ids that have a group under the parent in any hierarchy, sorted. */
    public List<String> vmIds() throws CgroupException {
        TreeSet<String> ids = new TreeSet<>();
        for (Hierarchy h : layout.hierarchies()) {
            Path dir = h.mount().resolve(parent);
            if (!Files.isDirectory(dir)) continue;
            try (Stream<Path> children = Files.list(dir)) {
                children.filter(Files::isDirectory).map(p -> p.getFileName().toString()).forEach(ids::add);
            } catch (IOException e) {
                throw new CgroupException("cannot list " + dir + ": " + CgroupFiles.reason(e), e);
            }
        }
        return List.copyOf(ids);
    }

    private KernelCgroup group(String vmId) {
        return new KernelCgroup(vmId, dirOf(layout.cpu(), vmId), dirOf(layout.cpuAccounting(), vmId), dirOf(layout.memory(), vmId), hostCpus);
    }

    private KernelCgroup.Dir dirOf(Placement placement, String vmId) {
        if (!(placement instanceof Placement.Usable(Hierarchy h))) throw new IllegalStateException("checked in under(): " + placement);
        return new KernelCgroup.Dir(h, h.mount().resolve(parent).resolve(vmId));
    }

    /**
     * Makes each missing directory of {@code relative} below the mount, recording what it made.
     * In v2 a controller reaches a group only when every ancestor lists it in
     * {@code cgroup.subtree_control}, so each level enables what this hierarchy serves.
     */
    private void makeDirectories(Hierarchy h, Path relative, List<Path> made) throws CgroupException {
        List<String> served = new ArrayList<>();
        if (h.unified() && layout.cpu().equals(new Placement.Usable(h))) served.add("cpu");
        if (h.unified() && layout.memory().equals(new Placement.Usable(h))) served.add("memory");
        Path dir = h.mount();
        for (Path name : relative) {
            for (String controller : served) {
                CgroupFiles.write(dir.resolve("cgroup.subtree_control"), "+" + controller);
            }
            dir = dir.resolve(name);
            boolean last = dir.equals(h.mount().resolve(relative));
            try {
                Files.createDirectory(dir);
                made.add(dir);
            } catch (FileAlreadyExistsException e) {
                if (last) throw new CgroupException("a group for VM " + name + " already exists: " + dir);
            } catch (IOException e) {
                throw new CgroupException("cannot make " + dir + ": " + CgroupFiles.reason(e), e);
            }
        }
    }

    static void checkVmId(String vmId) {
        if (!NAME.matcher(vmId).matches()) {
            throw new IllegalArgumentException("vmId: '" + vmId + "' cannot name a cgroup (1 to 64 of A-Z a-z 0-9 . _ -, not starting with . or -)");
        }
    }
}
