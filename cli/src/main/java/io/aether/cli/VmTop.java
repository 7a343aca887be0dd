package io.aether.cli;

import io.aether.agentapi.AgentClient;
import io.aether.agentapi.VmInfo;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code aether vm top}: the node's VMs with their rates, from two scrapes of the agent's
 * {@code /metrics} an interval apart, redrawn every interval until Ctrl-C ({@code --once}: one frame).
 */
@Command(name = "top", mixinStandardHelpOptions = true,
        description = {"Show the node's VMs live: CPU of their vCPUs, exits per second, monitor memory,",
            "disk and network bytes per second; redrawn every interval until Ctrl-C."})
final class VmTop implements Callable<Integer> {

    @Mixin
    VmClientCommands.NodeOptions node;

    @Option(names = "--once", description = "Print one frame (two samples an interval apart) and exit.")
    boolean once;

    @Option(names = "--interval", paramLabel = "MILLIS", defaultValue = "1000", description = "Time between frames (default: ${DEFAULT-VALUE}).")
    long intervalMillis;

    /** The families a frame reads, each summed over a VM's vCPUs, disks or NICs. */
    private static final String CPU = "aether_vm_vcpu_seconds_total";
    private static final String EXITS = "aether_vm_exits_total";
    private static final String RSS = "aether_vm_monitor_rss_bytes";
    private static final List<String> DISK = List.of("aether_vm_disk_read_bytes_total", "aether_vm_disk_written_bytes_total");
    private static final List<String> NET = List.of("aether_vm_net_rx_bytes_total", "aether_vm_net_tx_bytes_total");

    @Override
    public Integer call() {
        if (intervalMillis < 100 || intervalMillis > 60_000) {
            System.err.println("aether vm top: --interval: " + intervalMillis + " is out of range (100 to 60000)");
            return VmRunCommand.STATUS_BAD_ARGUMENTS;
        }
        AgentClient client = node.client();
        try {
            Sample before = Sample.take(client);
            while (true) {
                Thread.sleep(intervalMillis);
                Sample now = Sample.take(client);
                String frame = frame(client.list().vms(), before, now);
                // Home and clear the screen between live frames; a frame alone is plain text.
                System.out.print(once ? frame : "\033[H\033[2J" + frame);
                System.out.flush();
                if (once) return 0;
                before = now;
            }
        } catch (IOException e) {
            System.err.println("aether vm top: " + e.getMessage());
            return 1;
        } catch (InterruptedException e) {
            return 0;
        }
    }

    /** Per VM, each family's sum over its series, at one moment. */
    record Sample(long nanos, Map<String, Map<String, Double>> byVm) {
        static Sample take(AgentClient client) throws IOException {
            return new Sample(System.nanoTime(), sums(client.metrics()));
        }

        Optional<Double> get(String vm, String family) {
            return Optional.ofNullable(byVm.getOrDefault(vm, Map.of()).get(family));
        }

        /** {@code families}' sums over {@code vm}'s series, as one rate per second since {@code before}. */
        Optional<Double> rate(Sample before, String vm, List<String> families) {
            double seconds = (nanos - before.nanos) / 1e9;
            double delta = 0;
            for (String f : families) {
                Optional<Double> then = before.get(vm, f);
                Optional<Double> now = get(vm, f);
                if (then.isEmpty() || now.isEmpty()) return Optional.empty();
                delta += now.get() - then.get();
            }
            // A counter that went back belongs to a new monitor (a restart): no rate for that interval.
            return delta < 0 ? Optional.empty() : Optional.of(delta / seconds);
        }
    }

    /**
     * The samples of the text format (0.0.4) that carry a {@code vm} label, summed per VM and name.
     * Comments and other lines are skipped: the agent wrote them, and top only shows them.
     */
    static Map<String, Map<String, Double>> sums(String text) {
        Map<String, Map<String, Double>> out = new HashMap<>();
        for (String line : text.split("\n")) {
            if (line.startsWith("#")) continue;
            int brace = line.indexOf('{');
            int close = line.lastIndexOf('}');
            if (brace < 0 || close < brace) continue;
            Optional<String> vm = label(line.substring(brace + 1, close), "vm");
            if (vm.isEmpty()) continue;
            double value;
            try {
                value = Double.parseDouble(line.substring(close + 1).strip().split(" ")[0]);
            } catch (NumberFormatException e) {
                continue;
            }
            out.computeIfAbsent(vm.get(), k -> new HashMap<>()).merge(line.substring(0, brace), value, Double::sum);
        }
        return out;
    }

    /** The value of label {@code name} in {@code a="x",b="y"}, its escapes undone. */
    private static Optional<String> label(String labels, String name) {
        int i = 0;
        while (i < labels.length()) {
            int eq = labels.indexOf("=\"", i);
            if (eq < 0) return Optional.empty();
            String key = labels.substring(i, eq);
            StringBuilder value = new StringBuilder();
            int j = eq + 2;
            for (; j < labels.length() && labels.charAt(j) != '"'; j++) {
                char c = labels.charAt(j);
                if (c == '\\' && j + 1 < labels.length()) {
                    char next = labels.charAt(++j);
                    value.append(next == 'n' ? '\n' : next);
                } else {
                    value.append(c);
                }
            }
            if (key.equals(name)) return Optional.of(value.toString());
            i = j + 2; // past the closing quote and the comma
        }
        return Optional.empty();
    }

    static String frame(List<VmInfo> vms, Sample before, Sample now) {
        List<List<String>> rows = new ArrayList<>();
        rows.add(List.of("VM", "STATE", "CPU%", "EXITS/S", "RSS", "DISK/S", "NET/S"));
        for (VmInfo vm : vms) {
            String id = vm.id();
            rows.add(List.of(id, vm.state(),
                    now.rate(before, id, List.of(CPU)).map(r -> String.format(Locale.ROOT, "%.1f", r * 100)).orElse("-"),
                    now.rate(before, id, List.of(EXITS)).map(r -> String.format(Locale.ROOT, "%.0f", r)).orElse("-"),
                    now.get(id, RSS).map(VmTop::human).orElse("-"),
                    now.rate(before, id, DISK).map(VmTop::human).orElse("-"),
                    now.rate(before, id, NET).map(VmTop::human).orElse("-")));
        }
        return VmClientCommands.table(rows);
    }

    /** Bytes in binary units with one decimal: {@code 512B}, {@code 1.5K}, {@code 38.2M}. */
    static String human(double bytes) {
        String[] units = {"B", "K", "M", "G", "T"};
        int u = 0;
        while (bytes >= 1024 && u < units.length - 1) {
            bytes /= 1024;
            u++;
        }
        return u == 0 ? String.format(Locale.ROOT, "%.0fB", bytes) : String.format(Locale.ROOT, "%.1f%s", bytes, units[u]);
    }
}
