package io.aether.cli.model;

import io.aether.ai.AdminToken;
import io.aether.ai.CanarySpec;
import io.aether.ai.DeploymentException;
import io.aether.ai.InferenceRuntime;
import io.aether.ai.InferenceServer;
import io.aether.ai.ModelSourceException;
import io.aether.ai.ModelStatus;
import io.aether.ai.RefWatcher;
import io.aether.ai.RepositoryModelSource;
import io.aether.ai.RuntimeConfig;
import io.aether.ai.ServerConfig;
import io.aether.ai.TensorSpec;
import io.aether.ai.VersionStatus;
import io.aether.cli.StopSignals;
import io.aether.common.ByteSize;
import io.aether.security.AetherHome;
import io.aether.security.TrustStore;
import io.aether.sync.RepoRef;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

/** {@code aether model run REPO@REF}: serves a model from a repository over HTTP until stopped. */
@Command(name = "run",
        mixinStandardHelpOptions = true,
        description = {
            "Serve a model from a model repository: an HTTP inference endpoint on ONNX Runtime.",
            "",
            "Loads the .onnx file of the commit REF names (checking its signature and every chunk), runs it once on"
                    + " zeros (so a broken model is refused now, not at its first request) and serves it until"
                    + " stopped (Ctrl-C or SIGTERM).",
            "",
            "Endpoints, under http://HOST:PORT:",
            "  GET  /v1/models/NAME          versions, inputs, outputs (types, shapes)",
            "  POST /v1/models/NAME:predict  JSON or binary tensors, e.g.",
            "       {\"inputs\": {\"X\": {\"shape\": [1, 3], \"data\": [1, 2, 3]}}}",
            "  GET  /metrics                 Prometheus: latency, requests, batch sizes",
            "  GET  /healthz",
            "  with --admin: POST /v1/models/NAME:switch {\"ref\": \"v2\"},",
            "       :canary {\"ref\": \"v3\", \"percent\": 10}, :promote, :rollback",
            "       each with 'Authorization: Bearer TOKEN' (TOKEN: the content of",
            "       --admin-token-file) and 'Content-Type: application/json'; requests",
            "       with an Origin header (sent by web pages) are refused",
            "",
            "A switch loads the new version first and lets requests in flight finish on the old one, so no request"
                    + " fails. Requests for the same version are batched when the model's inputs share a symbolic"
                    + " first dimension (see --batch-max, --batch-delay).",
            "",
            "Request tensors in flight are bounded across requests (--max-in-flight): a request that finds no room"
                    + " waits up to a second, then is answered 503 with Retry-After.",
            "",
            "Examples:",
            "  aether model run models/resnet@main",
            "  aether model run models/resnet@v2 --port 9000 --canary v3:10 --admin",
            "  TOKEN=$(cat ~/.config/aether/inference/admin-token)",
            "  curl -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' \\",
            "       -d '{\"ref\": \"v3\"}' http://127.0.0.1:9000/v1/models/resnet:switch",
            "  aether model run models/resnet@main --watch 5s",
            ""},
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {"0:stopped by SIGINT (Ctrl-C) or SIGTERM, after in-flight requests were answered",
            "1:the model could not be served (the message says why)", "2:bad options"})
