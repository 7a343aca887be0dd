package io.aether.cgroups;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

/**
 * Where this machine's cgroups let Aether set CPU bandwidth, read CPU time and limit memory, or
 * why they do not. Read from {@code /proc/self/mountinfo}: hosts come as v2 only (unified), v1
 * only, or v1 with a v2 hierarchy beside it (hybrid, where each controller lives in one of them).
 * Each of the three is placed on its own, v1 first when a v1 hierarchy has the controller.
 *
 * @param cpu           where {@code cpu.cfs_quota_us} (v1) or {@code cpu.max} (v2) is set
 * @param cpuAccounting where CPU time is read: v1 {@code cpuacct.usage}, v2 {@code cpu.stat}
 * @param memory        where the memory limit is set and memory use is read
 */
public record CgroupLayout(Mode mode, Placement cpu, Placement cpuAccounting, Placement memory) {

    /** Which cgroup versions are mounted. */
    public enum Mode {
        UNIFIED("cgroup v2 (unified)"),
        LEGACY("cgroup v1"),
        HYBRID("cgroup v1 with a v2 hierarchy beside it (hybrid)"),
        NONE("no cgroup filesystem mounted");

        private final String description;

        Mode(String description) {
            this.description = description;
        }
    }

    /** Where one resource is controlled, or why it cannot be. */
    public sealed interface Placement {
        record Usable(Hierarchy hierarchy) implements Placement {
        }

        record Unusable(String reason) implements Placement {
        }
    }

    private static final Path MOUNTINFO = Path.of("/proc/self/mountinfo");

    /** The layout of this process's mount namespace; never throws: what cannot be read is a reason. */
    public static CgroupLayout detect() {
        String mountinfo;
        try {
            mountinfo = Files.readString(MOUNTINFO);
        } catch (IOException e) {
            String reason = "cannot read " + MOUNTINFO + ": " + e.getMessage();
            return new CgroupLayout(Mode.NONE, new Placement.Unusable(reason), new Placement.Unusable(reason), new Placement.Unusable(reason));
        }
        return detect(mountinfo, effectiveUid());
    }

    /** The layout that {@code mountinfo} (the text of {@code /proc/PID/mountinfo}) describes. */
    static CgroupLayout detect(String mountinfo, long uid) {
        List<Hierarchy> v1 = new ArrayList<>();
        Optional<Hierarchy> v2 = Optional.empty();
        for (String line : mountinfo.split("\n")) {
            Optional<Hierarchy> h = parseMount(line);
            if (h.isEmpty()) continue;
            if (h.get().unified()) {
                if (v2.isEmpty()) v2 = h;
            } else if (v1.stream().noneMatch(known -> known.controllers().equals(h.get().controllers()))) {
                v1.add(h.get()); // a bind mount of a hierarchy already seen adds nothing
            }
        }
        Mode mode = v1.isEmpty() ? (v2.isEmpty() ? Mode.NONE : Mode.UNIFIED) : (v2.isEmpty() ? Mode.LEGACY : Mode.HYBRID);

        Placement cpu = place("cpu", v1, v2, uid, h -> h.unified() || Files.exists(h.mount().resolve("cpu.cfs_quota_us"))
                ? Optional.empty()
                : Optional.of("the kernel has no CFS bandwidth control (no cpu.cfs_quota_us in " + h.mount() + ")"));
        Placement cpuAccounting;
        if (cpu instanceof Placement.Usable(Hierarchy h) && h.unified()) {
            cpuAccounting = cpu;
        } else if (v1.stream().anyMatch(h -> h.controllers().contains("cpuacct"))) {
            cpuAccounting = place("cpuacct", v1, Optional.empty(), uid, h -> Optional.empty());
        } else if (v2.isPresent()) {
            cpuAccounting = access(v2.get(), uid); // every v2 group keeps cpu.stat, controller or not
        } else {
            cpuAccounting = new Placement.Unusable(missing("cpuacct", v1, v2));
        }
        Placement memory = place("memory", v1, v2, uid, h -> Optional.empty());
        return new CgroupLayout(mode, cpu, cpuAccounting, memory);
    }

    /** The first hierarchy with {@code controller}, v1 before v2, unless {@code defect} names something it lacks. */
    private static Placement place(String controller, List<Hierarchy> v1, Optional<Hierarchy> v2, long uid,
                                   Function<Hierarchy, Optional<String>> defect) {
        Optional<Hierarchy> found = v1.stream().filter(h -> h.controllers().contains(controller)).findFirst()
                .or(() -> v2.filter(h -> h.controllers().contains(controller)));
        if (found.isEmpty()) return new Placement.Unusable(missing(controller, v1, v2));
        Optional<String> lacking = defect.apply(found.get());
        if (lacking.isPresent()) return new Placement.Unusable(lacking.get());
        return access(found.get(), uid);
    }

