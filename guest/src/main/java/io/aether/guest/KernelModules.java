package io.aether.guest;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * The loadable modules of one kernel, found by file name under its module tree
 * ({@code lib/modules/<release>/kernel}), and the order to load a chosen few in.
 *
 * <p>Debian's kernel package ships no {@code modules.dep} (depmod runs at install time), so
 * the order comes from each module's own {@code depends=} list ({@link ModInfo}): every
 * module follows the modules it depends on. A module's name is its file name without
 * {@code .ko} and with {@code -} read as {@code _} (as kbuild names them: {@code kvm-amd.ko}
 * is {@code kvm_amd}); the name in the file's {@code .modinfo} must agree.
 */
public final class KernelModules {

    /** A module to load: its name, its file, and the names it depends on. */
    public record Module(String name, Path file, List<String> depends) {
        public Module {
            depends = List.copyOf(depends);
        }
    }

    /** Answers a module's dependencies; used by {@link #order}. */
    @FunctionalInterface
    interface Dependencies {
        /** The modules {@code name} depends on; throws if there is no such module. */
        List<String> of(String name) throws IOException;
    }

    private final Path root;
    private final Map<String, Path> files;

    private KernelModules(Path root, Map<String, Path> files) {
        this.root = root;
        this.files = files;
    }

    /** Indexes every {@code .ko} file under {@code root}. */
    public static KernelModules scan(Path root) throws IOException {
        if (!Files.isDirectory(root)) {
            throw new NoSuchFileException(root.toString(), null, "no kernel module directory here");
        }
        Map<String, Path> files = new TreeMap<>();
        List<Path> kos;
        try (Stream<Path> walk = Files.walk(root)) {
            kos = walk.filter(p -> p.getFileName().toString().endsWith(".ko") && Files.isRegularFile(p))
                    .sorted()
                    .toList();
        }
        for (Path ko : kos) {
            String file = ko.getFileName().toString();
            String name = canonicalName(file.substring(0, file.length() - 3));
            Path other = files.putIfAbsent(name, ko);
            if (other != null) {
                throw new ModuleFormatException("two files for module " + name + ": " + other + " and " + ko);
            }
        }
        return new KernelModules(root, files);
    }

    /** The module's canonical name: {@code -} read as {@code _}. */
    public static String canonicalName(String name) {
        return name.replace('-', '_');
    }

    /** The number of modules found. */
    public int size() {
        return files.size();
    }

    /** The file of the module {@code name} ({@code -} or {@code _} alike), if present. */
    public Optional<Path> file(String name) {
        return Optional.ofNullable(files.get(canonicalName(name)));
    }

    /**
     * The modules to load, in order, so that {@code wanted} and everything they depend on
     * are loaded, each after its dependencies; each module appears once.
     *
     * @throws IOException naming the module when one is missing, unreadable, names itself
     *     differently in its {@code .modinfo}, or when the dependencies form a cycle
     */
    public List<Module> loadOrder(List<String> wanted) throws IOException {
        Map<String, ModInfo> infos = new HashMap<>();
        List<String> names = order(wanted, name -> {
            Path file = files.get(name);
            if (file == null) {
                throw new NoSuchFileException(name + ".ko", null, "kernel module " + name + " is not under " + root);
            }
            ModInfo info = ModInfo.read(file);
            if (!canonicalName(info.name()).equals(name)) {
                throw new ModuleFormatException(file + ": .modinfo says name=" + info.name() + ", expected " + name);
            }
            infos.put(name, info);
            return info.depends().stream().map(KernelModules::canonicalName).toList();
        });
        List<Module> result = new ArrayList<>(names.size());
        for (String n : names) {
            result.add(new Module(n, files.get(n), infos.get(n).depends()));
        }
        return result;
    }

    /**
     * Orders {@code wanted} and their dependencies so each module follows its dependencies:
     * a depth-first walk in the given order, so the result is deterministic.
     *
     * @throws ModuleFormatException if the dependencies form a cycle (named in the message)
     */
    static List<String> order(List<String> wanted, Dependencies deps) throws IOException {
        Set<String> done = new LinkedHashSet<>();
        for (String w : wanted) {
            visit(canonicalName(w), deps, done, new HashSet<>(), new ArrayDeque<>());
        }
        return List.copyOf(done);
    }

    private static void visit(String name, Dependencies deps, Set<String> done, Set<String> onPath, Deque<String> path)
            throws IOException {
        if (done.contains(name)) {
            return;
        }
        if (!onPath.add(name)) {
            List<String> cycle = new ArrayList<>(path.reversed());
            cycle = cycle.subList(cycle.indexOf(name), cycle.size());
            throw new ModuleFormatException("module dependencies form a cycle: " + String.join(" -> ", cycle) + " -> " + name);
        }
        path.push(name);
        for (String d : deps.of(name)) {
            visit(d, deps, done, onPath, path);
        }
        path.pop();
        onPath.remove(name);
        done.add(name);
    }
}
