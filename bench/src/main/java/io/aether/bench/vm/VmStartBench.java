package io.aether.bench.vm;

import io.aether.arch.x86_64.StubGuest;
import io.aether.monitorapi.ControlRequest;
import io.aether.monitorapi.ControlResponse;
import io.aether.monitorapi.MonitorClient;
import io.aether.monitorapi.VmState;
import io.aether.monitorapi.WarmPool;
import io.aether.vmspec.VmSpec;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Issue 7's start and memory benchmarks, on this host's KVM with stub guests.
 *
 * <pre>
 *   VmStartBench start --runs N --dir DIR --label monitor -- CMD... --label run -- CMD... --label qemu -- CMD...
 *   VmStartBench memory --vms N --dir DIR --label NAME -- CMD... [--label pool:NAME -- CMD...] [--label floor:NAME -- CMD...]
 *                       --label qemu -- CMD...
 *   VmStartBench firmware OUT.bin     # the ECHO stub as a BIOS image: a guest that prints and then waits
 * </pre>
 *
 * {@code start}: the time from the request to the guest's first console byte, as a client sees
 * it, by four routes, interleaved run by run: a launch request to a warm standby monitor (from a
 * {@link WarmPool}), a cold {@code aether vm monitor} (spawned; its socket polled every
 * millisecond, then its console attached), a cold {@code aether vm run --stub} and QEMU (first
 * byte on standard output). Then VMs started per second through the pool. {@code monitor} is the
 * monitor's command up to its options ({@code ... vm monitor}).
 *
 * <p>{@code memory}: N VMs of each kind at once, each running the ECHO stub (it prints, then
 * waits for input), and each process's USS (private clean + dirty) and PSS from
 * {@code /proc/PID/smaps_rollup}. A {@code pool:} label starts N standby monitors with that
 * command, measures them, launches a VM on each and measures them again. A {@code floor:} label
 * starts N processes of its command as it is ({@link IdleJvm}: no VM) and measures them once each
 * has printed its first line. Where the host runs KSM, each row is read once the pages merged of
 * its processes have settled; the last column is their merged pages.
 */
public final class VmStartBench {

    private static final Duration CLIENT = Duration.ofSeconds(10);
    private static final VmSpec ECHO = VmSpec.stub(VmSpec.StubProgram.ECHO);
    private static final long TIMEOUT = TimeUnit.SECONDS.toNanos(60);
    /**
     * How long the VMs idle before their memory is read: past the JVM's start-up, whose compiler
     * arenas go back to malloc when its chunk pool is next cleaned (every 5 s).
     */
    private static final long SETTLE_MILLIS = 8_000;

    record Command(String label, List<String> argv) {
    }

    private VmStartBench() {
    }

