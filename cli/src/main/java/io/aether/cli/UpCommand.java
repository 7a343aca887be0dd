package io.aether.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.aether.agent.FabricLink;
import io.aether.agent.NodeAgent;
import io.aether.discovery.MulticastGroup;
import io.aether.fabric.Controller;
import io.aether.fabric.ControllerConfig;
import io.aether.http.ApiClient;
import io.aether.http.Listener;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code aether up}: a one-peer fabric controller and a node agent on this machine, in this one
 * process, the node joined to the controller. One process because it is one thing to start and
 * stop; the parts still talk as a remote node would (the join token and the node's identity, the
 * desired state pulled over the controller's API), and the VMs run in their own monitor processes.
 */
@Command(name = "up", mixinStandardHelpOptions = true,
        description = {
            "Run a fabric on this machine: a controller (one Raft peer) and a node agent, the node joined to it.",
            "",
            "State lives under --data: the controller's Raft log and snapshots (DATA/controller, API socket"
                    + " DATA/controller/controller.sock), the agent's VMs (DATA/node, API socket DATA/node/node.sock) and the"
                    + " node's ML-DSA-65 identity and its last desired state (DATA/link). On first start the node joins with a"
                    + " one-time join token it asks the controller for. Every second the node pulls its desired state and its"
                    + " agent creates, starts or removes VMs to match; what runs is reported back as events. An admin client"
                    + " identity (key and certificate from the controller's CA) is made in DATA/admin on first start.",
            "",
            "Stop it with Ctrl-C or SIGTERM: the VMs keep running in their monitors, and the next 'aether up' on the same"
                    + " --data takes them over without starting them twice. Stop a job ('aether job stop NAME') to remove its VMs.",
            "",
            "The dashboard is served to browsers over TLS on --dashboard (a free loopback port by default) with a self-signed"
                    + " ECDSA P-256 certificate (DATA/controller/dashboard); its address, the certificate's SHA-256 and a first login"
                    + " token (role operate, one hour) are printed at start.",
            "",
            "Examples:",
            "  aether up",
            "  aether job run examples/hello-stub.json",
            "  aether job ls",
            ""},
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {"0:stopped by SIGTERM or SIGINT", "1:could not start (the message says why)", "2:bad options"})
final class UpCommand implements Callable<Integer> {

    private static final Pattern NODE_NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");

    @Spec
    CommandSpec spec;

    @Option(names = "--data", paramLabel = "DIR", description = "Where the fabric keeps its state (default: ${DEFAULT-VALUE}).")
    Path data = defaultData();

    @Option(names = "--name", paramLabel = "NODE", description = "This node's name in the fabric (default: this host's name, in lower case).")
    String name;

    @Option(names = "--raft-port", paramLabel = "PORT", description = "The controller's Raft port on 127.0.0.1 (default: ${DEFAULT-VALUE}).")
    int raftPort = 9870;

    @Option(names = "--dashboard", paramLabel = "HOST:PORT",
            description = "Where browsers reach the dashboard over TLS (default: ${DEFAULT-VALUE}, a free port on loopback).")
    String dashboard = "127.0.0.1:0";

    @Mixin
    DiscoveryOptions discovery;

    /** {@code $XDG_DATA_HOME/aether}, else {@code ~/.local/share/aether}. */
    static Path defaultData() {
        String xdg = System.getenv("XDG_DATA_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".local", "share");
        return base.resolve("aether");
    }

    @Override
    public Integer call() throws IOException {
        PrintWriter err = spec.commandLine().getErr();
        String node = name != null ? name : hostName();
        if (!NODE_NAME.matcher(node).matches()) {
            err.println("aether up: --name: '" + node + "' is not a node name (lower-case letters, digits, '.', '_', '-'; at most 63)");
            return 2;
        }
        ControllerConfig config;
        Optional<MulticastGroup> group;
        try {
            group = discovery.multicastGroup();
        } catch (IllegalArgumentException e) {
            err.println("aether up: " + e.getMessage());
            return 2;
        }
        try {
            config = ControllerConfig.single(data.resolve("controller"), raftPort);
        } catch (IllegalArgumentException e) {
            err.println("aether up: --raft-port: " + e.getMessage());
            return 2;
        }
        Files.createDirectories(config.dataDir());
        Path controllerSocket = config.dataDir().resolve("controller.sock");
        List<Listener> listeners;
        try {
            listeners = List.of(new Listener.UnixSocket(controllerSocket), ControllerCommand.browser(dashboard, "--dashboard", config.dataDir(), "c1"));
        } catch (IllegalArgumentException e) {
            err.println("aether up: " + e.getMessage());
            return 2;
        }
        Controller controller;
        try {
            controller = group.isPresent() ? Controller.start(config, listeners, group.get()) : Controller.start(config, listeners);
        } catch (IOException e) {
            err.println("aether up: the controller cannot start: " + e.getMessage());
            return 1;
        }
        NodeAgent agent = null;
        FabricLink link = null;
        JsonNode login;
        try {
            NodeAgent.Options options = NodeAgent.Options.defaults(data.resolve("node"));
            agent = NodeAgent.start(options);
            ApiClient api = ApiClient.unix(controllerSocket, Duration.ofSeconds(60));
            Path linkDir = data.resolve("link");
            Optional<String> token = Files.exists(linkDir.resolve("joined")) ? Optional.empty() : Optional.of(newToken(api));
            link = FabricLink.start(api, agent.socket(), linkDir,
                    new FabricLink.Options(node, new TreeMap<>(Map.of("aether.up", "true")), options.cpus(), options.memoryBytes(), Duration.ofSeconds(1)),
                    token);
            adminIdentity(api, data.resolve("admin"), err);
            login = api.post("/v1/sessions", new ObjectMapper().createObjectNode().put("role", "operate").put("ttlSeconds", 3600)).requireOk().json(JsonNode.class);
        } catch (IOException | RuntimeException e) {
            err.println("aether up: " + e.getMessage());
            if (agent != null) agent.close();
            controller.close();
            return 1;
        }
        StopSignals signals = StopSignals.install();
        PrintWriter out = spec.commandLine().getOut();
        out.println("Controller: unix:" + controllerSocket + " (state in " + config.dataDir() + ")");
        out.println("Node " + node + ": agent on unix:" + agent.socket() + ", joined to the controller");
        ControllerCommand.printDashboard(out, controller, listeners);
        out.println("  log in with " + login.path("token").asText() + " (role operate, until " + login.path("expires").asText()
                + "; another: aether token create --dashboard)");
        out.println("Try: aether job run examples/hello-stub.json" + (data.equals(defaultData()) ? "" : " --controller " + controllerSocket));
        out.flush();
        try {
            signals.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            link.close();
            agent.close();
            controller.close();
        }
        return 0;
    }

    /**
     * The administrator's client identity ({@code DATA/admin}), made on the first start: for the
     * client commands' {@code --controller HOST:PORT} against a controller of this fabric with a TLS
     * listener. Not having one leaves the Unix socket, so a failure is a warning only.
     */
    private static void adminIdentity(ApiClient api, Path dir, PrintWriter err) {
        if (Files.exists(dir.resolve(ClientIdentity.KEY))) return;
        try {
            ClientIdentity.create(api, "admin", "admin", dir);
        } catch (IOException e) {
            err.println("aether up: warning: no admin client identity in " + dir + ": " + e.getMessage());
        }
    }

    /** A join token for this machine's own node, valid long enough for a slow first start. */
    private static String newToken(ApiClient api) throws IOException {
        JsonNode token = api.post("/v1/tokens", new ObjectMapper().createObjectNode().put("ttlSeconds", 600)).json(JsonNode.class);
        return token.path("token").asText();
    }

    /** This host's name as a node name, or {@code node1} when it makes none. */
    static String hostName() {
        try {
            String host = InetAddress.getLocalHost().getHostName().toLowerCase(Locale.ROOT);
            int dot = host.indexOf('.');
            host = (dot > 0 ? host.substring(0, dot) : host).replaceAll("[^a-z0-9._-]", "-");
            return NODE_NAME.matcher(host).matches() ? host : "node1";
        } catch (IOException e) {
            return "node1";
        }
    }
}
