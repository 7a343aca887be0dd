package io.aether.testhost;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The scenario directory's content, the same in both modes: the scenario's files, its script
 * as {@code run.sh}, and, when it runs Java, {@code bin/aether}, a wrapper that starts the
 * product's CLI on the given runtime and classpath.
 */
final class ScenarioFiles {

    /** The CLI's entry point. */
    static final String MAIN_CLASS = "io.aether.cli.Main";

    private ScenarioFiles() {
    }

    /**
     * @param java the java launcher, classpath entries (as the scenario will see them) and
     *             JVM options, or empty when the scenario runs no Java
     */
    static Map<String, Scenario.FileContent> of(Scenario scenario, Optional<JavaCommand> java) {
        Map<String, Scenario.FileContent> files = new LinkedHashMap<>(scenario.files());
        files.put("run.sh", new Scenario.Text(scenario.scriptText(), 0755));
        java.ifPresent(j -> files.put("bin/aether", new Scenario.Text(j.wrapper(), 0755)));
        return files;
    }

    /** How {@code bin/aether} starts the JVM. */
    record JavaCommand(String launcher, List<String> classpath, String jvmOptions) {
        JavaCommand {
            classpath = List.copyOf(classpath);
        }

        String wrapper() {
            return "#!/bin/sh\n# Runs Aether's CLI for a test scenario (written by io.aether.testhost).\n"
                    + "exec " + Scenario.quote(launcher) + (jvmOptions.isBlank() ? "" : " " + jvmOptions.strip())
                    + " -cp " + Scenario.quote(classpath.stream().collect(Collectors.joining(":")))
                    + " " + MAIN_CLASS + " \"$@\"\n";
        }
    }

    /** The variables a scenario sees, for a scenario directory at {@code dir}. */
    static Map<String, String> environment(Path dir, Path guestKernel, Path guestInitrd, Optional<Path> qemu,
                                           boolean java) {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("GUEST_KERNEL", guestKernel.toString());
        env.put("GUEST_INITRD", guestInitrd.toString());
        qemu.ifPresent(q -> env.put("QEMU", q.toString()));
        if (java) {
            env.put("AETHER", dir.resolve("bin/aether").toString());
        }
        return env;
    }
}
