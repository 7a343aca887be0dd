package io.aether.agent;

import io.aether.agentapi.DesiredVms;
import io.aether.agentapi.RestartPolicy;
import io.aether.security.AetherHome;
import io.aether.security.Identity;
import io.aether.security.KnownServers;
import io.aether.security.ServerTrust;
import io.aether.security.TrustStore;
import io.aether.sync.ObjectId;
import io.aether.sync.Progress;
import io.aether.sync.RemoteRepository;
import io.aether.sync.Repository;
import io.aether.sync.RepositoryException;
import io.aether.sync.VerificationException;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Runs the node's model allocations. Each one's repository is synced at its ref through the signed
 * sync client into {@code DIR/ID/repo} (every commit's signature checked against the node's trust
 * store, as {@code aether model fetch} does), then served by an {@code aether model run} process of
 * its own on a port the kernel picks, supervised under its job's restart policy.
 *
 * <p>A process, not a microVM: ONNX Runtime is native code that needs no guest kernel, and the
 * monitor passes no GPU or accelerator through, so a VM would only add a boot and a copy of the
 * model. The servers are the agent's children: closing the runner stops them, and a runner
 * opened on the same directory stops any a killed agent left behind (named by {@code server.pid})
 * before the kept desired state starts them again: a restart is clean, not an adoption.
 */
final class ModelRunner implements Reconciler.Models, AutoCloseable {

    private static final Logger LOG = Logger.getLogger(ModelRunner.class.getName());
    /** Model servers one node runs at most: each is a JVM of its own, and their reports must fit one replicated command. */
    static final int MAX_MODELS = 64;
    static final String PID_FILE = "server.pid";
    static final String LOG_FILE = "server.log";
    /** A server log over this is moved to {@code server.log.1} before the next start. */
    private static final long MAX_LOG_BYTES = 1 << 20;
    private static final Duration FIRST_RETRY = Duration.ofSeconds(1);
    private static final Duration LAST_RETRY = Duration.ofSeconds(30);
    private static final Duration STOP_GRACE = Duration.ofSeconds(10);
    private static final Pattern SERVING = Pattern.compile("serving model '([^']+)' from .* on (http://\\S+)");

    /**
     * How the node serves models.
     *
     * @param dir where each allocation's repository, log and pid file go
     * @param command what runs {@code aether} (its arguments follow); the class path goes in {@code CLASSPATH}
     * @param trustHome the {@code aether} home whose {@code trust/} holds the commit authors this node accepts
     * @param client the node's identity, which signs its sync requests (a server grants it read access)
     * @param host the address the servers listen on
     * @param maxDownloadBytes what one sync may download at most
     * @param startTimeout how long a server may take to load its model and say where it serves
     */
    record Config(Path dir, List<String> command, Path trustHome, Identity client, String host, long maxDownloadBytes, Duration startTimeout) {
        Config {
            Objects.requireNonNull(dir, "dir");
            command = List.copyOf(command);
            if (command.isEmpty()) throw new IllegalArgumentException("command: empty");
            Objects.requireNonNull(trustHome, "trustHome");
            Objects.requireNonNull(client, "client");
            Objects.requireNonNull(host, "host");
            if (maxDownloadBytes <= 0) throw new IllegalArgumentException("maxDownloadBytes: must be positive");
            Objects.requireNonNull(startTimeout, "startTimeout");
        }

        /** {@code aether} run by this JVM's java with this JVM's class path. */
        static List<String> defaultCommand() {
            String java = ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            // The heap is for request tensors; the model's weights live in ONNX Runtime's native memory.
            return List.of(java, "-Xmx256m", "-XX:+UseSerialGC", "--enable-native-access=ALL-UNNAMED", Launcher.MAIN_CLASS);
        }
    }

    /** What an allocation's server is doing, as reported to the controllers. */
    record Status(String state, Optional<String> reason, Optional<String> url, Optional<String> commit) {
        static Status of(String state) {
            return new Status(state, Optional.empty(), Optional.empty(), Optional.empty());
        }

        static Status failed(String reason) {
            return new Status("failed", Optional.of(reason), Optional.empty(), Optional.empty());
        }
    }

    private final Config config;
    private final TreeMap<String, Served> served = new TreeMap<>();

    private ModelRunner(Config config) {
        this.config = config;
    }

    /** A runner on {@code config.dir()}; servers a previous agent left running there are stopped first. */
    static ModelRunner open(Config config) throws IOException {
        Files.createDirectories(config.dir());
        try (Stream<Path> dirs = Files.list(config.dir())) {
            for (Path dir : dirs.filter(Files::isDirectory).toList()) stopLeftOver(dir.resolve(PID_FILE));
        }
        return new ModelRunner(config);
    }

