package io.aether.cli;

import io.aether.agent.FabricLink;
import io.aether.agent.NodeAgent;
import io.aether.common.ByteSize;
import io.aether.discovery.BeaconSender;
import io.aether.discovery.MulticastGroup;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code aether node}: the node agent daemon; its subcommands ({@link NodeClientCommands}) manage the fabric's nodes. */
@Command(name = "node", mixinStandardHelpOptions = true, sortOptions = false,
        subcommands = {NodeClientCommands.Ls.class, NodeClientCommands.Drain.class, NodeClientCommands.Revoke.class},
        description = {
            "Run the node agent: this machine's microVMs behind an HTTP API.",
            "",
            "Each VM gets a folder under --data (spec.json, record.json, monitor.sock,",
            "monitor.log, console.log) and runs in its own monitor process",
            "('aether vm monitor'). The agent watches them: a monitor that dies marks",
            "its VM failed with the reason, and the VM's restart policy (never,",
            "on-failure, always) decides whether it starts again, after a delay that",
            "doubles up to 30 s. Monitors outlive the agent: stop or kill it (even with",
            "SIGKILL), start it again on the same --data, and it takes them over",
            "through their sockets; a VM whose monitor died meanwhile is reported failed.",
            "",
            "The API (JSON, /v1/..., described at /openapi.json) listens on",
            "DATA/node.sock, mode 0600. --listen adds TLS 1.3 (X25519MLKEM768,",
            "ML-DSA-65) for the clients whose certificates --client-cert names, and",
            "announces the node on the local network (multicast beacons: this host's",
            "name, the certificate's key id, the port) so that controllers list it as",
            "pending until it joins; --no-discovery keeps it quiet. VMs",
            "are admitted against --cpus and --memory times --overcommit; one that",
            "does not fit is refused, naming what does not fit. Each monitor runs in",
            "its own cgroup, held to its VM's CPU and memory quota. Snapshots are",
            "written into the VM's folder and restored as new VMs. Prometheus metrics",
            "are at /metrics. --warm-pool keeps monitors started, so a VM does not",
            "wait for a JVM. 'aether vm ls', 'aether vm create', 'aether vm top' and",
            "the other vm commands are its clients.",
            "",
            "Examples:",
            "  aether node --data /var/lib/aether/node",
            "  curl --unix-socket /var/lib/aether/node/node.sock \\",
            "       -H 'Content-Type: application/json' http://node/v1/vms \\",
            "       -d '{\"id\": \"c1\", \"spec\": {\"boot\": {\"stub\": \"count\"}}}'",
            "  curl --unix-socket /var/lib/aether/node/node.sock http://node/v1/events",
            "",
            "--join HOST:PORT --token TOKEN joins the node to a fabric controller's",
            "TLS listener (the token pins the controller's certificate), keeps the",
            "node certificate it is issued in DATA/link and pulls its desired state",
            "over mutual TLS; --token alone joins the first controller heard on the",
            "local network whose certificate is the token's. Once joined, a restart",
            "on the same --data needs neither.",
            "  aether node --data /var/lib/aether/node --join 10.0.0.1:7443 \\",
            "       --token aether-join-...",
            "",
            "With a subcommand, it is instead a client of the fabric controller",
            "(its socket, like 'aether job'): 'aether node ls' lists the nodes,",
            "'aether node drain NODE' moves a node's replicas elsewhere, 'aether node",
            "revoke NODE' shuts a node out for good.",
            ""})
final class NodeCommand implements Callable<Integer> {

    @Option(names = "--data", paramLabel = "DIR", defaultValue = "/var/lib/aether/node",
            description = "The data directory, created mode 0700 if missing (default: ${DEFAULT-VALUE}).")
    Path data;

    @Option(names = "--cpus", paramLabel = "N", description = "CPUs to admit vCPUs against (default: this host's).")
    Integer cpus;

    @Option(names = "--memory", paramLabel = "SIZE", description = "Memory to admit guest RAM against, e.g. 8G (default: this host's).")
    String memory;

    @Option(names = "--overcommit", paramLabel = "RATIO", defaultValue = "1.0",
            description = "How far past --cpus and --memory admission may go, 1.0 to 16.0 (default: ${DEFAULT-VALUE}, none).")
    double overcommit;

    @Option(names = "--volume-capacity", paramLabel = "SIZE",
            description = "What the node's volumes may add up to, e.g. 100G (default: the data directory's free space when the agent starts).")
    String volumeCapacity;

    @Option(names = "--listen", paramLabel = "HOST:PORT",
            description = "Also serve the API over TLS on HOST:PORT, to the clients given with --client-cert. The server's"
                    + " certificate is made once and kept in DATA/tls; its fingerprint is printed at start.")
    String listen;

    @Option(names = "--client-cert", paramLabel = "FINGERPRINT",
            description = "SHA-256 fingerprint (64 hex digits) of a client certificate --listen accepts; repeatable.")
    List<String> clientCertificates = new ArrayList<>();

