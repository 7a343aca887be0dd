package io.aether.bench.vm;

import io.aether.guest.GuestInit;
import io.aether.testhost.GuestConsole;
import io.aether.testhost.GuestRun;
import io.aether.testhost.Scenario;
import io.aether.testhost.TestHost;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * A diagnosis, not a benchmark: the same Linux guest booted inside the nested test host under
 * {@code aether vm run} and under {@code qemu-system-x86_64 -M microvm}, with the kernel's own
 * timestamps ({@code printk.time=1}, no {@code quiet}: the same command line for both), so the two
 * boots can be laid side by side phase by phase; then one more Aether boot with
 * {@code --trace-exits}, its exits counted by kind and port or address.
 *
 * <p>Usage (bench/vm-nested-timeline.sh): {@code NestedBootTimeline [ROUNDS [quiet]]}; with {@code quiet}
 * every boot has the measured command line ({@code quiet}, no timestamps), so that the exits
 * counted are the measured boot's; ROUNDS 0 then gives the counts alone. Prints each boot's
 * console as {@code aether N| LINE} and {@code qemu N| LINE}, the time from the spawn to the init's
 * ready marker of each, and the exit counts as {@code exits| COUNT KIND}.
 */
public final class NestedBootTimeline {

    private static final long TIMEOUT = TimeUnit.MINUTES.toNanos(10);
    private static final Pattern EXIT_DATA = Pattern.compile(" data=\\S*");

    private NestedBootTimeline() {
    }

    public static void main(String[] args) throws Throwable {
        if (args.length > 0 && args[0].equals("inside")) {
            inside(args);
            return;
        }
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 2;
        // "quiet": the exits counted are those of the measured command line (bench/vm-nested-agent.sh's), not the verbose one.
        boolean quiet = args.length > 1 && args[1].equals("quiet");
        String cmdline = (quiet ? Scenario.GUEST_CMDLINE : Scenario.GUEST_CMDLINE.replace("quiet", "printk.time=1")) + " " + GuestInit.POWEROFF_PARAMETER;
        String aether = Scenario.aetherVmCommand(cmdline, "--mem", "256M", "--vcpus", "1").replaceFirst("^aether ", "\\\"\\$AETHER\\\" ");
        String qemu = Scenario.qemuMicrovmCommand(cmdline).replace("-smp 2", "-smp 1");
        String script = """
                sed -e 's/io[.]aether[.]cli[.]Main/io.aether.bench.vm.NestedBootTimeline/' -e 's/aether-bench[.]jsa/timeline.jsa/' "$AETHER" > timeline && chmod +x timeline
                ./timeline inside %d %s %s
                echo "BENCH-STATUS=$?"
                """.formatted(rounds, Scenario.quote(aether), Scenario.quote(qemu));
        Duration limit = Duration.ofMinutes(10 + 4L * rounds);
        Scenario scenario = Scenario.script(script).withQemu().jvmOptions(NestedBootBench.monitorJvmOptions()).timeout(limit).build();
        TestHost.open().retryingStalls(host -> {
            try (GuestRun run = host.start(scenario)) {
                GuestConsole console = run.console();
                console.expectLine(Pattern.compile("BENCH-STATUS=\\d+"), limit);
                String transcript = console.transcript();
                System.out.println("\n== the same guest's boot under Aether and QEMU microvm, kernel timestamps ==");
                transcript.lines().filter(l -> l.matches("^(aether|qemu) \\d+\\|.*|^exits\\|.*|^marker\\|.*")).forEach(System.out::println);
                if (!transcript.contains("BENCH-STATUS=0")) {
                    System.err.println(transcript);
                    System.exit(1);
                }
            }
        });
    }

    /** The part that runs in the test host: {@code inside ROUNDS AETHER-COMMAND QEMU-COMMAND}. */
    private static void inside(String[] args) throws Throwable {
        int rounds = Integer.parseInt(args[1]);
        Map<String, String> monitors = Map.of("aether", args[2], "qemu", args[3]);
        for (int r = 0; r <= rounds; r++) { // round 0 warms the page cache and the class-data archive (and is all of ROUNDS 0)
            for (String name : List.of("aether", "qemu")) {
                Spawn.Measurement m = Spawn.run(List.of("sh", "-c", "exec " + monitors.get(name)), GuestInit.READY_MARKER, TIMEOUT);
                System.out.printf(Locale.ROOT, "marker| %s %d: %.0f ms from the spawn, first output %.0f ms%n",
                        name, r, m.marker() / 1e6, m.firstOutput() / 1e6);
                if (r == 0) continue;
                String prefix = name + " " + r + "| ";
                m.output().lines().forEach(line -> System.out.println(prefix + line.replace("\r", "")));
            }
        }
        Path exits = Path.of("exits.txt");
        Spawn.run(List.of("sh", "-c", "exec " + args[2] + " --trace-exits 2> " + exits), GuestInit.READY_MARKER, TIMEOUT);
        // One count per exit kind and port or address; the data written differs byte by byte.
        Map<String, Long> counts = new TreeMap<>(Files.readAllLines(exits).stream()
                .filter(l -> l.startsWith("[vcpu "))
                .map(l -> EXIT_DATA.matcher(l.substring(l.indexOf(']') + 2)).replaceAll(""))
                .collect(Collectors.groupingBy(k -> k, Collectors.counting())));
        counts.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed())
                .forEach(e -> System.out.printf(Locale.ROOT, "exits| %8d %s%n", e.getValue(), e.getKey()));
        System.exit(0);
    }
}
