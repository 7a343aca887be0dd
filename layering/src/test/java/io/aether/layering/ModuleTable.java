package io.aether.layering;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The modules of the root {@code pom.xml}, in build order, and what each may import: the table
 * under "Modules and the direction of imports" in {@code docs/architecture.md}. Its last column
 * holds module names in backticks, or "every module above", optionally followed by "but" and the
 * names it leaves out; a cell without a name (—) allows no other module.
 *
 * @param modules the modules of the root pom, in its order
 * @param rows the table's rows in their order: each module and the modules it may import
 */
record ModuleTable(List<String> modules, Map<String, Set<String>> rows) {

    static final String SECTION = "## Modules and the direction of imports";
    private static final Pattern MODULE = Pattern.compile("<module>([^<]+)</module>");
    private static final Pattern ROW = Pattern.compile("^\\| `([a-z0-9-]+)` \\|.*\\| ([^|]*) \\|$");
    private static final Pattern NAME = Pattern.compile("`([a-z0-9-]+)`");
    private static final String EVERY_MODULE_ABOVE = "every module above";

    /** Reads the modules from {@code pom} and the table from {@code architecture}. */
    static ModuleTable read(Path pom, Path architecture) throws IOException {
        List<String> modules = new ArrayList<>();
        Matcher m = MODULE.matcher(Files.readString(pom));
        while (m.find()) {
            modules.add(m.group(1).strip());
        }
        return new ModuleTable(List.copyOf(modules), parseRows(Files.readAllLines(architecture), architecture));
    }

    private static Map<String, Set<String>> parseRows(List<String> lines, Path architecture) {
        int start = lines.indexOf(SECTION);
        if (start < 0) {
            throw new IllegalStateException(architecture + " has no section '" + SECTION + "'");
        }
        Map<String, Set<String>> rows = new LinkedHashMap<>();
        for (String line : lines.subList(start + 1, lines.size())) {
            if (line.startsWith("## ") || line.startsWith("### ")) {
                break;
            }
            Matcher row = ROW.matcher(line);
            if (row.matches()) {
                rows.put(row.group(1), mayImport(row.group(2), List.copyOf(rows.keySet())));
            }
        }
        return rows;
    }

    /** The modules a cell names: listed in backticks, or every module above less those after "but". */
    private static Set<String> mayImport(String cell, List<String> above) {
        Set<String> named = new LinkedHashSet<>();
        Matcher m = NAME.matcher(cell);
        while (m.find()) {
            named.add(m.group(1));
        }
        if (!cell.startsWith(EVERY_MODULE_ABOVE)) {
            return named;
        }
        Set<String> all = new LinkedHashSet<>(above);
        all.removeAll(named);
        return all;
    }

    /** Whether {@code module} comes before {@code other} in build order. */
    boolean above(String module, String other) {
        return modules.indexOf(module) < modules.indexOf(other);
    }

    /** The modules that {@code module} may import; none when it has no row. */
    Set<String> mayImport(String module) {
        return rows.getOrDefault(module, Set.of());
    }

    /** The modules that {@code module} must not import: every other one that its row does not name. */
    Set<String> forbiddenFor(String module, Set<String> alsoAllowed) {
        Set<String> forbidden = new LinkedHashSet<>(modules);
        forbidden.remove(module);
        forbidden.removeAll(mayImport(module));
        forbidden.removeAll(alsoAllowed);
        return forbidden;
    }
}
