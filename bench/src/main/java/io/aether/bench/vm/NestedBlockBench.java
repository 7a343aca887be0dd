package io.aether.bench.vm;

import io.aether.guest.GuestInit;
import io.aether.testhost.GuestConsole;
import io.aether.testhost.GuestRun;
import io.aether.testhost.Scenario;
import io.aether.testhost.TestHost;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * virtio-blk read throughput of docs/BENCHMARKS.md: inside the nested test host (or directly, on
 * hardware KVM), the same guest reads a 64 MiB disk image with {@code dd} under Aether (KVM's
 * ioeventfd and irqfd, then with them turned off: QueueNotify exits and {@code KVM_IRQ_LINE}) and
 * under {@code qemu-system-x86_64 -M microvm} (virtio-blk-device), the three interleaved in one
 * run of the host. Each boot reads the whole disk {@value #READS_PER_BOOT} times, the page cache
 * dropped before each read, timed by the guest's clock ({@code /proc/uptime}, 10 ms steps:
 * busybox's dd prints no time).
 *
 * <p>Usage: {@code NestedBlockBench [ROUNDS]} (default 2: two boots of each monitor), on the classpath
 * that {@code ./mvnw -pl bench -am package} leaves in {@code bench/target}. Prints the table.
 */
public final class NestedBlockBench {

    static final int READS_PER_BOOT = 3;
    static final int DISK_MIB = 64;
    private static final Duration BOOT = Duration.ofMinutes(4);
    private static final Duration STEP = Duration.ofMinutes(3);
    private static final Pattern DD = Pattern.compile("(\\d+)\\+0 records out from ([0-9.]+) to ([0-9.]+)");
    private static final String READ = "echo 3 > /proc/sys/vm/drop_caches; s=$(cut -d' ' -f1 /proc/uptime);"
            + " r=$(dd if=/dev/vda of=/dev/null bs=1M 2>&1 | tail -n 1); e=$(cut -d' ' -f1 /proc/uptime); echo \"$r from $s to $e\"";

    private NestedBlockBench() {
    }

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 2;
        String cmdline = Scenario.GUEST_CMDLINE;
        String aether = Scenario.aetherVmCommand(cmdline, "--mem", "256M", "--vcpus", "1", "--disk", "disk.img,ro")
                .replaceFirst("^aether ", "\\\"\\$AETHER\\\" ");
        String qemu = Scenario.qemuMicrovmCommand(cmdline, "-drive", "id=d0,file=disk.img,format=raw,if=none,readonly=on",
                "-device", "virtio-blk-device,drive=d0").replace("-smp 2", "-smp 1");
        List<String> labels = List.of("aether", "qemu-microvm", "aether-no-eventfds");
        StringBuilder script = new StringBuilder("dd if=/dev/zero of=disk.img bs=1M count=" + DISK_MIB + " 2>/dev/null\n");
        for (int r = 0; r < rounds; r++) {
            script.append("echo BENCH-BOOT aether\n").append(aether).append('\n');
            script.append("echo BENCH-BOOT qemu-microvm\n").append(qemu).append('\n');
            script.append("echo BENCH-BOOT aether-no-eventfds\n")
                    .append("JAVA_TOOL_OPTIONS=-Daether.kvm.eventfds=off ").append(aether).append('\n');
        }
        script.append("echo BENCH-DONE\n");
        Scenario scenario = Scenario.script(script.toString()).withQemu().jvmOptions(NestedBootBench.monitorJvmOptions())
                .timeout(Duration.ofMinutes(10 + 8L * rounds)).build();
        Map<String, List<Double>> mibPerSecond = new LinkedHashMap<>();
        labels.forEach(l -> mibPerSecond.put(l, new ArrayList<>()));
        TestHost.open().retryingStalls(host -> {
            mibPerSecond.values().forEach(List::clear);
            try (GuestRun run = host.start(scenario)) {
                GuestConsole console = run.console();
                for (int boot = 0; boot < rounds * labels.size(); boot++) {
                    String label = console.expectLine(Pattern.compile("BENCH-BOOT .+"), STEP).substring("BENCH-BOOT ".length()).strip();
                    console.expectLine(Pattern.compile(Pattern.quote(GuestInit.READY_MARKER)), BOOT);
                    for (int i = 0; i < READS_PER_BOOT; i++) {
                        String out = console.exec(READ, STEP).output();
                        Matcher m = DD.matcher(out);
                        if (!m.find()) throw new IllegalStateException(label + ": no dd timing in '" + out + "'");
                        int mib = Integer.parseInt(m.group(1));
                        if (mib != DISK_MIB) throw new IllegalStateException(label + ": dd read " + mib + " MiB");
                        double seconds = Double.parseDouble(m.group(3)) - Double.parseDouble(m.group(2));
                        mibPerSecond.get(label).add(mib / Math.max(seconds, 0.01));
                    }
                    console.exitShell(STEP);
                }
                console.expectLine(Pattern.compile("BENCH-DONE"), STEP);
            }
        });
        System.out.println("\n== virtio-blk: dd of a " + DISK_MIB + " MiB disk, " + rounds * READS_PER_BOOT + " reads per monitor, MiB/s ==");
        System.out.println("| monitor | median | min | max | reads |");
        System.out.println("|---|---:|---:|---:|---|");
        Map<String, Double> medians = new LinkedHashMap<>();
        for (Map.Entry<String, List<Double>> e : mibPerSecond.entrySet()) {
            List<Double> v = new ArrayList<>(e.getValue());
            v.sort(null);
            double median = v.size() % 2 == 1 ? v.get(v.size() / 2) : (v.get(v.size() / 2 - 1) + v.get(v.size() / 2)) / 2;
            medians.put(e.getKey(), median);
            System.out.printf(Locale.ROOT, "| %s | %.1f | %.1f | %.1f | %s |%n", e.getKey(), median, v.getFirst(), v.getLast(),
                    String.join(" ", e.getValue().stream().map(x -> String.format(Locale.ROOT, "%.1f", x)).toList()));
        }
        double qemuMedian = medians.get("qemu-microvm");
        System.out.printf(Locale.ROOT, "| aether / qemu | %.2f× | | | |%n", medians.get("aether") / qemuMedian);
        System.out.printf(Locale.ROOT, "| aether-no-eventfds / qemu | %.2f× | | | |%n", medians.get("aether-no-eventfds") / qemuMedian);
    }
}