    private static Placement access(Hierarchy h, long uid) {
        if (h.readOnly()) return new Placement.Unusable("read-only mount: " + h.mount());
        if (!Files.isWritable(h.mount())) {
            return new Placement.Unusable((uid == 0 ? "" : "not root (uid " + uid + ") and ") + h.mount() + " is not writable");
        }
        return new Placement.Usable(h);
    }

    private static String missing(String controller, List<Hierarchy> v1, Optional<Hierarchy> v2) {
        if (v1.isEmpty() && v2.isEmpty()) return "no cgroup filesystem is mounted (see " + MOUNTINFO + ")";
        if (v2.isEmpty()) return "no cgroup v1 hierarchy has the " + controller + " controller and no cgroup v2 hierarchy is mounted";
        return "the kernel offers no " + controller + " controller: no cgroup v1 hierarchy has it and "
                + v2.get().mount().resolve("cgroup.controllers") + " does not list it";
    }

    /**
     * A cgroup mount from one mountinfo line: {@code ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS
     * [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS}.
     */
    static Optional<Hierarchy> parseMount(String line) {
        List<String> fields = Arrays.asList(line.strip().split(" "));
        int separator = fields.indexOf("-");
        if (separator < 6 || fields.size() < separator + 4) return Optional.empty();
        String type = fields.get(separator + 1);
        if (!type.equals("cgroup") && !type.equals("cgroup2")) return Optional.empty();
        Path mount = Path.of(unescape(fields.get(4)));
        Set<String> mountOptions = Set.of(fields.get(5).split(","));
        Set<String> superOptions = new LinkedHashSet<>(Arrays.asList(fields.get(separator + 3).split(",")));
        boolean readOnly = mountOptions.contains("ro") || superOptions.contains("ro");
        if (type.equals("cgroup2")) return Optional.of(new Hierarchy(mount, true, offered(mount), readOnly));
        superOptions.removeIf(o -> !isController(o));
        return Optional.of(new Hierarchy(mount, false, superOptions, readOnly));
    }

    /** v1 mount options that are not controllers: flags and {@code key=value} settings. */
    private static boolean isController(String option) {
        return !option.contains("=") && !Set.of("rw", "ro", "noprefix", "clone_children", "xattr", "cpuset_v2_mode",
                "favordynmods", "nsdelegate", "memory_localevents", "memory_recursiveprot").contains(option);
    }

    /** The controllers the v2 hierarchy's root offers; none when it cannot be read. */
    private static Set<String> offered(Path mount) {
        try {
            String text = Files.readString(mount.resolve("cgroup.controllers")).strip();
            return text.isEmpty() ? Set.of() : Set.of(text.split("\\s+"));
        } catch (IOException e) {
            return Set.of();
        }
    }

    /** mountinfo writes a space, tab, newline and backslash in a path as octal escapes. */
    private static String unescape(String field) {
        StringBuilder out = new StringBuilder(field.length());
        for (int i = 0; i < field.length(); i++) {
            char c = field.charAt(i);
            if (c == '\\' && i + 3 < field.length() && field.substring(i + 1, i + 4).chars().allMatch(d -> d >= '0' && d <= '7')) {
                out.append((char) Integer.parseInt(field.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    private static long effectiveUid() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Uid:")) return Long.parseLong(line.substring(4).strip().split("\\s+")[1]);
            }
        } catch (IOException | RuntimeException e) {
            // only used in a message: an unknown uid reads as -1
        }
        return -1;
    }

    /** True when CPU bandwidth, CPU accounting and memory limits can all be used. */
    public boolean usable() {
        return problems().isEmpty();
    }

    /** One line per resource that cannot be used: {@code cpu: reason}. */
    public List<String> problems() {
        List<String> problems = new ArrayList<>();
        if (cpu instanceof Placement.Unusable(String reason)) problems.add("cpu: " + reason);
        if (cpuAccounting instanceof Placement.Unusable(String reason)) problems.add("cpu accounting: " + reason);
        if (memory instanceof Placement.Unusable(String reason)) problems.add("memory: " + reason);
        return problems;
    }

    /** One line for a capability report: the mode, then where each resource lives or why it cannot be used. */
    public String describe() {
        return mode.description + ": cpu " + show(cpu) + ", cpu accounting " + show(cpuAccounting) + ", memory " + show(memory);
    }

    private static String show(Placement placement) {
        return switch (placement) {
            case Placement.Usable(Hierarchy h) -> "in " + h;
            case Placement.Unusable(String reason) -> "unusable (" + reason + ")";
        };
    }

    /** The distinct hierarchies a VM's group is made in, in the order cpu, cpu accounting, memory. */
    public List<Hierarchy> hierarchies() {
        Set<Hierarchy> all = new LinkedHashSet<>();
        for (Placement p : List.of(cpu, cpuAccounting, memory)) {
            if (p instanceof Placement.Usable(Hierarchy h)) all.add(h);
        }
        return List.copyOf(all);
    }
}
