package io.aether.bench.vm;

import io.aether.guest.GuestInit;
import io.aether.testhost.GuestConsole;
import io.aether.testhost.GuestRun;
import io.aether.testhost.Scenario;
import io.aether.testhost.TestHost;
import java.time.Duration;
import java.util.regex.Pattern;

/**
 * Benchmark (a) of docs/BENCHMARKS.md: inside the nested test host (or directly, on hardware
 * KVM), Aether and {@code qemu-system-x86_64 -M microvm} boot the same kernel and initramfs to
 * the init's ready marker and power off, interleaved, {@code runs} times each; {@link BootBench}
 * measures each process from its start (time to the marker, to exit, peak RSS).
 *
 * <p>Usage: {@code NestedBootBench [RUNS] [VCPUS]} (defaults 10 and 1). Prints the table.
 */
public final class NestedBootBench {

    /**
     * The monitor's JVM options as the {@code aether} launcher passes them: dev/monitor.jvmargs
     * (read from the project root, where bench/vm-nested.sh runs), the class-data archive, and
     * native access (the launcher gets it from the jar's manifest; here the classpath is used).
     */
    static String monitorJvmOptions() throws java.io.IOException {
        return String.join(" ", monitorJvmOptions("/tmp/aether-bench.jsa").stream().map(Scenario::quote).toList());
    }

    /** The same options as a list, with the class-data archive at {@code archive}. */
    static java.util.List<String> monitorJvmOptions(String archive) throws java.io.IOException {
        java.util.List<String> options = new java.util.ArrayList<>(java.nio.file.Files.readAllLines(java.nio.file.Path.of("dev/monitor.jvmargs")));
        options.removeIf(String::isBlank);
        options.addAll(java.util.List.of("--enable-native-access=ALL-UNNAMED", "-XX:+AutoCreateSharedArchive",
                "-XX:SharedArchiveFile=" + archive));
        return options;
    }

    private NestedBootBench() {
    }

    public static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        String vcpus = args.length > 1 ? args[1] : "1";
        String cmdline = Scenario.GUEST_CMDLINE + " " + GuestInit.POWEROFF_PARAMETER;
        String aether = Scenario.aetherVmCommand(cmdline, "--mem", "256M", "--vcpus", vcpus).replaceFirst("^aether ", "\\\"\\$AETHER\\\" ");
        String qemu = Scenario.qemuMicrovmCommand(cmdline).replace("-smp 2", "-smp " + vcpus);
        // The same JVM and classpath as the product's wrapper, with the benchmark's main class.
        String script = """
                sed -e 's/io[.]aether[.]cli[.]Main/io.aether.bench.vm.BootBench/' -e 's/aether-bench[.]jsa/bootbench.jsa/' "$AETHER" > bootbench && chmod +x bootbench
                ./bootbench compare --runs %d --marker %s --timeout 900 \\
                    --label aether -- sh -c %s \\
                    --label qemu-microvm -- sh -c %s
                echo "BENCH-STATUS=$?"
                """.formatted(runs, GuestInit.READY_MARKER, Scenario.quote("exec " + aether), Scenario.quote("exec " + qemu));
        Scenario scenario = Scenario.script(script).withQemu().jvmOptions(monitorJvmOptions())
                .timeout(Duration.ofMinutes(10 + 6L * runs)).build();
        TestHost.open().retryingStalls(host -> {
            try (GuestRun run = host.start(scenario)) {
                GuestConsole console = run.console();
                console.expectLine(Pattern.compile("BENCH-STATUS=\\d+"), Duration.ofMinutes(10 + 6L * runs));
                String transcript = console.transcript();
                // The console was echoed as it came; repeat the table alone at the end.
                System.out.println("\n== Aether vs QEMU microvm, " + runs + " runs each, " + vcpus + " vCPU(s), medians ==");
                transcript.lines().filter(l -> l.startsWith("|")).forEach(System.out::println);
                if (!transcript.contains("BENCH-STATUS=0")) {
                    System.err.println(transcript);
                    System.exit(1);
                }
            }
        });
    }
}