    public static void main(String[] args) throws Throwable {
        if (args.length == 2 && args[0].equals("firmware")) {
            Files.write(Path.of(args[1]), StubGuest.firmware(StubGuest.Program.ECHO));
            return;
        }
        if (args.length == 0 || !(args[0].equals("start") || args[0].equals("memory"))) {
            System.err.println("usage: VmStartBench start|memory [--runs N] [--vms N] --dir DIR --label NAME -- CMD... ...");
            System.err.println("       VmStartBench firmware OUT.bin");
            System.exit(2);
        }
        int runs = 20;
        int vms = 5;
        Path dir = null;
        List<Command> commands = new ArrayList<>();
        int i = 1;
        while (i < args.length) {
            switch (args[i]) {
                case "--runs" -> runs = Integer.parseInt(args[i + 1]);
                case "--vms" -> vms = Integer.parseInt(args[i + 1]);
                case "--dir" -> dir = Path.of(args[i + 1]);
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
        if (dir == null) throw new IllegalArgumentException("--dir is required");
        Map<String, List<String>> byLabel = new LinkedHashMap<>();
        commands.forEach(c -> byLabel.put(c.label(), c.argv()));
        if (args[0].equals("start")) {
            System.out.print(start(runs, dir, byLabel.get("monitor"), byLabel.get("run"), byLabel.get("qemu")));
        } else {
            System.out.print(memory(vms, dir, commands));
        }
        System.exit(0);
    }

    // ---- start ----

    static String start(int runs, Path dir, List<String> monitor, List<String> run, List<String> qemu) throws Throwable {
        Path spec = Files.writeString(dir.resolve("echo.json"), "{\"boot\": {\"stub\": \"echo\"}, \"memory\": \"16M\"}");
        Path poolDir = Files.createDirectories(dir.resolve("pool"));
        List<double[]> warm = new ArrayList<>();   // {launch answered, first byte}
        List<Double> coldMonitor = new ArrayList<>();
        List<Double> coldRun = new ArrayList<>();
        List<Double> qemuFirst = new ArrayList<>();
        warmUpClient(monitor, dir);
        try (WarmPool pool = WarmPool.start(new WarmPool.Config(monitor, poolDir, 2, Duration.ofSeconds(60)))) {
            for (int r = -1; r < runs; r++) { // run -1 warms the page cache and is not counted
                awaitFull(pool, 2);
                double[] w = warmStart(pool, dir, r);
                double m = coldMonitor(monitor, spec, dir);
                double v = ms(Spawn.run(run, "", TIMEOUT).firstOutput());
                double q = ms(Spawn.run(qemu, "", TIMEOUT).firstOutput());
                System.err.printf(Locale.ROOT, "run %d: warm launch %.2f ms, first byte %.2f ms; cold monitor %.1f ms; vm run %.1f ms; qemu %.1f ms%n",
                        r + 1, w[0], w[1], m, v, q);
                if (r < 0) continue;
                warm.add(w);
                coldMonitor.add(m);
                coldRun.add(v);
                qemuFirst.add(q);
            }
            awaitFull(pool, 2);
            String rate = startsPerSecond(pool, dir, 20);
            double q = median(qemuFirst);
            StringBuilder table = new StringBuilder();
            table.append("| route | runs | request → first console byte, median (ms) | min | max | / QEMU |\n");
            table.append("|---|---:|---:|---:|---:|---:|\n");
            row(table, "warm standby monitor (launch request)", warm.stream().map(w -> w[1]).toList(), q);
            row(table, "  of which the launch answered", warm.stream().map(w -> w[0]).toList(), q);
            row(table, "cold `aether vm monitor` (socket polled, console attached)", coldMonitor, q);
            row(table, "cold `aether vm run --stub` (stdout)", coldRun, q);
            row(table, "QEMU microvm (stdout)", qemuFirst, q);
            return table + "\n" + rate;
        }
    }

    /**
     * This JVM's client path (a node agent's is long warm) taken a few hundred times against a
     * standby monitor of its own, before anything is measured.
     */
    private static void warmUpClient(List<String> monitor, Path dir) throws Exception {
        Path socket = dir.resolve("client-warm-up.sock");
        List<String> argv = new ArrayList<>(monitor);
        argv.addAll(List.of("--standby", "--socket", socket.toString()));
        Process p = new ProcessBuilder(argv).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            if (!new String(p.getInputStream().readNBytes(WarmPool.READY_LINE_PREFIX.length()), StandardCharsets.US_ASCII)
                    .equals(WarmPool.READY_LINE_PREFIX)) {
                throw new IllegalStateException("the warm-up standby did not start");
            }
            MonitorClient client = new MonitorClient(socket, CLIENT);
            for (int k = 0; k < 300; k++) {
                client.call(new ControlRequest.State());
                ControlRequest.Launch refused = new ControlRequest.Launch(ECHO, Optional.empty(), Optional.of(dir.resolve("no/such.sock")));
                if (!(client.call(refused) instanceof ControlResponse.Refused)) throw new IllegalStateException("a launch was not refused");
            }
        } finally {
            p.destroy();
            p.waitFor();
        }
    }

    private static void awaitFull(WarmPool pool, int size) throws InterruptedException {
        if (!pool.awaitReady(size, Duration.ofSeconds(120))) throw new IllegalStateException("the pool did not fill: " + pool.stats());
        Thread.sleep(300); // the new standby's last compilations and the previous VM's teardown settle
    }

    /** One VM through the pool: {launch answered, first console byte} in ms from the request; the VM is stopped after. */
    private static double[] warmStart(WarmPool pool, Path dir, int run) throws Exception {
        Path socket = dir.resolve("warm-" + (run + 1) + ".sock");
        long t0 = System.nanoTime();
        WarmPool.Launched vm = pool.launch(new ControlRequest.Launch(ECHO, Optional.empty(), Optional.of(socket)))
                .orElseThrow(() -> new IllegalStateException("no standby monitor ready"));
        long launched = System.nanoTime();
        try {
            long first = firstByte(new MonitorClient(socket, CLIENT));
            stop(new MonitorClient(socket, CLIENT), vm.process().toHandle());
            return new double[] {ms(launched - t0), ms(first - t0)};
        } catch (IOException e) {
            throw new IOException(e.getMessage() + "; the monitor's stderr: " + Files.readString(vm.errors()), e);
        }
    }

    /** Attaches to the console (replay: from its first byte) and returns when its first byte arrived. */
    private static long firstByte(MonitorClient client) throws IOException {
        try (MonitorClient.Console console = client.attachConsole(true)) {
            InputStream out = console.output();
            if (out.read() < 0) throw new IOException("the console ended before its first byte");
            return System.nanoTime();
        }
    }

    private static void stop(MonitorClient client, ProcessHandle process) throws Exception {
        awaitRunning(client);
        client.stop(false, Duration.ZERO);
        process.onExit().get(30, TimeUnit.SECONDS);
    }

    private static void awaitRunning(MonitorClient client) throws Exception {
        long deadline = System.nanoTime() + TIMEOUT;
        while (client.state().state() == VmState.CREATED) {
            if (System.nanoTime() > deadline) throw new IllegalStateException("the VM was never built");
            Thread.sleep(1);
        }
    }

    private static double coldMonitor(List<String> monitor, Path spec, Path dir) throws Exception {
        Path socket = dir.resolve("cold.sock");
        List<String> argv = new ArrayList<>(monitor);
        argv.addAll(List.of("--spec", spec.toString(), "--socket", socket.toString()));
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder(argv).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(dir.resolve("cold.err").toFile()).start();
        MonitorClient client = new MonitorClient(socket, CLIENT);
        while (true) {
            try {
                client.call(new ControlRequest.State());
                break;
            } catch (IOException e) {
                if (!p.isAlive()) throw new IllegalStateException("the monitor exited: " + Files.readString(dir.resolve("cold.err")));
                if (System.nanoTime() - t0 > TIMEOUT) throw new IllegalStateException("the monitor never answered");
                Thread.sleep(1);
            }
        }
        long first = firstByte(client);
        stop(client, p.toHandle());
        return ms(first - t0);
    }

    /** Launches {@code count} VMs back to back through the pool, each as soon as a standby is ready, each stopped after its first byte. */
    private static String startsPerSecond(WarmPool pool, Path dir, int count) throws Exception {
        long t0 = System.nanoTime();
        List<ProcessHandle> all = new ArrayList<>();
        long waitedNanos = 0;
        for (int k = 0; k < count; k++) {
            Path socket = dir.resolve("rate-" + k + ".sock");
            Optional<WarmPool.Launched> vm;
            while ((vm = pool.launch(new ControlRequest.Launch(ECHO, Optional.empty(), Optional.of(socket)))).isEmpty()) {
                long w = System.nanoTime();
                pool.awaitReady(1, Duration.ofSeconds(120));
                waitedNanos += System.nanoTime() - w;
            }
            firstByte(new MonitorClient(socket, CLIENT));
            all.add(vm.get().process().toHandle());
            MonitorClient client = new MonitorClient(socket, CLIENT);
            awaitRunning(client);
            client.stop(false, Duration.ZERO);
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        for (ProcessHandle p : all) p.onExit().get(30, TimeUnit.SECONDS);
        return String.format(Locale.ROOT,
                "%d VMs through a pool of 2, back to back (each stopped after its first byte): %.2f s, %.2f VMs/s; %.2f s of it waiting for the pool to refill%n",
                count, seconds, count / seconds, waitedNanos / 1e9);
    }

    // ---- memory ----

    /** One process's memory from smaps_rollup, in KiB, and its pages merged by KSM ({@code /proc/PID/ksm_merging_pages}, in KiB). */
    record Memory(long rss, long pss, long uss, long merged) {
        static Memory of(long pid) throws IOException {
            long rss = 0;
            long pss = 0;
            long priv = 0;
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/smaps_rollup"))) {
                String[] f = line.split("\\s+");
                if (f.length < 2) continue;
                switch (f[0]) {
                    case "Rss:" -> rss = Long.parseLong(f[1]);
                    case "Pss:" -> pss = Long.parseLong(f[1]);
                    case "Private_Clean:", "Private_Dirty:" -> priv += Long.parseLong(f[1]);
                    default -> { }
                }
            }
            return new Memory(rss, pss, priv, mergedPages(pid) * PAGE_KIB);
        }
    }

    private static final Path KSM = Path.of("/sys/kernel/mm/ksm");
    /** This benchmark's host (x86-64): 4 KiB pages. */
    private static final long PAGE_KIB = 4;
    /** How long the merged pages may take to settle where KSM runs. */
    private static final long KSM_SETTLE_LIMIT = TimeUnit.MINUTES.toNanos(3);

    private static long mergedPages(long pid) throws IOException {
        Path file = Path.of("/proc/" + pid + "/ksm_merging_pages");
        return Files.exists(file) ? Long.parseLong(Files.readString(file).strip()) : 0;
    }

    private static long ksmNumber(String name) throws IOException {
        return Long.parseLong(Files.readString(KSM.resolve(name)).strip());
    }

    /** Whether any of the process's memory is offered to KSM ({@code ksm_stat}'s "ksm_mergeable: yes"). */
    private static boolean mergeable(long pid) throws IOException {
        Path file = Path.of("/proc/" + pid + "/ksm_stat");
        return Files.exists(file) && Files.readAllLines(file).contains("ksm_mergeable: yes");
    }

    /**
     * {@code pids} once they have idled past the JVM's start-up and, where the host runs KSM and
     * they offer it memory, once the pages merged of them have not changed over two full scans of
     * the kernel's merging thread (at most {@link #KSM_SETTLE_LIMIT}; a scan covers every
     * mergeable process of the host, another's large guest too).
     */
    private static List<Long> settled(List<Long> pids) throws IOException, InterruptedException {
        Thread.sleep(SETTLE_MILLIS);
        if (!Files.exists(KSM.resolve("run")) || ksmNumber("run") != 1) return pids;
        boolean offered = false;
        for (long pid : pids) offered |= mergeable(pid);
        if (!offered) return pids;
        long start = System.nanoTime();
        long merged = -1;
        long scansAtChange = 0;
        while (System.nanoTime() - start < KSM_SETTLE_LIMIT) {
            long now = 0;
            for (long pid : pids) now += mergedPages(pid);
            if (now != merged) {
                merged = now;
                scansAtChange = ksmNumber("full_scans");
            } else if (ksmNumber("full_scans") >= scansAtChange + 2) {
                System.err.printf(Locale.ROOT, "KSM settled after %.1f s more%n", (System.nanoTime() - start) / 1e9);
                return pids;
            }
            Thread.sleep(250);
        }
        System.err.println("KSM did not settle within " + TimeUnit.NANOSECONDS.toSeconds(KSM_SETTLE_LIMIT) + " s: read as it is");
        return pids;
    }

    static String memory(int vms, Path dir, List<Command> commands) throws Throwable {
        Path spec = Files.writeString(dir.resolve("echo.json"), "{\"boot\": {\"stub\": \"echo\"}, \"memory\": \"16M\"}");
        StringBuilder table = new StringBuilder();
        table.append("| what | processes | USS median (MiB) | PSS median (MiB) | RSS median (MiB) | USS sum (MiB) | merged by KSM, median (MiB) |\n");
        table.append("|---|---:|---:|---:|---:|---:|---:|\n");
        for (Command c : commands) {
            if (c.label().startsWith("qemu") || c.label().startsWith("floor:")) {
                List<Process> ps = new ArrayList<>();
                try {
                    for (int k = 0; k < vms; k++) ps.add(startedPrinting(c.argv(), c.label().startsWith("qemu") ? "Aether stub guest" : "idle"));
                    table.append(memoryRow(c.label(), settled(ps.stream().map(Process::pid).toList())));
                } finally {
                    ps.forEach(Process::destroyForcibly);
                    for (Process p : ps) p.waitFor();
                }
            } else if (c.label().startsWith("pool:")) {
                Path poolDir = Files.createDirectories(dir.resolve("mem-pool"));
                List<ProcessHandle> launched = new ArrayList<>();
                try (WarmPool pool = WarmPool.start(new WarmPool.Config(c.argv(), poolDir, vms, Duration.ofSeconds(120)))) {
                    awaitFull(pool, vms);
                    table.append(memoryRow(c.label() + " standby (no VM)", settled(pool.readyPids())));
                    List<Path> sockets = new ArrayList<>();
                    for (int k = 0; k < vms; k++) {
                        Path socket = dir.resolve("mem-pool-" + k + ".sock");
                        launched.add(pool.launch(new ControlRequest.Launch(ECHO, Optional.empty(), Optional.of(socket))).orElseThrow().process().toHandle());
                        sockets.add(socket);
                    }
                    pool.close(); // its refills are not measured
                    for (Path s : sockets) firstByte(new MonitorClient(s, CLIENT));
                    table.append(memoryRow(c.label() + " launched", settled(launched.stream().map(ProcessHandle::pid).toList())));
                    for (int k = 0; k < vms; k++) stop(new MonitorClient(sockets.get(k), CLIENT), launched.get(k));
                } finally {
                    launched.forEach(ProcessHandle::destroyForcibly);
                }
            } else {
                List<Process> ps = new ArrayList<>();
                try {
                    List<Path> sockets = new ArrayList<>();
                    for (int k = 0; k < vms; k++) {
                        Path socket = dir.resolve("mem-" + k + ".sock");
                        List<String> argv = new ArrayList<>(c.argv());
                        argv.addAll(List.of("--spec", spec.toString(), "--socket", socket.toString()));
                        ps.add(new ProcessBuilder(argv).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                                .redirectError(dir.resolve("mem-" + k + ".err").toFile()).start());
                        sockets.add(socket);
                    }
                    for (Path s : sockets) {
                        long deadline = System.nanoTime() + TIMEOUT;
                        while (!Files.exists(s)) {
                            if (System.nanoTime() > deadline) throw new IllegalStateException("no monitor at " + s);
                            Thread.sleep(5);
                        }
                        firstByte(new MonitorClient(s, CLIENT));
                    }
                    table.append(memoryRow(c.label(), settled(ps.stream().map(Process::pid).toList())));
                    for (int k = 0; k < vms; k++) stop(new MonitorClient(sockets.get(k), CLIENT), ps.get(k).toHandle());
                } finally {
                    ps.forEach(Process::destroyForcibly);
                }
            }
        }
        return table.toString();
    }

    /** The process once it printed {@code message} first on its standard output. */
    private static Process startedPrinting(List<String> argv, String message) throws IOException {
        Process p = new ProcessBuilder(argv).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        byte[] expected = message.getBytes(StandardCharsets.US_ASCII);
        byte[] got = p.getInputStream().readNBytes(expected.length);
        if (!Arrays.equals(expected, got)) throw new IOException(argv.get(0) + " printed " + new String(got, StandardCharsets.US_ASCII));
        return p;
    }

    private static String memoryRow(String label, List<Long> pids) throws IOException {
        List<Memory> ms = new ArrayList<>();
        for (long pid : pids) ms.add(Memory.of(pid));
        System.err.println(label + ": " + ms);
        return String.format(Locale.ROOT, "| %s | %d | %.1f | %.1f | %.1f | %.1f | %.1f |%n", label, ms.size(),
                median(ms.stream().map(m -> m.uss() / 1024.0).toList()), median(ms.stream().map(m -> m.pss() / 1024.0).toList()),
                median(ms.stream().map(m -> m.rss() / 1024.0).toList()), ms.stream().mapToLong(Memory::uss).sum() / 1024.0,
                median(ms.stream().map(m -> m.merged() / 1024.0).toList()));
    }

    // ---- figures ----

    static void row(StringBuilder table, String label, List<Double> values, double qemu) {
        double m = median(values);
        table.append(String.format(Locale.ROOT, "| %s | %d | %.2f | %.2f | %.2f | %.2f× |%n", label, values.size(), m,
                values.stream().mapToDouble(Double::doubleValue).min().orElse(Double.NaN),
                values.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN), m / qemu));
    }

    static double median(List<Double> values) {
        return BootBench.median(values.stream().mapToDouble(Double::doubleValue).toArray());
    }

    private static double ms(long nanos) {
        return nanos < 0 ? Double.NaN : nanos / 1e6;
    }
}
