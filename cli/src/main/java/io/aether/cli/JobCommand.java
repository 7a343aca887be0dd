package io.aether.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.aether.agentapi.AgentClient;
import io.aether.http.ApiClient;
import io.aether.http.Event;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code aether job run|ls|status|logs|stop}: clients of a fabric controller's {@code /v1/jobs} over its Unix socket
 * ({@code logs} then reads the console from the node agent that runs the replica).
 */
@Command(name = "job", mixinStandardHelpOptions = true,
        description = {"Run and watch jobs on the fabric: a job spec (JSON, see examples/ and fabric-api's job-spec.schema.json) is"
                + " submitted to a controller, which places its replicas on nodes; each node's agent runs them.", "",
            "Examples:",
            "  aether job run examples/hello-stub.json",
            "  aether job ls",
            "  aether job status hello-stub",
            "  aether job logs hello-stub --replica 1 --follow",
            "  aether job stop hello-stub", ""},
        subcommands = {JobCommand.Run.class, JobCommand.Ls.class, JobCommand.Status.class, JobCommand.Logs.class, JobCommand.Stop.class})
final class JobCommand {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** A job spec is at most 128 Ki characters (fabric-api's JobSpecJson): a file far larger is refused before it is read. */
    static final long MAX_SPEC_BYTES = 512 * 1024;

    /** The options every fabric client command has. */
    static final class ControllerOptions {
        @Option(names = "--controller", paramLabel = "SOCKET|HOST:PORT",
                description = "The controller's API socket (default: ${DEFAULT-VALUE}, where 'aether up' puts it), or HOST:PORT of its TLS"
                        + " listener, reached with the client identity in --identity.")
        String address = UpCommand.defaultData().resolve("controller").resolve("controller.sock").toString();

        @Option(names = "--identity", paramLabel = "DIR", description = "The client identity for --controller HOST:PORT ('aether client create';"
                + " default: AETHER_HOME/client, AETHER_HOME being ~/.config/aether unless set).")
        Path identity;

        @Option(names = "--json", description = "Print the controller's answer as JSON instead of a table.")
        boolean json;

        ApiClient client() throws IOException {
            return connect(address, identity);
        }

        /** The controller at {@code address} (its socket, or HOST:PORT reached with the client identity in {@code identity}, null for the default). */
        static ApiClient connect(String address, Path identity) throws IOException {
            if (ClientIdentity.isHostPort(address)) {
                return ClientIdentity.connect(address, identity != null ? identity : ClientIdentity.defaultDir(), Duration.ofSeconds(60));
            }
            return ApiClient.unix(Path.of(address), Duration.ofSeconds(60));
        }
    }

    /** Runs {@code action}; a refusal or an unreachable controller is one line on stderr and status 1. */
    static int attempt(String command, IoAction action) {
        try {
            action.run();
            return 0;
        } catch (NoSuchFileException e) {
            System.err.println("aether " + command + ": " + e.getFile() + ": no such file");
            return 1;
        } catch (IOException e) {
            System.err.println("aether " + command + ": " + e.getMessage());
            return 1;
        }
    }

    interface IoAction {
        void run() throws IOException;
    }

    @Command(name = "run", mixinStandardHelpOptions = true, description = {"Submit a job spec (a new job, or a new version of one) and show where its replicas go.",
        "A new version that changes the workload or resources rolls out by the spec's rollout policy: rollout.batch replicas at a time, each"
                + " running within rollout.healthTimeout, else rolled back (rollout.autoRollback) or stopped as failed; see 'aether job status'."})
    static final class Run implements Callable<Integer> {
        @Mixin
        ControllerOptions controller;

        @Option(names = "--strict", description = "Refuse a job that can never fit on the fabric's nodes (by default it is accepted and pending, with the reason).")
        boolean strict;

        @Parameters(paramLabel = "FILE", description = "The job spec, JSON.")
        Path file;

        @Override
        public Integer call() {
            return attempt("job run", () -> {
                if (Files.size(file) > MAX_SPEC_BYTES) throw new IOException(file + ": over " + MAX_SPEC_BYTES + " bytes, not a job spec");
                JsonNode spec;
                try {
                    spec = JSON.readTree(file.toFile());
                } catch (IOException e) {
                    throw new IOException(file + ": not JSON (" + e.getMessage().lines().findFirst().orElse("") + ")");
                }
                if (spec == null || !spec.isObject()) throw new IOException(file + ": not a JSON object");
                ApiClient api = controller.client();
                JsonNode created;
                try {
                    created = api.post("/v1/jobs" + (strict ? "?strict=true" : ""), spec).json(JsonNode.class);
                } catch (IOException e) {
                    throw new IOException(file + ": " + e.getMessage());
                }
                String name = created.path("job").asText();
                JsonNode job = api.get("/v1/jobs/" + name).json(JsonNode.class);
                if (controller.json) {
                    System.out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(job));
                    return;
                }
                System.out.println("Job " + name + " version " + created.path("version").asLong() + " submitted.");
                printJob(job);
            });
        }
    }