    @Option(names = "--warm-pool", paramLabel = "N", defaultValue = "2",
            description = "Standby monitors to keep ready under DATA/pool, so that a VM starts without waiting for a JVM;"
                    + " 0 starts every VM cold (default: ${DEFAULT-VALUE}). One handed out is replaced once its VM has"
                    + " booted (at most 10 s later); standbys warm up at the lowest CPU weight where quotas are enforced.")
    int warmPool;

    @Option(names = "--no-page-merging",
            description = "Start the monitors with --no-page-merging: their own memory stays out of the host's same-page merging"
                    + " (KSM). By default they offer it, so that the pages identical in every monitor are shared where the host"
                    + " runs KSM; the guests' memory never is. A monitor's heap may hold copies of guest data (console output).")
    boolean noPageMerging;

    @Option(names = "--ksm",
            description = "Start the host's same-page merging where it is stopped (/sys/kernel/mm/ksm/run = 1; needs root). A host"
                    + " setting: said in the start-up log, and left on when the agent stops. Without it the agent only reports it"
                    + " (the log, /metrics).")
    boolean ksm;

    @Option(names = "--join", paramLabel = "HOST:PORT",
            description = "Join the fabric through the controller's TLS listener here (with --token), and from then on pull"
                    + " desired state from it over mutual TLS with the node certificate it issues.")
    String join;

    @Option(names = "--token", paramLabel = "TOKEN",
            description = "The join token ('aether token create' on a controller with --listen): used once, and it pins the"
                    + " controller's certificate. Without --join, the node joins the first controller it hears on the local"
                    + " network whose certificate is the token's.")
    String token;

    @Option(names = "--name", paramLabel = "NAME", description = "This node's name in the fabric (default: this host's name).")
    String name;

    @Mixin
    DiscoveryOptions discovery;

    @Override
    public Integer call() throws IOException {
        NodeAgent.Options options;
        Optional<MulticastGroup> group;
        try {
            group = discovery.multicastGroup();
            NodeAgent.Options defaults = NodeAgent.Options.defaults(data);
            options = defaults.withCapacity(cpus != null ? cpus : defaults.cpus(),
                    memory != null ? parseMemory(memory) : defaults.memoryBytes(), overcommit).withWarmPool(warmPool);
            if (noPageMerging) options = options.withoutPageMerging();
            if (volumeCapacity != null) options = options.withVolumeCapacity(parseSize("--volume-capacity", volumeCapacity));
            if (listen != null) options = options.withListen(listen, new HashSet<>(clientCertificates));
            else if (!clientCertificates.isEmpty()) throw new IllegalArgumentException("--client-cert: only with --listen");
        } catch (IllegalArgumentException e) {
            System.err.println("aether node: " + e.getMessage());
            return VmRunCommand.STATUS_BAD_ARGUMENTS;
        }
        StopSignals signals = StopSignals.install(); // a stop on request ends the agent cleanly, with status 0
        // Before the agent starts its first monitors: --ksm's setting is the host's, said in any case.
        System.out.println("aether node: " + NodeAgent.pageMerging(ksm) + (noPageMerging ? "; --no-page-merging: the monitors offer it nothing" : ""));
        NodeAgent agent;
        try {
            agent = NodeAgent.start(options);
        } catch (IllegalArgumentException | IOException e) {
            System.err.println("aether node: " + e.getMessage());
            return 1;
        }
        System.out.println("aether node: serving " + agent.socket() + " (data " + options.data() + ")");
        if (agent.fingerprint().isPresent()) {
            System.out.println("aether node: TLS on " + options.listen().get() + " (port " + agent.port() + "), certificate sha256:"
                    + agent.fingerprint().get() + ", " + options.clientCertificates().size() + " client certificate(s)");
        }
        Optional<BeaconSender> beacons = NodeBeacons.start(group, agent, options, UpCommand.hostName());
        FabricLink link = null;
        Path linkDir = options.data().resolve("link");
        if (join != null || token != null || FabricLink.hasJoined(linkDir)) {
            String nodeName = name != null ? name : UpCommand.hostName();
            try {
                link = NodeJoin.start(Optional.ofNullable(join), Optional.ofNullable(token), group, agent.socket(), linkDir,
                        new FabricLink.Options(nodeName, new TreeMap<>(), options.cpus(), options.memoryBytes(), Duration.ofSeconds(1)));
            } catch (IOException | IllegalArgumentException e) {
                System.err.println("aether node: cannot join the fabric: " + e.getMessage());
                beacons.ifPresent(BeaconSender::close);
                agent.close();
                return 1;
            }
            System.out.println("aether node: node " + nodeName + " joined; desired state over mutual TLS from " + Files.readString(linkDir.resolve("controller")).strip());
        }
        System.out.flush();
        try {
            System.out.println("aether node: " + signals.await() + " received; stopping (the VMs keep running)");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            if (link != null) link.close();
            beacons.ifPresent(BeaconSender::close);
            agent.close();
        }
        return 0;
    }

    private static long parseMemory(String text) {
        return parseSize("--memory", text);
    }

    private static long parseSize(String option, String text) {
        try {
            return ByteSize.parse(text).bytes();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(option + ": " + e.getMessage());
        }
    }
}
