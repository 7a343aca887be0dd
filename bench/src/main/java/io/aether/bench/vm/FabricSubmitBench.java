package io.aether.bench.vm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.aether.agent.FabricLink;
import io.aether.agent.NodeAgent;
import io.aether.agentapi.AgentClient;
import io.aether.agentapi.RestartPolicy;
import io.aether.fabric.Controller;
import io.aether.fabric.ControllerConfig;
import io.aether.http.ApiClient;
import io.aether.http.Listener;
import io.aether.vmspec.VmSpec;
import io.aether.vmspec.VmSpecJson;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Issue 9's submit benchmark: a stub VM job submitted through the controller's API ({@code POST
 * /v1/jobs}) → its allocation reported running → the guest's first console byte, on fabrics wired
 * as {@code aether up} wires its own (a one-peer controller on a Unix socket, a node agent, the
 * node joined with a join token and pulling its desired state through a {@link FabricLink}), all
 * in this JVM, the VMs in their own monitor processes. One fabric per pull interval, so that what
 * the interval costs shows; beside them the same stub created straight on the first fabric's
 * agent ({@code POST /v1/vms}, no fabric) and QEMU microvm started cold, round by round. The job
 * is stopped ({@code DELETE /v1/jobs/NAME}) and its VM gone before the next round.
 *
 * <p>Usage: {@code FabricSubmitBench --runs N --dir DIR --every MS[,MS...] --monitor CMD... --qemu CMD...}
 */
public final class FabricSubmitBench {

    private static final VmSpec ECHO = VmSpec.stub(VmSpec.StubProgram.ECHO);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long TIMEOUT = TimeUnit.SECONDS.toNanos(60);

    private FabricSubmitBench() {
    }

