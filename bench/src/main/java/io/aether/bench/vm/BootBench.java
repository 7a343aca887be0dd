package io.aether.bench.vm;

import io.aether.arch.x86_64.StubGuest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * Whole-run benchmark of monitors: starts each command many times, interleaved, and reports the
 * medians of the time to its first output, to a marker text, to its exit, and its peak RSS, with
 * the ratio of the first command to the second.
 *
 * <pre>
 *   BootBench compare --runs 10 --marker TEXT [--timeout SECONDS] \
 *       --label aether -- CMD ARGS... --label qemu -- CMD ARGS...
 *   BootBench firmware OUT.bin      # the stub guest as a BIOS image for qemu -bios
 * </pre>
 */
public final class BootBench {

    record Command(String label, List<String> argv) {
    }

    private BootBench() {
    }

    public static void main(String[] args) throws Throwable {
        if (args.length == 2 && args[0].equals("firmware")) {
            Files.write(Path.of(args[1]), StubGuest.firmware());
            return;
        }
        if (args.length == 0 || !args[0].equals("compare")) {
            System.err.println("usage: BootBench compare --runs N --marker TEXT [--timeout S] --label A -- CMD... --label B -- CMD...");
            System.err.println("       BootBench firmware OUT.bin");
            System.exit(2);
        }
        int runs = 10;
        String marker = "";
        long timeout = TimeUnit.SECONDS.toNanos(300);
        List<Command> commands = new ArrayList<>();
        int i = 1;
        while (i < args.length) {
            switch (args[i]) {
                case "--runs" -> runs = Integer.parseInt(args[i + 1]);
                case "--marker" -> marker = args[i + 1];
                case "--timeout" -> timeout = TimeUnit.SECONDS.toNanos(Long.parseLong(args[i + 1]));
                case "--label" -> {
                    if (!args[i + 2].equals("--")) throw new IllegalArgumentException("--label NAME must be followed by -- CMD");
                    int end = i + 3;
                    while (end < args.length && !args[end].equals("--label")) end++;
                    commands.add(new Command(args[i + 1], List.of(Arrays.copyOfRange(args, i + 3, end))));
                    i = end;
                    continue;
                }
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
            i += 2;
        }
        if (commands.size() != 2) throw new IllegalArgumentException("compare needs exactly two --label commands");
        System.out.print(compare(commands, runs, marker, timeout));
    }

    static String compare(List<Command> commands, int runs, String marker, long timeout) throws Throwable {
        List<List<Spawn.Measurement>> results = new ArrayList<>();
        for (Command c : commands) {
            results.add(new ArrayList<>());
            Spawn.run(c.argv(), marker, timeout); // warm-up: page cache, not counted
        }
        for (int run = 0; run < runs; run++) {
            for (int k = 0; k < commands.size(); k++) {
                Spawn.Measurement m = Spawn.run(commands.get(k).argv(), marker, timeout);
                System.err.printf(Locale.ROOT, "%s run %d: first output %.1f ms, marker %.1f ms, exit %.1f ms (status %d), peak RSS %d KiB%n",
                        commands.get(k).label(), run + 1, ms(m.firstOutput()), ms(m.marker()), ms(m.exit()), m.exitStatus(), m.maxRssKiB());
                if (!marker.isEmpty() && m.marker() < 0) {
                    throw new IllegalStateException(commands.get(k).label() + " never printed '" + marker + "'; its output:\n" + m.output());
                }
                results.get(k).add(m);
            }
        }
        StringBuilder table = new StringBuilder();
        table.append("| monitor | runs | first output (ms) | marker (ms) | exit (ms) | peak RSS (MiB) |\n");
        table.append("|---|---:|---:|---:|---:|---:|\n");
        int n = commands.size();
        double[][] medians = new double[n][4];
        for (int k = 0; k < n; k++) {
            List<Spawn.Measurement> ms = results.get(k);
            medians[k][0] = median(ms.stream().mapToDouble(m -> ms(m.firstOutput())).toArray());
            medians[k][1] = median(ms.stream().mapToDouble(m -> ms(m.marker())).toArray());
            medians[k][2] = median(ms.stream().mapToDouble(m -> ms(m.exit())).toArray());
            medians[k][3] = median(ms.stream().mapToDouble(m -> m.maxRssKiB() / 1024.0).toArray());
            table.append(String.format(Locale.ROOT, "| %s | %d | %.1f | %.1f | %.1f | %.1f |%n", commands.get(k).label(), ms.size(),
                    medians[k][0], medians[k][1], medians[k][2], medians[k][3]));
        }
        // Every command against the last one, the peer.
        int peer = n - 1;
        for (int k = 0; k < peer; k++) {
            table.append(String.format(Locale.ROOT, "| %s / %s | | %.2fx | %.2fx | %.2fx | %.2fx |%n", commands.get(k).label(),
                    commands.get(peer).label(), medians[k][0] / medians[peer][0], medians[k][1] / medians[peer][1],
                    medians[k][2] / medians[peer][2], medians[k][3] / medians[peer][3]));
        }
        // The same round's runs ran back to back, so their ratio is less exposed to a machine whose load swings.
        for (int k = 0; k < peer; k++) {
            double[] pairs = new double[runs];
            for (int run = 0; run < runs; run++) {
                pairs[run] = headline(results.get(k).get(run), marker) / headline(results.get(peer).get(run), marker);
            }
            double[] sorted = pairs.clone();
            Arrays.sort(sorted);
            table.append(String.format(Locale.ROOT, "| %s / %s, each round's pair (%s) | | min %.2fx | median %.2fx | max %.2fx | |%n",
                    commands.get(k).label(), commands.get(peer).label(), marker.isEmpty() ? "first output" : "marker",
                    sorted[0], median(pairs), sorted[runs - 1]));
        }
        return table.toString();
    }

    /** The time a run is judged by: to the marker when there is one, else to the first output. */
    private static double headline(Spawn.Measurement m, String marker) {
        return marker.isEmpty() ? m.firstOutput() : m.marker();
    }

    private static double ms(long nanos) {
        return nanos < 0 ? Double.NaN : nanos / 1e6;
    }

    static double median(double[] values) {
        double[] v = values.clone();
        Arrays.sort(v);
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }
}
