package io.aether.bench.vm;

import io.aether.agentapi.AgentClient;
import io.aether.agentapi.RestartPolicy;
import io.aether.guest.GuestInit;
import io.aether.http.ApiClient;
import io.aether.testhost.GuestConsole;
import io.aether.testhost.GuestRun;
import io.aether.testhost.Scenario;
import io.aether.testhost.TestHost;
import io.aether.vmspec.VmSpec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * Issue 7's Linux start through the node agent's API, inside the nested test host: {@code POST
 * /v1/vms} to a running {@code aether node} with a warm pool → the init's ready marker in the VM's
 * {@code console.log}, beside {@code qemu-system-x86_64 -M microvm} spawned cold → the same marker
 * on its standard output, alternating run by run, the same kernel, initramfs, command line, memory
 * and vCPUs. Timings inside the nested host are emulated: only the ratio counts.
 *
 * <p>Usage (bench/vm-nested-agent.sh): {@code NestedAgentBench [RUNS] [POOL]} on this machine,
 * which boots the test host and runs {@code NestedAgentBench inside --runs N --node SOCKET
 * --data DIR --qemu CMD...} there.
 */
public final class NestedAgentBench {

    private static final long TIMEOUT = TimeUnit.MINUTES.toNanos(20);

    private NestedAgentBench() {
    }

    public static void main(String[] args) throws Throwable {
        if (args.length > 0 && args[0].equals("inside")) {
            inside(args);
            return;
        }
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        int pool = args.length > 1 ? Integer.parseInt(args[1]) : 1;
        String cmdline = Scenario.GUEST_CMDLINE + " " + GuestInit.POWEROFF_PARAMETER;
        // QEMU_MACHINE_PARAMETERS=1: QEMU's guest is also told what Aether's x86 machine tells its own
        // (MachineCmdline), so that the two boots probe the same ports.
        String qemuCmdline = "1".equals(System.getenv("QEMU_MACHINE_PARAMETERS")) ? cmdline + " pci=off 8250.nr_uarts=1" : cmdline;
        String qemu = Scenario.qemuMicrovmCommand(qemuCmdline).replace("-smp 2", "-smp 1");
        // TRACE_START=1: the agent prints where each create's time goes (docs/BENCHMARKS.md (d)).
        boolean trace = "1".equals(System.getenv("TRACE_START"));
        // CGROUPS=1: the test host's L1 mounts no cgroup; this mounts cgroup v2 for the agent, which
        // then enforces the VMs' quotas and keeps its standbys in groups of their own, as on a real host.
        boolean cgroups = "1".equals(System.getenv("CGROUPS"));
        // The agent is the product's own `aether node`; the client is this class, on the same JVM
        // and classpath as the product's wrapper.
        String script = """
                sed -e 's/io[.]aether[.]cli[.]Main/io.aether.bench.vm.NestedAgentBench/' -e 's/aether-bench[.]jsa/agentbench.jsa/' "$AETHER" > agentbench && chmod +x agentbench
                # The test host takes a silent console for a hang; JVMs start slowly under emulation.
                (while sleep 30; do echo "bench: still running"; done) &
                heartbeat=$!
                %s
                sed -e 's/io[.]aether[.]cli[.]Main/%sio.aether.cli.Main/' "$AETHER" > agent && chmod +x agent
                %s./agent node --data node --warm-pool %d >> node.log 2>&1 &
                agent=$!
                waited=0
                until [ -S node/node.sock ]; do
                    sleep 1; waited=$((waited + 1))
                    [ $((waited %% 30)) -ne 0 ] || echo "waiting for the agent's socket, ${waited} s"
                    [ $waited -lt 600 ] || { cat node.log; exit 11; }
                done
                ./agentbench inside --runs %d --pool %d --node node/node.sock --data node --cmdline %s \\
                    --kernel "$GUEST_KERNEL" --initrd "$GUEST_INITRD" --qemu sh -c %s
                status=$?
                [ $status -eq 0 ] || { tail -n 40 node.log | sed 's/^/node.log: /'; ls node/pool 2> /dev/null | sed 's/^/pool: /'; }
                sed -n 's/^trace-start /trace: /p' node.log
                echo "BENCH-STATUS=$status"
                kill $agent $heartbeat
                wait $agent
                """.formatted(cgroups ? "mount -t cgroup2 cgroup2 /sys/fs/cgroup" : ":", trace ? "-Daether.trace.start=true " : "",
                // The standbys the agent spawns inherit the environment, not its system properties.
                trace ? "JAVA_TOOL_OPTIONS='-Daether.trace.start=true -Daether.trace.boot=true' " : "", pool, runs, pool, Scenario.quote(cmdline), Scenario.quote("exec " + qemu));
        Duration limit = Duration.ofMinutes(20 + 8L * runs);
        Scenario scenario = Scenario.script(script).withQemu().jvmOptions(NestedBootBench.monitorJvmOptions()).timeout(limit).build();
        TestHost.open().retryingStalls(host -> {
            try (GuestRun run = host.start(scenario)) {
                GuestConsole console = run.console();
                console.expectLine(Pattern.compile("BENCH-STATUS=\\d+"), limit);
                String transcript = console.transcript();
                System.out.println("\n== Linux through the agent's warm pool vs QEMU microvm cold, " + runs + " runs each, medians ==");
                transcript.lines().filter(l -> l.startsWith("|") || l.startsWith("ratio") || l.startsWith("trace: ") || l.startsWith("cpu.stat "))
                        .forEach(System.out::println);
                if (!transcript.contains("BENCH-STATUS=0")) {
                    System.err.println(transcript);
                    System.exit(1);
                }
            }
        });
    }