    @Command(name = "ls", mixinStandardHelpOptions = true, description = "List the jobs: version, replicas placed and running, why some are pending.")
    static final class Ls implements Callable<Integer> {
        @Mixin
        ControllerOptions controller;

        @Override
        public Integer call() {
            return attempt("job ls", () -> {
                ApiClient api = controller.client();
                JsonNode jobs = api.get("/v1/jobs").json(JsonNode.class);
                JsonNode allocations = api.get("/v1/allocations").json(JsonNode.class);
                if (controller.json) {
                    System.out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(jobs));
                    return;
                }
                Map<String, int[]> counts = new TreeMap<>();
                allocations.path("allocations").forEach(a -> {
                    int[] c = counts.computeIfAbsent(a.path("job").asText(), k -> new int[2]);
                    c[0]++;
                    if (a.path("state").asText().equals("running")) c[1]++;
                });
                List<List<String>> rows = new ArrayList<>();
                rows.add(List.of("NAME", "VERSION", "REPLICAS", "PLACED", "RUNNING", "PENDING"));
                jobs.path("jobs").forEach(j -> {
                    String name = j.path("spec").path("name").asText();
                    int[] c = counts.getOrDefault(name, new int[2]);
                    rows.add(List.of(name, j.path("version").asText(), j.path("spec").path("replicas").asText(), Integer.toString(c[0]),
                            Integer.toString(c[1]), j.path("pending").asText("")));
                });
                System.out.print(VmClientCommands.table(rows));
            });
        }
    }

    /** What the commands about one job have: the controller and the job's name. */
    abstract static class OneJob implements Callable<Integer> {
        @Mixin
        ControllerOptions controller;

        @Parameters(paramLabel = "NAME", description = "The job's name.")
        String name;
    }

    @Command(name = "status", mixinStandardHelpOptions = true,
            description = "Show one job: its version, its last rollout (versions, progress, outcome), each replica's node, state and version (a model's serving URL and commit), why some are pending.")
    static final class Status extends OneJob {
        @Override
        public Integer call() {
            return attempt("job status", () -> {
                JsonNode job = controller.client().get("/v1/jobs/" + name).json(JsonNode.class);
                if (controller.json) {
                    System.out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(job));
                    return;
                }
                System.out.println("Job " + name + " version " + job.path("job").path("version").asLong() + ", "
                        + job.path("job").path("spec").path("replicas").asInt() + " replica(s).");
                JsonNode rollout = job.path("job").path("rollout");
                if (rollout.isObject()) {
                    System.out.println("Rollout: version " + rollout.path("from").asLong() + " to " + rollout.path("to").asLong() + ", "
                            + rollout.path("status").asText() + rollout.path("reason").asText("").transform(r -> r.isEmpty() ? "" : ": " + r)
                            + " (" + rollout.path("updated").asLong() + " of " + job.path("job").path("spec").path("replicas").asInt() + " replicas on version "
                            + rollout.path("to").asLong() + ")");
                }
                printJob(job);
            });
        }
    }

    @Command(name = "logs", mixinStandardHelpOptions = true,
            description = {"Print a replica's console output, read from the node agent that runs it (the controller says which replica is where).",
                "The node of 'aether up' is reached by default; for a replica on another node, give that node's socket with --node."})
    static final class Logs extends OneJob {
        @Option(names = "--replica", paramLabel = "N", defaultValue = "0", description = "Which replica (default: ${DEFAULT-VALUE}).")
        int replica;

        @Option(names = "--follow", description = "Go on printing what the guest prints until it stops (Ctrl-C detaches).")
        boolean follow;

        @Option(names = "--bytes", paramLabel = "N", defaultValue = "65536", description = "How much of the end of the log, without --follow (default: ${DEFAULT-VALUE}).")
        int bytes;

        @Option(names = "--node", paramLabel = "SOCKET", description = "The socket of the node agent that runs the replica (default: ${DEFAULT-VALUE}, the node of 'aether up').")
        Path node = UpCommand.defaultData().resolve("node").resolve("node.sock");

        @Override
        public Integer call() {
            return attempt("job logs", () -> {
                JsonNode job = controller.client().get("/v1/jobs/" + name).json(JsonNode.class);
                String id = name + "." + replica;
                JsonNode placed = job.path("allocations").valueStream().filter(a -> a.path("replica").asInt() == replica).findFirst()
                        .orElseThrow(() -> new IOException("replica " + id + " runs on no node" + job.path("job").path("pending").asText("")
                                .transform(p -> p.isEmpty() ? "" : " (" + p + ")")));
                AgentClient agent = new AgentClient(ApiClient.unix(node, Duration.ofMinutes(1)));
                try {
                    if (!follow) {
                        System.out.write(agent.logs(id, bytes));
                        System.out.flush();
                        return;
                    }
                    try (ApiClient.EventStream console = agent.console(id, true)) {
                        Optional<Event> e;
                        // The agent sends a comment every 15 s on a quiet stream; a minute of nothing is a lost agent.
                        while ((e = console.next(Duration.ofMinutes(1))).isPresent()) {
                            AgentClient.copyOutput(e.get(), System.out);
                            System.out.flush();
                        }
                    }
                } catch (IOException e) {
                    throw new IOException("replica " + id + " on node " + placed.path("node").asText() + ", through " + node + ": " + e.getMessage());
                }
            });
        }
    }

    @Command(name = "stop", mixinStandardHelpOptions = true, description = {"Stop a job: its replicas are stopped on their nodes and the job is forgotten.",
        "Its volumes stay on their nodes (their room still counted) until --purge-volumes or 'aether volume rm ID --controller ...';",
        "a job submitted again under the same name gets them back."})
    static final class Stop extends OneJob {
        @Option(names = "--purge-volumes", description = "Delete the job's volumes and their data too, freeing their room on the nodes (needs the admin role).")
        boolean purgeVolumes;

        @Override
        public Integer call() {
            return attempt("job stop", () -> {
                controller.client().send("DELETE", "/v1/jobs/" + name + (purgeVolumes ? "?purgeVolumes=true" : ""), null).requireOk();
                System.out.println("Job " + name + " stopped; its nodes remove its VMs and stop its model servers"
                        + (purgeVolumes ? " and delete its volumes." : "; its volumes stay on their nodes."));
            });
        }
    }

    /**
     * A job's allocations as a table (a model's with where each replica serves and which commit),
     * then why some replicas are pending, if they are.
     */
    private static void printJob(JsonNode job) {
        PrintStream out = System.out;
        JsonNode model = job.path("job").path("spec").path("workload").path("model");
        if (!model.isMissingNode()) out.println("Model " + model.path("repository").asText() + " at " + model.path("ref").asText() + ".");
        List<List<String>> rows = new ArrayList<>();
        rows.add(model.isMissingNode() ? List.of("ALLOCATION", "NODE", "STATE", "VERSION") : List.of("ALLOCATION", "NODE", "STATE", "VERSION", "URL", "COMMIT"));
        job.path("allocations").forEach(a -> {
            List<String> row = new ArrayList<>(List.of(a.path("job").asText() + "." + a.path("replica").asInt(), a.path("node").asText(),
                    a.path("state").asText("placed"), a.path("version").asText()));
            if (!model.isMissingNode()) {
                row.add(a.path("url").asText("-"));
                String commit = a.path("commit").asText("");
                row.add(commit.isEmpty() ? "-" : commit.substring(0, Math.min(12, commit.length())));
            }
            rows.add(row);
        });
        if (rows.size() > 1) out.print(VmClientCommands.table(rows));
        String pending = job.path("job").path("pending").asText("");
        if (!pending.isEmpty()) out.println("Pending: " + pending);
        out.flush();
    }
}
