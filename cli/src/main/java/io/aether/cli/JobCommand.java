package io.aether.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.aether.http.ApiClient;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code aether job run|ls|status|stop}: clients of a fabric controller's {@code /v1/jobs} over its Unix socket. */
@Command(name = "job", mixinStandardHelpOptions = true,
        description = {"Run and watch jobs on the fabric: a job spec (JSON, see examples/ and fabric-api's job-spec.schema.json) is"
                + " submitted to a controller, which places its replicas on nodes; each node's agent runs them.", "",
            "Examples:",
            "  aether job run examples/hello-stub.json",
            "  aether job ls",
            "  aether job status hello-stub",
            "  aether job stop hello-stub", ""},
        subcommands = {JobCommand.Run.class, JobCommand.Ls.class, JobCommand.Status.class, JobCommand.Stop.class})
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

    @Command(name = "run", mixinStandardHelpOptions = true, description = "Submit a job spec (a new job, or a new version of one) and show where its replicas go.")
    static final class Run implements Callable<Integer> {
        @Mixin
        ControllerOptions controller;

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
                    created = api.post("/v1/jobs", spec).json(JsonNode.class);
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

    @Command(name = "status", mixinStandardHelpOptions = true, description = "Show one job: its version, each replica's node and state, why some are pending.")
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
                printJob(job);
            });
        }
    }

    @Command(name = "stop", mixinStandardHelpOptions = true, description = "Stop a job: its replicas are stopped on their nodes and the job is forgotten.")
    static final class Stop extends OneJob {
        @Override
        public Integer call() {
            return attempt("job stop", () -> {
                controller.client().send("DELETE", "/v1/jobs/" + name, null).requireOk();
                System.out.println("Job " + name + " stopped; its nodes remove its VMs.");
            });
        }
    }

    /** A job's allocations as a table, then why some replicas are pending, if they are. */
    private static void printJob(JsonNode job) {
        PrintStream out = System.out;
        List<List<String>> rows = new ArrayList<>();
        rows.add(List.of("ALLOCATION", "NODE", "STATE"));
        job.path("allocations").forEach(a -> rows.add(List.of(a.path("job").asText() + "." + a.path("replica").asInt(), a.path("node").asText(),
                a.path("state").asText("placed"))));
        if (rows.size() > 1) out.print(VmClientCommands.table(rows));
        String pending = job.path("job").path("pending").asText("");
        if (!pending.isEmpty()) out.println("Pending: " + pending);
        out.flush();
    }
}