    /** The part that runs in the test host, beside the agent. */
    private static void inside(String[] args) throws Throwable {
        int runs = 10;
        int pool = 1;
        Path socket = null;
        Path data = null;
        Path kernel = null;
        Path initrd = null;
        String cmdline = null;
        List<String> qemu = new ArrayList<>();
        for (int i = 1; i < args.length; i++) {
            switch (args[i]) {
                case "--runs" -> runs = Integer.parseInt(args[++i]);
                case "--pool" -> pool = Integer.parseInt(args[++i]);
                case "--node" -> socket = Path.of(args[++i]);
                case "--data" -> data = Path.of(args[++i]);
                case "--kernel" -> kernel = Path.of(args[++i]);
                case "--initrd" -> initrd = Path.of(args[++i]);
                case "--cmdline" -> cmdline = args[++i];
                case "--qemu" -> {
                    qemu.addAll(List.of(args).subList(i + 1, args.length));
                    i = args.length;
                }
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (socket == null || data == null || kernel == null || cmdline == null || qemu.isEmpty()) {
            throw new IllegalArgumentException("inside needs --node, --data, --kernel, --cmdline and --qemu");
        }
        VmSpec spec = VmSpec.linux(kernel).withBoot(new VmSpec.Boot.Linux(kernel, Optional.ofNullable(initrd), cmdline));
        AgentClient node = new AgentClient(ApiClient.unix(socket, Duration.ofMinutes(10)));
        List<Double> agent = new ArrayList<>();
        List<Double> answered = new ArrayList<>();
        List<Double> cold = new ArrayList<>();
        for (int r = -1; r < runs; r++) { // one unmeasured round of each: the page cache
            awaitPool(node, pool);
            double[] a = start(node, data, spec, "linux" + (r + 1));
            // The pool refills after the launch: QEMU's boot gets as quiet a host as the agent's had before its request.
            awaitPool(node, pool);
            double q = Spawn.run(qemu, GuestInit.READY_MARKER, TIMEOUT).marker() / 1e6;
            System.out.printf(Locale.ROOT, "run %d: agent answered %.0f ms, marker %.0f ms; qemu marker %.0f ms%n", r + 1, a[0], a[1], q);
            if (r < 0) continue;
            answered.add(a[0]);
            agent.add(a[1]);
            cold.add(q);
        }
        double qemuMedian = VmStartBench.median(cold);
        StringBuilder table = new StringBuilder("| route | runs | median (ms) | min | max | / QEMU |\n|---|---:|---:|---:|---:|---:|\n");
        VmStartBench.row(table, "agent, warm pool of " + pool + ": request → init's ready marker", agent, qemuMedian);
        VmStartBench.row(table, "  of which: the create answered (VM running)", answered, qemuMedian);
        VmStartBench.row(table, "QEMU microvm, cold: spawn → init's ready marker", cold, qemuMedian);
        System.out.print(table);
        List<Double> ratios = new ArrayList<>();
        for (int i = 0; i < agent.size(); i++) ratios.add(agent.get(i) / cold.get(i));
        System.out.printf(Locale.ROOT, "ratio of medians %.2f, median of pairwise ratios %.2f%n",
                VmStartBench.median(agent) / qemuMedian, VmStartBench.median(ratios));
        System.exit(0);
    }

    /**
     * Creates and starts VM {@code id} and returns {create answered, ready marker} in ms from the
     * request; the guest powers itself off after the marker, and the VM is deleted then.
     */
    private static double[] start(AgentClient node, Path data, VmSpec spec, String id) throws Exception {
        Path log = data.resolve("vms").resolve(id).resolve("console.log");
        byte[] marker = GuestInit.READY_MARKER.getBytes(StandardCharsets.US_ASCII);
        long[] seen = {-1};
        Thread watcher = Thread.ofPlatform().start(() -> {
            long deadline = System.nanoTime() + TIMEOUT;
            long from = 0;
            while (System.nanoTime() < deadline) {
                // Only what the console added since (with a marker's length before it): a whole reread each
                // millisecond would take the emulated CPUs from the guest it watches.
                try (java.io.RandomAccessFile file = new java.io.RandomAccessFile(log.toFile(), "r")) {
                    long length = file.length();
                    if (length > from) {
                        long start = Math.max(0, from - marker.length);
                        byte[] added = new byte[Math.toIntExact(length - start)];
                        file.seek(start);
                        file.readFully(added);
                        from = length;
                        if (contains(added, marker)) {
                            seen[0] = System.nanoTime();
                            printThrottling(id);
                            return;
                        }
                    }
                } catch (java.io.IOException notYet) {
                    // the VM's folder is not there yet
                }
                java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
            }
        });
        long t0 = System.nanoTime();
        node.create(spec, Map.of(), RestartPolicy.NEVER, id, true);
        long created = System.nanoTime();
        int waits = 0;
        while (watcher.isAlive()) {
            watcher.join(20_000);
            if (watcher.isAlive()) {
                System.out.println(id + ": waiting for the ready marker"); // a silent console looks like a hang
                // A boot takes seconds here: after a minute, say what the VM is doing, twice, 10 s apart.
                if (++waits == 3 || waits == 4) describeSlowVm(node, data, id);
            }
        }
        if (seen[0] < 0) throw new IllegalStateException(id + " never printed " + GuestInit.READY_MARKER);
        // A traced standby's side of the launch (TRACE_START=1), before the VM's folder goes.
        try (var lines = Files.lines(data.resolve("vms").resolve(id).resolve("monitor.log"), StandardCharsets.ISO_8859_1)) {
            lines.filter(l -> l.startsWith("trace-launch ") || l.startsWith("trace-boot "))
                    .forEach(l -> System.out.println("trace: " + (l.startsWith("trace-boot ") ? "build " + l.substring(11) : "launch " + l.substring(13))));
        } catch (java.io.IOException | java.io.UncheckedIOException e) {
            System.out.println(id + ": no monitor log: " + e);
        }
        node.delete(id, true);
        return new double[] {(created - t0) / 1e6, (seen[0] - t0) / 1e6};
    }

    /** What a VM that has not printed its marker in a minute is doing: its state, its counters, its console and monitor log. */
    private static void describeSlowVm(AgentClient node, Path data, String id) {
        String prefix = "slow " + id + "| ";
        try {
            System.out.println(prefix + "state: " + node.get(id));
            node.metrics().lines().filter(l -> l.contains(id) && !l.startsWith("#")).forEach(l -> System.out.println(prefix + l));
        } catch (java.io.IOException | RuntimeException e) {
            System.out.println(prefix + "the agent does not say: " + e);
        }
        for (String file : List.of("console.log", "monitor.log")) {
            try {
                String text = Files.readString(data.resolve("vms").resolve(id).resolve(file), StandardCharsets.ISO_8859_1);
                text.substring(Math.max(0, text.length() - 4000)).lines().forEach(l -> System.out.println(prefix + file + ": " + l));
            } catch (java.io.IOException | RuntimeException e) {
                System.out.println(prefix + file + ": " + e);
            }
        }
    }

    /** The VM's group's CPU throttling up to its marker, where the agent made one (CGROUPS=1). */
    private static void printThrottling(String id) {
        Path stat = Path.of("/sys/fs/cgroup", "aether", id, "cpu.stat");
        try {
            System.out.println("cpu.stat " + id + ": " + String.join(", ", Files.readAllLines(stat)));
        } catch (java.io.IOException none) {
            // no group: the agent enforces no quota here
        }
    }

    private static boolean contains(byte[] text, byte[] marker) {
        outer:
        for (int i = 0; i + marker.length <= text.length; i++) {
            for (int j = 0; j < marker.length; j++) {
                if (text[i + j] != marker[j]) continue outer;
            }
            return true;
        }
        return false;
    }

    private static String poolState(AgentClient node) {
        try {
            return node.node().pool().toString();
        } catch (java.io.IOException e) {
            return "the agent does not answer: " + e.getMessage();
        }
    }

    /** Ready standbys, or 0 while the agent does not answer yet (its socket exists before it serves). */
    private static int ready(AgentClient node) {
        try {
            return node.node().pool().ready();
        } catch (java.io.IOException notYet) {
            return 0;
        }
    }

    /** Waits until the pool is full, then lets it settle as a pool between starts does. */
    private static void awaitPool(AgentClient node, int size) throws Exception {
        long deadline = System.nanoTime() + TIMEOUT;
        long said = System.nanoTime();
        while (ready(node) < size && System.nanoTime() < deadline) {
            Thread.sleep(100);
            if (System.nanoTime() - said > TimeUnit.SECONDS.toNanos(20)) { // the test host takes a silent console for a hang
                System.out.println("waiting for the warm pool to fill: " + poolState(node));
                said = System.nanoTime();
            }
        }
        if (ready(node) < size) throw new IllegalStateException("the warm pool never filled");
        Thread.sleep(2000);
    }
}