    /** Brings the servers to {@code wanted}: starts what is missing, stops what is no longer wanted or changed; reports each. */
    @Override
    public synchronized List<Reconciler.Report> apply(Map<String, DesiredVms.Model> wanted, Function<String, RestartPolicy> restart) throws IOException {
        for (Served s : List.copyOf(served.values())) {
            if (!s.model.equals(wanted.get(s.id)) || s.restart != restart.apply(s.id)) {
                s.stop();
                served.remove(s.id);
            }
        }
        try (Stream<Path> dirs = Files.list(config.dir())) {
            for (Path dir : dirs.filter(Files::isDirectory).toList()) {
                if (!wanted.containsKey(dir.getFileName().toString())) deleteTree(dir);
            }
        }
        List<Reconciler.Report> reports = new ArrayList<>();
        int count = 0;
        for (Map.Entry<String, DesiredVms.Model> e : new TreeMap<>(wanted).entrySet()) {
            String id = e.getKey();
            if (++count > MAX_MODELS) {
                reports.add(new Reconciler.Report(id, "failed", Optional.of("this node serves at most " + MAX_MODELS + " models")));
                continue;
            }
            Served s = served.computeIfAbsent(id, key -> new Served(key, e.getValue(), restart.apply(key)).start());
            Status status = s.status;
            reports.add(new Reconciler.Report(id, status.state(), status.reason(), status.url(), status.commit()));
        }
        return reports;
    }

    /** Stops every server. */
    @Override
    public synchronized void close() {
        served.values().forEach(Served::stop);
        served.clear();
    }

    /** One allocation's server and the thread that syncs, starts and restarts it. */
    private final class Served implements Runnable {
        final String id;
        final DesiredVms.Model model;
        final RestartPolicy restart;
        final Path dir;
        volatile Status status = Status.of("syncing");
        private volatile boolean stopping;
        private Process process;
        private Thread thread;

        Served(String id, DesiredVms.Model model, RestartPolicy restart) {
            this.id = id;
            this.model = model;
            this.restart = restart;
            this.dir = config.dir().resolve(id);
        }

        Served start() {
            thread = Thread.ofVirtual().name("model-" + id).start(this);
            return this;
        }

        @Override
        public void run() {
            int failures = 0;
            while (!stopping) {
                status = Status.of("syncing");
                ObjectId commit;
                try {
                    commit = sync();
                } catch (VerificationException e) {
                    // The same bytes get the same verdict: only a new desired state (or trusting the key and restarting the agent) helps.
                    status = Status.failed("refused: " + shortIds(e.getMessage()));
                    return;
                } catch (IOException | RepositoryException | IllegalArgumentException | UncheckedIOException e) {
                    if (!retry(++failures, "sync of " + model.repository() + " failed: " + e.getMessage())) return;
                    continue;
                }
                int exit;
                try {
                    exit = serve(commit);
                    if (status.state().equals("running")) failures = 0;
                } catch (IOException e) {
                    if (!retry(++failures, e.getMessage())) return;
                    continue;
                }
                if (stopping) return;
                String why = "server exited with status " + exit + lastLine().map(l -> ": " + l).orElse("");
                if (exit == 0 && restart != RestartPolicy.ALWAYS) {
                    status = new Status("stopped", Optional.of(why), Optional.empty(), Optional.empty());
                    return;
                }
                if (!retry(++failures, why)) return;
            }
        }

        /** Fetches the ref into this allocation's repository; the commit it names, every signature checked. */
        private ObjectId sync() throws IOException {
            URI uri;
            try {
                uri = new URI(model.repository());
            } catch (URISyntaxException e) {
                throw new IllegalArgumentException("repository '" + model.repository() + "' is not a URL");
            }
            if (!"https".equals(uri.getScheme()) || uri.getHost() == null || uri.getPort() < 0) {
                throw new IllegalArgumentException("repository '" + model.repository() + "': expected https://HOST:PORT");
            }
            TrustStore trust = TrustStore.at(new AetherHome(config.trustHome()).trustDir());
            Path repoDir = dir.resolve("repo");
            Repository repository = Files.exists(repoDir) ? Repository.open(repoDir, trust) : Repository.init(repoDir, trust);
            ServerTrust server = new ServerTrust.TrustOnFirstUse(new KnownServers(config.dir().resolve("known_servers")), uri.getHost() + ":" + uri.getPort());
            return new RemoteRepository(uri, server, config.client(), config.maxDownloadBytes()).fetch(repository, model.ref(), Progress.NONE).after();
        }

