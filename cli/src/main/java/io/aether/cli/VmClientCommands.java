package io.aether.cli;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.aether.agentapi.AgentClient;
import io.aether.agentapi.RestartPolicy;
import io.aether.agentapi.SnapshotInfo;
import io.aether.agentapi.StopVm;
import io.aether.agentapi.VmInfo;
import io.aether.agentapi.VolumeAttachment;
import io.aether.common.ByteSize;
import io.aether.common.FieldException;
import io.aether.http.ApiClient;
import io.aether.http.Event;
import io.aether.vmspec.VmSpec;
import io.aether.vmspec.VmSpecJson;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code aether vm create|ls|start|pause|resume|stop|rm|logs|console|snapshot|restore|top}: clients of a node agent
 * ({@code aether node}) over its Unix socket.
 */
final class VmClientCommands {

    private static final ObjectMapper JSON = new ObjectMapper().setSerializationInclusion(JsonInclude.Include.NON_NULL);

    private VmClientCommands() {
    }

    /** The options every client command has. */
    static final class NodeOptions {
        /** Where {@code aether node} puts its socket by default. */
        static final Path SYSTEM_SOCKET = Path.of("/var/lib/aether/node/node.sock");

        @Option(names = "--node", paramLabel = "SOCKET",
                description = "The node agent's API socket (default: /var/lib/aether/node/node.sock, or the node of"
                        + " 'aether up' under ~/.local/share/aether when only that one exists).")
        Path socket = defaultSocket(SYSTEM_SOCKET, UpCommand.defaultData().resolve("node").resolve("node.sock"));

        /** The system agent's socket, unless only {@code aether up}'s node exists. */
        static Path defaultSocket(Path system, Path up) {
            return !Files.exists(system) && Files.exists(up) ? up : system;
        }

        @Option(names = "--json", description = "Print the agent's answer as JSON instead of a table.")
        boolean json;

        AgentClient client() {
            // A start waits for the monitor's JVM, a stop for the guest: minutes at worst.
            return new AgentClient(ApiClient.unix(socket, Duration.ofMinutes(12)));
        }
    }

    /** Runs {@code action}; a refusal or an unreachable agent is one line on stderr and status 1. */
    static int attempt(String command, IoAction action) {
        return attemptAs("aether vm " + command, action);
    }

    /** {@link #attempt} for another command of the agent's clients, {@code commandLine} being "aether volume ls" say. */
    static int attemptAs(String commandLine, IoAction action) {
        try {
            action.run();
            return 0;
        } catch (IOException e) {
            System.err.println(commandLine + ": " + e.getMessage());
            return 1;
        } catch (IllegalArgumentException e) {
            System.err.println(commandLine + ": " + e.getMessage());
            return VmRunCommand.STATUS_BAD_ARGUMENTS;
        }
    }

    interface IoAction {
        void run() throws IOException;
    }

