package io.aether.bench.vm;

import io.aether.agent.NodeAgent;
import io.aether.agentapi.AgentClient;
import io.aether.agentapi.RestartPolicy;
import io.aether.http.ApiClient;
import io.aether.vmspec.VmSpec;
import io.aether.vmspec.VmSpecJson;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Issue 7's start benchmark through the node agent's API: {@code POST /v1/vms} (start) → the
 * guest's first console byte in the VM's {@code console.log}, and {@code POST /v1/vms} (restore
 * of a 256 MiB counting stub's snapshot) → running and → first output, with a warm pool and with
 * none (two agents in this JVM, each on its own data directory), beside QEMU microvm started
 * cold, run by run; then VMs started per second through each agent.
 *
 * <p>Usage: {@code AgentStartBench --runs N --dir DIR --pool N --monitor CMD... --qemu CMD...}
 * where the monitor command runs {@code aether vm monitor} and QEMU's prints on standard output.
 */
public final class AgentStartBench {

    private static final VmSpec ECHO = VmSpec.stub(VmSpec.StubProgram.ECHO);
    /** The restored guest: a counting stub with 256 MiB of memory, as issue 7 item 6 asks. */
    private static final String COUNTER_256M = "{\"boot\": {\"stub\": \"count\"}, \"memory\": \"256M\"}";
    private static final long TIMEOUT = TimeUnit.SECONDS.toNanos(60);
    /** A route the round did not take ({@code --warm-only}). */
    private static final double[] NOT_RUN = {Double.NaN, Double.NaN};
    /** The agents' start trace is on: each VM's monitor's own steps ({@code trace-launch}) are copied to standard error too. */
    private static final boolean TRACED = Boolean.getBoolean("aether.trace.start");

    private AgentStartBench() {
    }

    public static void main(String[] args) throws Throwable {
        int runs = 20;
        int pool = 2;
        boolean warmOnly = false;
        Path dir = null;
        List<String> monitor = new ArrayList<>();
        List<String> qemu = new ArrayList<>();
        List<String> into = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--runs" -> runs = Integer.parseInt(args[++i]);
                case "--pool" -> pool = Integer.parseInt(args[++i]);
                case "--dir" -> dir = Path.of(args[++i]);
                case "--warm-only" -> warmOnly = true;
                case "--monitor" -> into = monitor;
                case "--qemu" -> into = qemu;
                default -> {
                    if (into == null) throw new IllegalArgumentException("unknown option " + args[i]);
                    into.add(args[i]);
                }
            }
        }
        if (dir == null || monitor.isEmpty() || qemu.isEmpty()) {
            System.err.println("usage: AgentStartBench --runs N --dir DIR --pool N [--warm-only] --monitor CMD... --qemu CMD...");
            System.exit(2);
        }
        System.out.print(run(runs, pool, warmOnly, dir, monitor, qemu));
        System.exit(0);
    }

    /**
     * The cgroup under which the agents make their VMs' and standbys' groups: the system property
     * {@code aether.bench.cgroupParent}, so that two benches run at once (two builds, two people)
     * do not take each other's group names; the agent's default without it.
     */
    static final String CGROUP_PARENT_PROPERTY = "aether.bench.cgroupParent";

    /** An agent of this JVM with room for every VM the benchmark starts. */
    private static NodeAgent agent(Path data, List<String> monitor, int pool) throws Exception {
        NodeAgent.Options options = NodeAgent.Options.defaults(data).withMonitorCommand(monitor).withCapacity(64, 64L << 30, 1.0).withWarmPool(pool);
        String parent = System.getProperty(CGROUP_PARENT_PROPERTY);
        return NodeAgent.start(parent == null ? options : options.withCgroupParent(parent));
    }

    /** With {@code warmOnly}, only the warm pool's rounds: no cold monitor, no QEMU, no bursts (quicker while iterating). */
    static String run(int runs, int poolSize, boolean warmOnly, Path dir, List<String> monitor, List<String> qemu) throws Throwable {
        List<double[]> warm = new ArrayList<>();   // {create answered, first byte}
        List<double[]> cold = new ArrayList<>();
        List<double[]> warmRestore = new ArrayList<>(); // {create answered (running), first output}
        List<double[]> coldRestore = new ArrayList<>();
        List<Double> qemuFirst = new ArrayList<>();
        List<Double> floor = new ArrayList<>(); // a GET of one VM's record: the API's own way in and out
        try (NodeAgent warmAgent = agent(dir.resolve("warm"), monitor, poolSize); NodeAgent coldAgent = agent(dir.resolve("cold"), monitor, 0)) {
            AgentClient warmNode = new AgentClient(ApiClient.unix(warmAgent.socket(), Duration.ofSeconds(90)));
            AgentClient coldNode = new AgentClient(ApiClient.unix(coldAgent.socket(), Duration.ofSeconds(90)));
            // One id per agent: both agents' VM groups live under the same cgroup parent.
            snapshotSource(warmNode, dir.resolve("warm"), "ws");
            if (!warmOnly) snapshotSource(coldNode, dir.resolve("cold"), "cs");
            for (int r = -3; r < runs; r++) { // three unmeasured rounds: the page cache, and the agents' own request paths
                awaitPool(warmNode, poolSize);
                double[] w = start(warmNode, dir.resolve("warm"), "w" + (r + 3), null);
                double[] c = warmOnly ? NOT_RUN : start(coldNode, dir.resolve("cold"), "c" + (r + 3), null);
                awaitPool(warmNode, poolSize);
                double[] wr = start(warmNode, dir.resolve("warm"), "rw" + (r + 3), "ws");
                double[] cr = warmOnly ? NOT_RUN : start(coldNode, dir.resolve("cold"), "rc" + (r + 3), "cs");
                double q = warmOnly ? Double.NaN : Spawn.run(qemu, "", TIMEOUT).firstOutput() / 1e6;
                long g0 = System.nanoTime();
                warmNode.get("ws");
                double g = (System.nanoTime() - g0) / 1e6;
                System.err.printf(Locale.ROOT, "run %d: warm answered %.1f ms, first byte %.1f ms; cold answered %.1f ms, first byte %.1f ms; "
                        + "restore warm running %.1f ms, output %.1f ms; restore cold running %.1f ms, output %.1f ms; qemu %.1f ms%n",
                        r + 1, w[0], w[1], c[0], c[1], wr[0], wr[1], cr[0], cr[1], q);
                if (r < 0) continue;
                warm.add(w);
                cold.add(c);
                warmRestore.add(wr);
                coldRestore.add(cr);
                qemuFirst.add(q);
                floor.add(g);
            }
            warmNode.delete("ws", true);
            if (!warmOnly) coldNode.delete("cs", true);
            awaitPool(warmNode, poolSize);
            long poolMemory = warmNode.node().pool().memoryBytes();
            double q = VmStartBench.median(qemuFirst);
            StringBuilder table = new StringBuilder();
            table.append("| route | runs | median (ms) | min | max | / QEMU |\n|---|---:|---:|---:|---:|---:|\n");
            VmStartBench.row(table, "agent, warm pool of " + poolSize + ": request → first console byte", warm.stream().map(w -> w[1]).toList(), q);
            VmStartBench.row(table, "  of which: the create answered (VM running)", warm.stream().map(w -> w[0]).toList(), q);
            if (!warmOnly) {
                VmStartBench.row(table, "agent, no pool (cold monitor): request → first console byte", cold.stream().map(c -> c[1]).toList(), q);
                VmStartBench.row(table, "  of which: the create answered", cold.stream().map(c -> c[0]).toList(), q);
            }
            VmStartBench.row(table, "API restore (256 MiB stub), warm pool: request → running (create answered)", warmRestore.stream().map(w -> w[0]).toList(), q);
            VmStartBench.row(table, "  request → first output after the restore", warmRestore.stream().map(w -> w[1]).toList(), q);
            VmStartBench.row(table, "the API's floor: GET /v1/vms/ID of an existing VM, request → answer", floor, q);
            if (!warmOnly) {
                VmStartBench.row(table, "API restore (256 MiB stub), no pool (cold monitor): request → running", coldRestore.stream().map(c -> c[0]).toList(), q);
                VmStartBench.row(table, "  request → first output after the restore", coldRestore.stream().map(c -> c[1]).toList(), q);
                VmStartBench.row(table, "QEMU microvm, cold: spawn → first byte", qemuFirst, q);
            }
            // Out before the bursts: a burst that fails on a loaded machine must not lose the rounds.
            System.out.print(table + String.format(Locale.ROOT, "%nready standby monitors' private memory: %.1f MiB for %d%n",
                    poolMemory / 1048576.0, poolSize));
            System.out.flush();
            return warmOnly ? "" : perSecond(warmNode, "wr", 20) + perSecond(coldNode, "cr", 10);
        }
    }

    /**
     * VM {@code id}: the counting stub of 256 MiB, run until it has counted, then snapshotted as
     * {@code s} and left paused (so that it takes no CPU from the rounds).
     */
    private static void snapshotSource(AgentClient node, Path data, String id) throws Exception {
        node.create(VmSpecJson.read(COUNTER_256M), Map.of(), RestartPolicy.NEVER, id, true);
        Path log = data.resolve("vms").resolve(id).resolve("console.log");
        long deadline = System.nanoTime() + TIMEOUT;
        while (Files.size(log) < 1000) {
            if (System.nanoTime() > deadline) throw new IllegalStateException("the counting source printed only " + Files.size(log) + " bytes");
            Thread.sleep(10);
        }
        node.snapshot(id, "s", false);
    }

    /**
     * Creates and starts VM {@code id} (the ECHO stub, or snapshot {@code s} of {@code restoreOf}
     * restored) and returns {create answered, first console byte} in ms from the request; the VM
     * is deleted afterwards. The first byte is seen in the VM's console log, polled from before
     * the request (a restored VM's log starts empty: its first byte is the first after the restore).
     */
    private static double[] start(AgentClient node, Path data, String id, String restoreOf) throws Exception {
        Path log = data.resolve("vms").resolve(id).resolve("console.log");
        ConsoleFirstByte watcher = ConsoleFirstByte.watch(log);
        long t0 = System.nanoTime();
        String state = restoreOf == null
                ? node.create(ECHO, Map.of(), RestartPolicy.NEVER, id, true).state()
                : node.restore(restoreOf, "s", false, id).state();
        long answered = System.nanoTime();
        if (!state.equals("running")) throw new IllegalStateException(id + " is " + state + ", not running");
        long firstByte = watcher.await();
        if (TRACED) {
            System.err.printf(Locale.ROOT, "trace-bench request-sent at %d%ntrace-bench answered at %d%ntrace-bench first-byte at %d%n", t0, answered, firstByte);
            copyLaunchTrace(data.resolve("vms").resolve(id).resolve("monitor.log"));
        }
        node.delete(id, true);
        return new double[] {(answered - t0) / 1e6, firstByte < 0 ? Double.NaN : (firstByte - t0) / 1e6};
    }

    /** The monitor's {@code trace-launch} lines of one VM, before its folder goes with it. */
    private static void copyLaunchTrace(Path monitorLog) throws java.io.IOException {
        if (!Files.exists(monitorLog)) return;
        try (java.util.stream.Stream<String> lines = Files.lines(monitorLog)) {
            lines.filter(l -> l.startsWith("trace-launch ") || l.startsWith("trace-boot ")).forEach(System.err::println);
        }
    }

    /** {@code count} VMs created and started back to back, each as soon as the last is running; all deleted after. */
    private static String perSecond(AgentClient node, String prefix, int count) throws Exception {
        long t0 = System.nanoTime();
        int started = 0;
        double seconds;
        try {
            for (; started < count; started++) node.create(ECHO, Map.of(), RestartPolicy.NEVER, prefix + started, true);
            seconds = (System.nanoTime() - t0) / 1e9;
        } catch (java.io.IOException e) {
            return String.format(Locale.ROOT, "VMs started back to back: stopped after %d of %d: %s%n", started, count, e.getMessage());
        } finally {
            for (int i = 0; i < started; i++) node.delete(prefix + i, true);
        }
        return String.format(Locale.ROOT, "%d VMs started back to back (%s): %.1f s, %.2f VMs/s%n", count,
                node.node().pool().size() > 0 ? "warm pool of " + node.node().pool().size() : "no pool", seconds, count / seconds);
    }

    /** Waits until the pool is full, then lets it settle as a pool between starts does. */
    private static void awaitPool(AgentClient node, int size) throws Exception {
        long deadline = System.nanoTime() + TIMEOUT;
        while (node.node().pool().ready() < size && System.nanoTime() < deadline) Thread.sleep(20);
        Thread.sleep(300);
    }
}