        /** Runs one server until it exits; returns its exit status. */
        private int serve(ObjectId commit) throws IOException {
            Path log = dir.resolve(LOG_FILE);
            if (Files.exists(log) && Files.size(log) > MAX_LOG_BYTES) Files.move(log, dir.resolve(LOG_FILE + ".1"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            long from = Files.exists(log) ? Files.size(log) : 0;
            List<String> command = new ArrayList<>(config.command());
            command.addAll(List.of("model", "run", dir.resolve("repo") + "@" + commit.hex(), "--host", config.host(), "--port", "0",
                    "--home", config.trustHome().toString()));
            ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
            // In the environment, not on the command line: ONNX Runtime crashes when the command line is long.
            builder.environment().put("CLASSPATH", System.getProperty("java.class.path"));
            Process started;
            synchronized (this) {
                if (stopping) return 0;
                status = new Status("starting", Optional.empty(), Optional.empty(), Optional.of(commit.hex()));
                started = builder.start();
                process = started;
            }
            ProcessHandle handle = started.toHandle();
            DataDir.writeAtomically(dir.resolve(PID_FILE), (handle.pid() + " " + handle.info().startInstant().map(Instant::toEpochMilli).orElse(0L) + "\n")
                    .getBytes(StandardCharsets.UTF_8));
            long deadline = System.nanoTime() + config.startTimeout().toNanos();
            while (started.isAlive() && !stopping) {
                Optional<String> url = servingUrl(log, from);
                if (url.isPresent()) {
                    status = new Status("running", Optional.empty(), url, Optional.of(commit.hex()));
                    break;
                }
                if (System.nanoTime() > deadline) {
                    stopProcess(started);
                    throw new IOException("the server did not serve within " + config.startTimeout().toSeconds() + " s");
                }
                sleep(Duration.ofMillis(100));
            }
            try {
                return started.waitFor();
            } catch (InterruptedException e) {
                stopProcess(started);
                return started.exitValue();
            } finally {
                Files.deleteIfExists(dir.resolve(PID_FILE));
            }
        }

        /** Waits before the next try if the policy restarts after a failure; says so in the status. */
        private boolean retry(int failures, String why) {
            if (restart == RestartPolicy.NEVER || stopping) {
                status = Status.failed(why);
                return false;
            }
            long seconds = Math.min(LAST_RETRY.toSeconds(), FIRST_RETRY.toSeconds() << Math.min(failures - 1, 5));
            // The try comes first: a report's reason is cut to one short line.
            status = Status.failed("try " + (failures + 1) + " in " + seconds + " s: " + why);
            LOG.info(() -> "model " + id + ": " + why + "; trying again in " + seconds + " s");
            sleep(Duration.ofSeconds(seconds));
            return !stopping;
        }

        private Optional<String> lastLine() {
            Path log = dir.resolve(LOG_FILE);
            return Files.exists(log) ? Launcher.lastLine(log) : Optional.empty();
        }

        /** Stops the server (SIGTERM, then SIGKILL after a grace period) and its thread, then removes the allocation's directory. */
        void stop() {
            Process running;
            synchronized (this) {
                stopping = true;
                running = process;
            }
            if (running != null) stopProcess(running);
            thread.interrupt();
            try {
                thread.join(STOP_GRACE.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            status = Status.of("stopped");
        }
    }

    /** The serving URL the server printed after {@code from} in its log, with the model's path: {@code http://HOST:PORT/v1/models/NAME}. */
    private static Optional<String> servingUrl(Path log, long from) throws IOException {
        try (RandomAccessFile file = new RandomAccessFile(log.toFile(), "r")) {
            long length = file.length();
            if (length <= from) return Optional.empty();
            byte[] tail = new byte[(int) Math.min(length - from, 64 * 1024)];
            file.seek(from);
            file.readFully(tail);
            Matcher m = SERVING.matcher(new String(tail, StandardCharsets.UTF_8));
            return m.find() ? Optional.of(m.group(2) + "/v1/models/" + m.group(1)) : Optional.empty();
        }
    }

    private static void stopProcess(Process process) {
        process.destroy();
        try {
            if (!process.waitFor(STOP_GRACE.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                process.waitFor(STOP_GRACE.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    /** Stops the server named by {@code pidFile} if that process (same pid, same start time) still runs. */
    private static void stopLeftOver(Path pidFile) {
        try {
            if (!Files.exists(pidFile) || Files.size(pidFile) > 64) return;
            String[] fields = Files.readString(pidFile).strip().split(" ");
            long pid = Long.parseLong(fields[0]);
            long started = Long.parseLong(fields[1]);
            Optional<ProcessHandle> handle = ProcessHandle.of(pid)
                    .filter(h -> h.info().startInstant().map(Instant::toEpochMilli).orElse(-1L) == started);
            if (handle.isPresent()) {
                LOG.info(() -> "stopping model server " + pid + " left by the previous agent (" + pidFile.getParent().getFileName() + ")");
                handle.get().destroy();
                try {
                    handle.get().onExit().get(STOP_GRACE.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
                } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException e) {
                    handle.get().destroyForcibly();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            Files.deleteIfExists(pidFile);
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.WARNING, pidFile + ": " + e.getMessage());
        }
    }

    /** {@code message} with each 64-digit commit or key id cut to its first 12 digits, as {@code aether model log} shows them. */
    static String shortIds(String message) {
        return message.replaceAll("\\b([0-9a-f]{12})[0-9a-f]{52}\\b", "$1");
    }

    private static void sleep(Duration time) {
        try {
            Thread.sleep(time);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) s.sorted(Comparator.reverseOrder())::iterator) Files.deleteIfExists(p);
        }
    }
}