    static void print(NodeOptions node, List<VmInfo> vms) throws IOException {
        PrintStream out = System.out;
        if (node.json) {
            out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(vms.size() == 1 ? vms.getFirst() : Map.of("vms", vms)));
            return;
        }
        List<List<String>> rows = new ArrayList<>();
        rows.add(List.of("ID", "STATE", "PID", "VCPUS", "MEMORY", "RESTARTS", "LABELS", "REASON"));
        for (VmInfo vm : vms) {
            VmSpec spec = AgentClient.spec(vm);
            rows.add(List.of(vm.id(), vm.state(), vm.pid() == null ? "-" : vm.pid().toString(), Integer.toString(spec.vcpus()),
                    spec.memory().toString(), Integer.toString(vm.restarts()),
                    vm.labels().isEmpty() ? "-" : new java.util.TreeMap<>(vm.labels()).entrySet().stream()
                            .map(e -> e.getKey() + "=" + e.getValue()).collect(Collectors.joining(",")),
                    vm.reason() == null ? "" : vm.reason()));
        }
        out.print(table(rows));
        out.flush();
    }

    /** The rows as columns padded to their widest cell, the last column unpadded. */
    static String table(List<List<String>> rows) {
        int columns = rows.getFirst().size();
        int[] width = new int[columns];
        for (List<String> row : rows) {
            for (int c = 0; c < columns; c++) width[c] = Math.max(width[c], row.get(c).length());
        }
        StringBuilder b = new StringBuilder();
        for (List<String> row : rows) {
            StringBuilder line = new StringBuilder();
            for (int c = 0; c < columns; c++) {
                line.append(c == columns - 1 ? row.get(c) : String.format("%-" + width[c] + "s  ", row.get(c)));
            }
            b.append(line.toString().stripTrailing()).append('\n');
        }
        return b.toString();
    }

    @Command(name = "create", mixinStandardHelpOptions = true, sortOptions = false,
            description = {"Create a VM on the node and start it (unless --no-start).", "",
                "Examples:",
                "  aether vm create --id counter --stub count",
                "  aether vm create --spec vm.json --label team=edge --restart on-failure",
                "  aether vm create --spec vm.json --volume data --volume models:ro"})
    static final class Create implements Callable<Integer> {
        @Mixin
        NodeOptions node;

        @Option(names = "--spec", paramLabel = "FILE", description = "The VM in its JSON form ('aether vm monitor --help' shows one).")
        Path spec;

        @Option(names = "--stub", paramLabel = "PROGRAM", description = "The built-in stub guest instead: hello, echo, count, crash, keyboard (x86_64) or hypercall (aarch64).")
        String stub;

        @Option(names = "--memory", paramLabel = "SIZE", description = "With --stub: guest RAM (default 16M).")
        String memory;

        @Option(names = "--id", paramLabel = "ID", description = "The VM's name (default: the agent makes one up).")
        String id;

        @Option(names = "--label", paramLabel = "KEY=VALUE", description = "A label; repeatable.")
        List<String> labels = new ArrayList<>();

        @Option(names = "--restart", paramLabel = "POLICY", defaultValue = "never",
                description = "What the agent does when the VM ends unasked: never, on-failure or always (default: ${DEFAULT-VALUE}).")
        String restart;

        @Option(names = "--no-start", description = "Create it stopped.")
        boolean noStart;

        @Option(names = "--volume", paramLabel = "NAME[:ro]",
                description = "A node volume ('aether volume create') as a further disk, read-only with :ro; repeatable.")
        List<String> volumes = new ArrayList<>();

        @Override
        public Integer call() {
            return attempt("create", () -> {
                VmSpec vm = spec();
                Map<String, String> labelMap = new LinkedHashMap<>();
                for (String l : labels) {
                    int eq = l.indexOf('=');
                    if (eq < 1) throw new IllegalArgumentException("--label: '" + l + "' is not KEY=VALUE");
                    labelMap.put(l.substring(0, eq), l.substring(eq + 1));
                }
                RestartPolicy policy;
                try {
                    policy = RestartPolicy.parse(restart);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("--restart: " + e.getMessage().replaceFirst("^restartPolicy: ", ""));
                }
                List<VolumeAttachment> attach = new ArrayList<>();
                for (String v : volumes) {
                    boolean ro = v.endsWith(":ro");
                    try {
                        attach.add(new VolumeAttachment(ro ? v.substring(0, v.length() - 3) : v, ro));
                    } catch (IllegalArgumentException e) {
                        throw new IllegalArgumentException("--volume: " + e.getMessage().replaceFirst("^name: ", ""));
                    }
                }
                print(node, List.of(node.client().create(vm, labelMap, policy, id, !noStart, attach)));
            });
        }

        private VmSpec spec() throws IOException {
            if ((spec == null) == (stub == null)) throw new IllegalArgumentException("give either --spec FILE or --stub PROGRAM");
            if (memory != null && stub == null) throw new IllegalArgumentException("--memory: only with --stub (the spec file says it)");
            try {
                if (stub != null) {
                    VmSpec s = VmSpec.stub(VmSpec.StubProgram.parse(stub));
                    return memory == null ? s : s.withMemory(ByteSize.parse(memory));
                }
                if (Files.size(spec) > VmSpecJson.MAX_CHARS) throw new IllegalArgumentException("--spec: " + spec + " is larger than a spec may be");
                return VmSpecJson.read(Files.readString(spec, StandardCharsets.UTF_8));
            } catch (FieldException e) {
                throw new IllegalArgumentException((stub != null ? "--stub/--memory: " : "--spec: " + spec + ": ") + e.getMessage());
            }
        }
    }

    @Command(name = "ls", mixinStandardHelpOptions = true, description = "List the node's VMs.")
    static final class Ls implements Callable<Integer> {
        @Mixin
        NodeOptions node;

        @Override
        public Integer call() {
            return attempt("ls", () -> {
                List<VmInfo> vms = node.client().list().vms();
                if (node.json) System.out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(Map.of("vms", vms)));
                else print(node, vms);
            });
        }
    }

    /** A command about one VM of a node. */
    abstract static class OnVm implements Callable<Integer> {
        @Mixin
        NodeOptions node;
        @Parameters(paramLabel = "ID")
        String id;
    }

    /** A command that does one thing to one VM and prints the VM as it is then. */
    abstract static class OneVm extends OnVm {
        abstract VmInfo act(AgentClient client) throws IOException;

        @Override
        public Integer call() {
            String name = getClass().getAnnotation(Command.class).name();
            return attempt(name, () -> print(node, List.of(act(node.client()))));
        }
    }

    @Command(name = "start", mixinStandardHelpOptions = true, description = "Start a created, stopped or failed VM.")
    static final class Start extends OneVm {
        @Override
        VmInfo act(AgentClient client) throws IOException {
            return client.start(id);
        }
    }

    @Command(name = "pause", mixinStandardHelpOptions = true, description = "Pause a running VM.")
    static final class Pause extends OneVm {
        @Override
        VmInfo act(AgentClient client) throws IOException {
            return client.pause(id);
        }
    }

    @Command(name = "resume", mixinStandardHelpOptions = true, description = "Resume a paused VM.")
    static final class Resume extends OneVm {
        @Override
        VmInfo act(AgentClient client) throws IOException {
            return client.resume(id);
        }
    }

    @Command(name = "stop", mixinStandardHelpOptions = true,
            description = "Stop a VM: the guest is asked to shut down, then stopped by force after --timeout (at once with --force).")
    static final class Stop extends OneVm {
        @Option(names = "--force", description = "Do not ask the guest; stop it at once.")
        boolean force;
        @Option(names = "--timeout", paramLabel = "MILLIS", defaultValue = "10000",
                description = "How long the guest has to shut down (default: ${DEFAULT-VALUE}).")
        long timeoutMillis;

        @Override
        VmInfo act(AgentClient client) throws IOException {
            return client.stop(id, force ? StopVm.forced() : new StopVm(true, timeoutMillis));
        }
    }

    /**
     * Runs {@code action}, a request the agent answers only once it is done, telling on stderr what
     * it waits for; on a terminal the seconds waited are counted, so a long snapshot does not look hung.
     */
    private static <T> T waiting(String what, IoSupplier<T> action) throws IOException {
        System.err.println(what + "...");
        java.io.Console console = System.console();
        Thread ticker = console != null && console.isTerminal() ? Thread.ofVirtual().start(() -> {
            long start = System.nanoTime();
            try {
                while (true) {
                    Thread.sleep(1000);
                    System.err.print("\r  " + (System.nanoTime() - start) / 1_000_000_000 + " s");
                    System.err.flush();
                }
            } catch (InterruptedException done) {
                System.err.print("\r");
            }
        }) : null;
        try {
            return action.get();
        } finally {
            if (ticker != null) ticker.interrupt();
        }
    }

    private interface IoSupplier<T> {
        T get() throws IOException;
    }

    @Command(name = "snapshot", mixinStandardHelpOptions = true,
            description = {"Write a snapshot of a running or paused VM into its folder on the node (snapshots/NAME):",
                "guest memory (a sparse file) and its devices' state. The VM is paused while it is written,",
                "then goes on (unless --leave-paused).", "",
                "Example: aether vm snapshot counter before-upgrade"})
    static final class Snapshot implements Callable<Integer> {
        @Mixin
        NodeOptions node;
        @Parameters(index = "0", paramLabel = "ID")
        String id;
        @Parameters(index = "1", paramLabel = "NAME", description = "The snapshot's name (letters, digits, '.', '_', '-').")
        String name;
        @Option(names = "--leave-paused", description = "Leave the VM paused afterwards.")
        boolean leavePaused;

        @Override
        public Integer call() {
            return attempt("snapshot", () -> {
                SnapshotInfo taken = waiting("aether vm snapshot: pausing " + id + " and writing its snapshot " + name,
                        () -> node.client().snapshot(id, name, !leavePaused));
                if (node.json) {
                    System.out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(taken));
                    return;
                }
                List<List<String>> rows = new ArrayList<>();
                rows.add(List.of("SNAPSHOT", "MEMORY", "WRITTEN", "STATE", "MILLIS", "TIME"));
                rows.add(List.of(taken.name(), VmTop.human(taken.memoryBytes()),
                        taken.memoryDataBytes() == null ? "-" : VmTop.human(taken.memoryDataBytes()),
                        VmTop.human(taken.stateBytes()), taken.millis() == null ? "-" : taken.millis().toString(), taken.time()));
                System.out.print(table(rows));
            });
        }
    }

    @Command(name = "restore", mixinStandardHelpOptions = true,
            description = {"Start a new VM from a snapshot of one of the node's VMs, in a new monitor process.",
                "Guest memory is mapped from the snapshot copy-on-write, not copied. A snapshot whose",
                "restored VM still runs is refused unless --allow-clone: two guests would then share",
                "their random state (keys, sequence numbers) and their identity.", "",
                "Example: aether vm restore --from counter/before-upgrade --id counter2"})
    static final class Restore implements Callable<Integer> {
        @Mixin
        NodeOptions node;
        @Option(names = "--from", paramLabel = "VM/SNAPSHOT", required = true, description = "The snapshot: its VM's id and its name.")
        String from;
        @Option(names = "--id", paramLabel = "ID", description = "The new VM's name (default: the agent makes one up).")
        String id;
        @Option(names = "--allow-clone", description = "Restore even while another VM restored from it runs.")
        boolean allowClone;

        @Override
        public Integer call() {
            return attempt("restore", () -> {
                int slash = from.indexOf('/');
                if (slash < 1 || slash == from.length() - 1) throw new IllegalArgumentException("--from: '" + from + "' is not VM/SNAPSHOT");
                VmInfo restored = waiting("aether vm restore: starting a monitor on snapshot " + from,
                        () -> node.client().restore(from.substring(0, slash), from.substring(slash + 1), allowClone, id));
                print(node, List.of(restored));
            });
        }
    }

    @Command(name = "rm", mixinStandardHelpOptions = true, description = "Delete a VM that is not running (--force stops it first).")
    static final class Rm extends OnVm {
        @Option(names = "--force", description = "Stop it first if it runs.")
        boolean force;

        @Override
        public Integer call() {
            return attempt("rm", () -> node.client().delete(id, force));
        }
    }

    @Command(name = "logs", mixinStandardHelpOptions = true,
            description = "Print the end of a VM's console log (kept after it stops or fails).")
    static final class Logs extends OnVm {
        @Option(names = "--bytes", paramLabel = "N", defaultValue = "65536", description = "How much of the end (default: ${DEFAULT-VALUE}).")
        int bytes;

        @Override
        public Integer call() {
            return attempt("logs", () -> {
                System.out.write(node.client().logs(id, bytes));
                System.out.flush();
            });
        }
    }

    @Command(name = "console", mixinStandardHelpOptions = true,
            description = {"Follow a VM's console: the recent output, then what the guest prints, until it stops.",
                "Ctrl-C detaches; the guest runs on undisturbed."})
    static final class Console extends OnVm {
        @Option(names = "--no-replay", description = "Start with what the guest prints next.")
        boolean noReplay;

        @Override
        public Integer call() {
            return attempt("console", () -> {
                try (ApiClient.EventStream console = node.client().console(id, !noReplay)) {
                    Optional<Event> e;
                    // The agent sends a comment every 15 s on a quiet stream; a minute of nothing is a lost agent.
                    while ((e = console.next(Duration.ofMinutes(1))).isPresent()) {
                        AgentClient.copyOutput(e.get(), System.out);
                        System.out.flush();
                    }
                }
            });
        }
    }
}