final class ModelRunCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "REPO@REF",
            description = "Repository directory and the branch, tag or commit (id or prefix) to serve, e.g."
                    + " models/resnet@main. Without @REF: HEAD.")
    String target;

    @Option(names = "--model", paramLabel = "PATH",
            description = "The model's path in the repository (default: the commit's only .onnx file).")
    String modelPath;

    @Option(names = "--name", paramLabel = "NAME",
            description = "The model's name in URLs (default: the model file's name without .onnx).")
    String name;

    @Option(names = "--host", paramLabel = "HOST",
            description = "Address to listen on (default: ${DEFAULT-VALUE}; 0.0.0.0 for every interface).")
    String host = "127.0.0.1";

    @Option(names = "--port", paramLabel = "N", description = "Port (default: ${DEFAULT-VALUE}; 0 picks a free one).")
    int port = 8080;

    @Option(names = "--batch-max", paramLabel = "N",
            description = "Most rows merged into one run (default: ${DEFAULT-VALUE}; 1 turns batching off).")
    int batchMax = RuntimeConfig.defaults().batchMax();

    @Option(names = "--batch-delay", paramLabel = "DURATION", converter = DurationConverter.class,
            description = "How long a request waits for others to batch with (default: 0, which batches the"
                    + " requests that queue while a run is going). Examples: 0, 500us, 2ms.")
    Duration batchDelay = RuntimeConfig.defaults().batchDelay();

    @Option(names = "--workers", paramLabel = "N",
            description = "Runner threads per version (default: ${DEFAULT-VALUE}).")
    int workers = RuntimeConfig.defaults().workers();

    @Option(names = "--intra-op-threads", paramLabel = "N",
            description = "ONNX Runtime threads per run (default: 0, ONNX Runtime's choice).")
    int intraOpThreads;

    @Option(names = "--queue", paramLabel = "N",
            description = "Requests a version may hold waiting before answering 503 (default: ${DEFAULT-VALUE}).")
    int queue = RuntimeConfig.defaults().queueCapacity();

    @Option(names = "--no-warm-up",
            description = "Skip the run on zero inputs at load (for models that cannot take zeros).")
    boolean noWarmUp;

    @Option(names = "--canary", paramLabel = "REF:PERCENT",
            description = "Also load REF and send it PERCENT of requests, e.g. v3:10. Promote or roll back with"
                    + " --admin's :promote and :rollback.")
    String canary;

    @Option(names = "--watch", paramLabel = "INTERVAL", arity = "0..1", fallbackValue = "2s",
            converter = DurationConverter.class,
            description = "Poll REF every INTERVAL (default 2s) and switch to each new commit it names.")
    Duration watch;

    @Option(names = "--admin", description = "Serve the :switch, :canary, :promote and :rollback endpoints to"
            + " requests that present the admin token (see --admin-token-file).")
    boolean admin;

    @Option(names = "--admin-token-file", paramLabel = "FILE",
            description = "With --admin: the file holding the admin token; when there is none, a new random token"
                    + " is written to it, readable by you only (default: inference/admin-token in --home). A file"
                    + " that others can read is refused.")
    Path adminTokenFile;

    @Option(names = "--max-body", paramLabel = "SIZE",
            description = "Largest request body (default: 32M); larger ones are answered 413.")
    String maxBody = "32M";

    @Option(names = "--max-in-flight", paramLabel = "SIZE",
            description = "Most bytes of request tensors held at once, across all requests (default: a quarter of"
                    + " the JVM's heap, at least 64M). A request that finds no room waits up to a second, then is"
                    + " answered 503 with Retry-After: 1 (413 if it alone needs more).")
    String maxInFlight;

    @Option(names = "--home", paramLabel = "DIR",
            description = "Where your trusted author keys live (default: $AETHER_HOME, else ~/.config/aether);"
                    + " commits by other authors are refused.")
    Path home;

    /** Parses durations as {@code 2ms}, {@code 500us}, {@code 1.5s} or ISO-8601. */
    static final class DurationConverter implements ITypeConverter<Duration> {
        @Override
        public Duration convert(String value) {
            try {
                return RuntimeConfig.parseDuration(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }

    @Override
    public Integer call() throws InterruptedException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        RepoRef repoRef;
        RuntimeConfig config;
        ServerConfig serverConfig;
        CanarySpec canarySpec;
        try {
            repoRef = RepoRef.parse(target);
            config = new RuntimeConfig(batchMax, batchDelay, workers, intraOpThreads, queue, !noWarmUp);
            serverConfig = new ServerConfig(new InetSocketAddress(host, port), ByteSize.parse(maxBody).bytes(),
                    maxInFlight == null ? ServerConfig.defaultInFlightBytes() : ByteSize.parse(maxInFlight).bytes(), null);
            canarySpec = canary == null ? null : CanarySpec.parse(canary);
            if (name != null && !InferenceRuntime.isValidName(name)) {
                throw new IllegalArgumentException("--name '" + name
                        + "': use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit");
            }
            if (adminTokenFile != null && !admin) {
                throw new IllegalArgumentException("--admin-token-file is for --admin, which is not given");
            }
            if (watch != null && (watch.isZero() || watch.isNegative())) {
                throw new IllegalArgumentException("--watch needs a positive interval, got " + watch);
            }
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }

        AetherHome aetherHome = home != null ? new AetherHome(home) : AetherHome.resolve();
        Path tokenFile = null;
        if (admin) {
            tokenFile = adminTokenFile != null ? adminTokenFile : aetherHome.dir().resolve("inference").resolve("admin-token");
            try {
                serverConfig = serverConfig.withAdminToken(AdminToken.loadOrCreate(tokenFile));
            } catch (IOException e) {
                err.println("aether model run: admin token: " + ModelSubcommand.describe(e));
                return 1;
            }
        }

        RepositoryModelSource source;
        String modelName;
        try {
            TrustStore trust = TrustStore.at(aetherHome.trustDir());
            source = RepositoryModelSource.open(repoRef.repository(), trust, modelPath);
            modelName = name != null ? name
                    : RepositoryModelSource.modelNameFor(source.modelPath(source.resolve(repoRef.ref())));
        } catch (ModelSourceException | IOException | RuntimeException e) {
            err.println("aether model run: " + repoRef + ": " + e.getMessage());
            return 1;
        }

        InferenceRuntime runtime = InferenceRuntime.start(config);
        InferenceServer server;
        StopSignals signals;
        try {
            runtime.deploy(modelName, source, repoRef.ref());
            if (canarySpec != null) {
                runtime.startCanary(modelName, canarySpec.ref(), canarySpec.percent());
            }
            ModelStatus status = runtime.status(modelName).orElseThrow();
            VersionStatus stable = status.stable();
            VersionStatus canaryStatus = status.canary().orElse(null);
            server = InferenceServer.start(runtime, serverConfig);
            signals = StopSignals.install(); // before the line that tells a supervisor the server is up
            out.println("serving model '" + modelName + "' from " + source.describe() + " on " + server.uri());
            out.println("  version " + stable.version() + " (" + repoRef.ref() + "), " + stable.percent() + "%");
            if (canaryStatus != null) {
                out.println("  canary  " + canaryStatus.version() + " (" + canarySpec.ref() + "), "
                        + canaryStatus.percent() + "%");
            }
            for (TensorSpec in : stable.signature().inputs()) {
                out.println("  input   " + in);
            }
            for (TensorSpec o : stable.signature().outputs()) {
                out.println("  output  " + o);
            }
            String delay = config.batchDelay().isZero() ? "no added delay"
                    : config.batchDelay().toNanos() / 1e6 + " ms delay";
            out.println("  batching " + (stable.batching() ? "up to " + config.batchMax() + " rows, " + delay : "off")
                    + "; admin endpoints "
                    + (admin ? "on" : "off") + "; predict with POST " + server.uri() + "/v1/models/" + modelName
                    + ":predict");
            if (tokenFile != null) {
                out.println("  admin token in " + tokenFile + " (send it as 'Authorization: Bearer TOKEN')");
            }
            out.flush();
        } catch (DeploymentException | IOException e) {
            runtime.close();
            err.println("aether model run: " + switch (e) {
                case DeploymentException d -> d.getMessage();
                case BindException b -> "cannot listen on " + host + ":" + port + ": " + b.getMessage();
                default -> "cannot start the HTTP server: " + e.getMessage();
            });
            return 1;
        }

        RefWatcher watcher = null;
        if (watch != null) {
            watcher = new RefWatcher(runtime, source, modelName, repoRef.ref(), line -> {
                out.println(line);
                out.flush();
            }).start(watch);
            out.println("  watching " + repoRef.ref() + " every " + watch.toMillis() + " ms");
            out.flush();
        }

        String signal = signals.await();
        err.println("aether model run: stopping on SIG" + signal + " (in-flight requests are answered first)");
        err.flush();
        if (watcher != null) {
            watcher.close();
        }
        server.close();
        runtime.close();
        return 0;
    }
}
