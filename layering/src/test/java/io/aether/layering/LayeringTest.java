package io.aether.layering;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.EvaluationResult;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The direction of imports between modules, as docs/architecture.md's table gives it, checked
 * over the class files of every module (see that section for what each test guards).
 */
class LayeringTest {

    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    /** The last module that this one depends on: it and every module before it are built before these tests. */
    private static final String LAST_DEPENDENCY = "cli";
    private static final String RULES = "docs/architecture.md, '" + ModuleTable.SECTION.substring(3) + "'";

    private static ModuleTable table;
    /** Per module, the folder of its main and of its test class files; a module without them is left out. */
    private static Map<String, Path> mainFolders;
    private static Map<String, Path> testFolders;
    private static Map<String, JavaClasses> mainClasses;
    private static Map<String, JavaClasses> testClasses;

    @BeforeAll
    static void readTheTableAndTheClassFiles() throws IOException {
        table = ModuleTable.read(ROOT.resolve("pom.xml"), ROOT.resolve("docs/architecture.md"));
        mainFolders = classFolders("main", "classes");
        testFolders = classFolders("test", "test-classes");
        mainClasses = imported(mainFolders);
        testClasses = imported(testFolders);
    }

    /** Each module's folder target/{@code output}, where it has sources under src/{@code sources}. */
    private static Map<String, Path> classFolders(String sources, String output) {
        Map<String, Path> folders = new LinkedHashMap<>();
        for (String module : table.modules()) {
            Path folder = ROOT.resolve(module).resolve("target").resolve(output);
            if (!Files.isDirectory(ROOT.resolve(module).resolve("src").resolve(sources).resolve("java"))) {
                continue;
            }
            if (Files.isDirectory(folder)) {
                folders.put(module, folder);
            } else if (!table.above(LAST_DEPENDENCY, module)) {
                fail("no class files in " + folder + ": build the modules before their rules (./mvnw -pl layering -am verify)");
            }
        }
        return folders;
    }

    private static Map<String, JavaClasses> imported(Map<String, Path> folders) {
        ClassFileImporter importer = new ClassFileImporter();
        Map<String, JavaClasses> classes = new LinkedHashMap<>();
        folders.forEach((module, folder) -> classes.put(module, importer.importPath(folder)));
        return classes;
    }

    @Test
    void theTableHasOneRowPerModuleInBuildOrderAndEachNamesOnlyModulesAboveIt() {
        assertEquals(table.modules(), List.copyOf(table.rows().keySet()),
                "the table's rows in " + RULES + " against the modules of the root pom.xml");
        table.rows().forEach((module, imports) -> {
            for (String imported : imports) {
                assertTrue(table.modules().contains(imported), module + "'s row names '" + imported + "', which is no module");
                assertTrue(table.above(imported, module), module + "'s row names " + imported + ", which is not above it");
            }
        });
    }

    @Test
    void everyClassLiesInItsModulesPackage() {
        List<String> failures = new ArrayList<>();
        for (Map<String, JavaClasses> classes : List.of(mainClasses, testClasses)) {
            classes.forEach((module, javaClasses) -> check(classes().should().resideInAPackage(packageOf(module))
                    .as("the classes of " + module + " are in " + packageOf(module) + ", the package its import rules name")
                    .allowEmptyShould(true), javaClasses, failures));
        }
        assertNoViolations(failures);
    }

    @Test
    void mainCodeImportsOnlyWhatItsRowAllows() {
        List<String> failures = new ArrayList<>();
        mainClasses.forEach((module, classes) -> check(importRule(module, Set.of()), classes, failures));
        assertNoViolations(failures);
    }

    @Test
    void testCodeImportsOnlyWhatItsRowAllowsAndTheTestkit() {
        List<String> failures = new ArrayList<>();
        testClasses.forEach((module, classes) -> check(importRule(module, Set.of("testkit")), classes, failures));
        assertNoViolations(failures);
    }

    @Test
    void noMainCodeButTheTestkitDependsOnATestFramework() {
        List<String> failures = new ArrayList<>();
        mainClasses.forEach((module, classes) -> {
            if (!module.equals("testkit")) {
                check(noClasses().should().dependOnClassesThat().resideInAnyPackage("org.junit..", "org.opentest4j..", packageOf("testkit"))
                        .as("the main code of " + module + " uses no test framework: the product's class path holds none")
                        .allowEmptyShould(true), classes, failures);
            }
        });
        assertNoViolations(failures);
    }

    @Test
    void modulePackagesFormNoCycle() {
        List<String> failures = new ArrayList<>();
        JavaClasses all = new ClassFileImporter().importPaths(Stream.concat(mainFolders.values().stream(), testFolders.values().stream()).toList());
        check(slices().matching("io.aether.(*)..").should().beFreeOfCycles().as("no cycle between the packages of modules"), all, failures);
        assertNoViolations(failures);
    }

    private static ArchRule importRule(String module, Set<String> alsoAllowed) {
        Set<String> forbidden = table.forbiddenFor(module, alsoAllowed);
        String allowed = table.mayImport(module).isEmpty() && alsoAllowed.isEmpty()
                ? "no other module"
                : Stream.concat(table.mayImport(module).stream(), alsoAllowed.stream()).collect(Collectors.joining(", "));
        return noClasses().should().dependOnClassesThat()
                .resideInAnyPackage(forbidden.stream().map(LayeringTest::packageOf).toArray(String[]::new))
                .as(module + " may import " + allowed + " (" + RULES + ")")
                .allowEmptyShould(true);
    }

    private static String packageOf(String module) {
        return "io.aether." + module.replace("-", "") + ".."; // vm-spec: io.aether.vmspec
    }

    private static void check(ArchRule rule, JavaClasses classes, List<String> failures) {
        EvaluationResult result = rule.evaluate(classes);
        if (result.hasViolation()) {
            failures.add(result.getFailureReport().toString());
        }
    }

    private static void assertNoViolations(List<String> failures) {
        if (!failures.isEmpty()) {
            fail(String.join("\n", failures));
        }
    }
}