    public static void main(String[] args) throws Throwable {
        int runs = 10;
        Path dir = null;
        List<Long> every = new ArrayList<>();
        List<String> monitor = new ArrayList<>();
        List<String> qemu = new ArrayList<>();
        List<String> into = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--runs" -> runs = Integer.parseInt(args[++i]);
                case "--dir" -> dir = Path.of(args[++i]);
                case "--every" -> {
                    for (String ms : args[++i].split(",")) every.add(Long.parseLong(ms));
                }
                case "--monitor" -> into = monitor;
                case "--qemu" -> into = qemu;
                default -> {
                    if (into == null) throw new IllegalArgumentException("unknown option " + args[i]);
                    into.add(args[i]);
                }
            }
        }
        if (dir == null || every.isEmpty() || monitor.isEmpty() || qemu.isEmpty()) {
            System.err.println("usage: FabricSubmitBench --runs N --dir DIR --every MS[,MS...] --monitor CMD... --qemu CMD...");
            System.exit(2);
        }
        System.out.print(run(runs, dir, every, monitor, qemu));
        System.exit(0);
    }

    /** A controller, a node agent and the link between them, as {@code aether up} starts them. */
    private record Fabric(Controller controller, NodeAgent agent, FabricLink link, ApiClient api, AgentClient node, Path data, String name)
            implements AutoCloseable {

        static Fabric start(Path data, String name, List<String> monitor, Duration every) throws IOException {
            ControllerConfig config = ControllerConfig.single(data.resolve("controller"), freePort());
            Files.createDirectories(config.dataDir());
            Path socket = config.dataDir().resolve("controller.sock");
            Controller controller = Controller.start(config, List.of(new Listener.UnixSocket(socket)));
            NodeAgent agent = null;
            try {
                NodeAgent.Options options = NodeAgent.Options.defaults(data.resolve("node")).withMonitorCommand(monitor).withCapacity(64, 64L << 30, 1.0);
                agent = NodeAgent.start(options);
                ApiClient api = ApiClient.unix(socket, Duration.ofSeconds(60));
                String token = api.post("/v1/tokens", JSON.createObjectNode().put("ttlSeconds", 600)).json(JsonNode.class).path("token").asText();
                FabricLink link = FabricLink.start(api, agent.socket(), data.resolve("link"),
                        new FabricLink.Options(name, new TreeMap<>(Map.of("aether.up", "true")), options.cpus(), options.memoryBytes(), every), Optional.of(token));
                return new Fabric(controller, agent, link, api, new AgentClient(ApiClient.unix(agent.socket(), Duration.ofSeconds(90))), data, name);
            } catch (IOException | RuntimeException e) {
                if (agent != null) agent.close();
                controller.close();
                throw e;
            }
        }

        @Override
        public void close() throws IOException {
            link.close();
            agent.close();
            controller.close();
        }
    }

    static String run(int runs, Path dir, List<Long> every, List<String> monitor, List<String> qemu) throws Throwable {
        List<Fabric> fabrics = new ArrayList<>();
        try {
            for (long ms : every) fabrics.add(Fabric.start(dir.resolve("pull-" + ms), "node-" + ms, monitor, Duration.ofMillis(ms)));
            List<List<double[]>> submitted = new ArrayList<>(); // per fabric: {answered, running, first byte}
            fabrics.forEach(f -> submitted.add(new ArrayList<>()));
            List<double[]> direct = new ArrayList<>();
            List<Double> qemuFirst = new ArrayList<>();
            for (int r = -2; r < runs; r++) { // two unmeasured rounds: the page cache, the controller's and the agent's request paths
                StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "run %d:", r + 1));
                for (int f = 0; f < fabrics.size(); f++) {
                    double[] s = submit(fabrics.get(f), "stub-" + every.get(f) + "-" + (r + 2));
                    line.append(String.format(Locale.ROOT, " pull %d ms: answered %.1f, running %.1f, first byte %.1f ms;", every.get(f), s[0], s[1], s[2]));
                    if (r >= 0) submitted.get(f).add(s);
                }
                double[] d = direct(fabrics.get(0), "direct-" + (r + 2));
                double q = Spawn.run(qemu, "", TIMEOUT).firstOutput() / 1e6;
                System.err.println(line + String.format(Locale.ROOT, " agent: running %.1f, first byte %.1f ms; qemu %.1f ms", d[0], d[1], q));
                if (r < 0) continue;
                direct.add(d);
                qemuFirst.add(q);
            }
            double q = VmStartBench.median(qemuFirst);
            StringBuilder table = new StringBuilder("| route | runs | median (ms) | min | max | / QEMU |\n|---|---:|---:|---:|---:|---:|\n");
            for (int f = 0; f < fabrics.size(); f++) {
                List<double[]> s = submitted.get(f);
                String pull = "node pulls every " + every.get(f) + " ms";
                VmStartBench.row(table, "fabric (" + pull + "): job submit → first console byte", s.stream().map(x -> x[2]).toList(), q);
                VmStartBench.row(table, "  job submit → allocation reported running", s.stream().map(x -> x[1]).toList(), q);
                VmStartBench.row(table, "  of which: the submit answered (placed, plan committed)", s.stream().map(x -> x[0]).toList(), q);
            }
            VmStartBench.row(table, "agent API, no fabric: create → first console byte", direct.stream().map(x -> x[1]).toList(), q);
            VmStartBench.row(table, "  of which: the create answered (VM running)", direct.stream().map(x -> x[0]).toList(), q);
            VmStartBench.row(table, "QEMU microvm, cold: spawn → first byte", qemuFirst, q);
            return table.toString();
        } finally {
            for (Fabric fabric : fabrics) fabric.close();
        }
    }

    /**
     * Submits a one-replica job of the ECHO stub named {@code job} and returns {submit answered,
     * allocation reported running, first console byte} in ms from the request; then stops the job
     * and waits until the node has removed its VM.
     */
    private static double[] submit(Fabric fabric, String job) throws Exception {
        String vm = job + ".0";
        ConsoleFirstByte watcher = ConsoleFirstByte.watch(fabric.data().resolve("node").resolve("vms").resolve(vm).resolve("console.log"));
        ObjectNode spec = JSON.createObjectNode().put("name", job).put("replicas", 1).put("restart", "never");
        spec.putObject("workload").set("vm", JSON.readTree(VmSpecJson.write(ECHO)));
        spec.putObject("resources").put("vcpus", ECHO.vcpus()).put("memory", ECHO.memory().toString());
        long t0 = System.nanoTime();
        fabric.api().post("/v1/jobs", spec).requireOk();
        long answered = System.nanoTime();
        long running = -1;
        long deadline = t0 + TIMEOUT;
        while (running < 0) {
            if (System.nanoTime() > deadline) throw new IllegalStateException(job + " was not reported running within 60 s");
            for (JsonNode a : fabric.api().get("/v1/jobs/" + job).json(JsonNode.class).path("allocations")) {
                if (a.path("state").asText().equals("running")) running = System.nanoTime();
            }
            if (running < 0) LockSupport.parkNanos(1_000_000);
        }
        long firstByte = watcher.await();
        fabric.api().send("DELETE", "/v1/jobs/" + job, null).requireOk();
        while (fabric.node().list().vms().stream().anyMatch(v -> v.id().equals(vm))) {
            if (System.nanoTime() > deadline + TIMEOUT) throw new IllegalStateException(vm + " was not removed within 60 s of the stop");
            Thread.sleep(20);
        }
        return new double[] {(answered - t0) / 1e6, (running - t0) / 1e6, firstByte < 0 ? Double.NaN : (firstByte - t0) / 1e6};
    }

    /** The same stub created and started on the agent's API, no fabric: {create answered, first console byte} in ms; then deleted. */
    private static double[] direct(Fabric fabric, String id) throws Exception {
        ConsoleFirstByte watcher = ConsoleFirstByte.watch(fabric.data().resolve("node").resolve("vms").resolve(id).resolve("console.log"));
        long t0 = System.nanoTime();
        String state = fabric.node().create(ECHO, Map.of(), RestartPolicy.NEVER, id, true).state();
        long answered = System.nanoTime();
        if (!state.equals("running")) throw new IllegalStateException(id + " is " + state + ", not running");
        long firstByte = watcher.await();
        fabric.node().delete(id, true);
        return new double[] {(answered - t0) / 1e6, firstByte < 0 ? Double.NaN : (firstByte - t0) / 1e6};
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
