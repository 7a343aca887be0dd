package io.aether.cli;

import io.aether.discovery.MulticastGroup;
import io.aether.fabric.Controller;
import io.aether.fabric.ControllerConfig;
import io.aether.http.Listener;
import io.aether.security.BrowserCredentials;
import io.aether.security.ServerCredentials;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code aether controller}: one controller of the fabric, its state replicated by Apache Ratis. */
@Command(name = "controller",
        mixinStandardHelpOptions = true,
        description = {
            "Run a fabric controller: nodes, jobs, allocations, join tokens and events, replicated by Apache Ratis, the"
                    + " scheduler, and the /v1 API.",
            "",
            "One controller by default. For three or five, start each with the same --peers list and its own --id."
                    + " State lives under --data: the Raft log and snapshots (DIR/raft), the API socket (DIR/controller.sock)"
                    + " and, with --listen, the TLS certificate (DIR/tls). The API is served on the Unix socket (mode 0600:"
                    + " this user only) and, with --listen, over TLS 1.3 with X25519MLKEM768 and ML-DSA-65: to nodes joining"
                    + " with a join token (which then carries this listener's certificate fingerprint), to nodes with the"
                    + " certificate a controller issued them at the join (checked against the replicated state: a revoked"
                    + " node is refused), and to administrators whose certificate fingerprint is given with --allow-client."
                    + " The controller's certificate authority is kept in DIR/ca.",
            "",
            "With --dashboard, the dashboard and the API are also served to browsers over TLS 1.3 with X25519MLKEM768 preferred"
                    + " (hybrid post-quantum; X25519 or P-256 for a browser without it) and a self-signed ECDSA P-256 certificate made"
                    + " in DIR/dashboard on first start, since no browser verifies ML-DSA certificates yet: trust it by the SHA-256"
                    + " printed at start. Every API request there needs a login token ('aether token create --dashboard')."
                    + " API and dashboard: fabric/README.md.",
            "",
            "The Raft port runs mutual TLS 1.3 with X25519MLKEM768 and ML-DSA-65: each controller presents a certificate its"
                    + " authority (DIR/ca) issued, and accepts only the controllers of --peers whose authority is the one pinned there"
                    + " (ID=HOST:PORT@SHA256). Before starting a group, run --authority on each controller's --data and --id, and give"
                    + " every controller the same --peers list with those fingerprints.",
            "",
            "Examples:",
            "  aether controller --data /var/lib/aether/controller",
            "  aether controller --data /var/lib/aether/controller --dashboard 127.0.0.1:8443",
            "  aether controller --data /srv/c2 --id c2 --authority",
            "  aether controller --data /srv/c2 --id c2 --peers c1=10.0.0.1:9870@SHA256,c2=10.0.0.2:9870@SHA256,c3=10.0.0.3:9870@SHA256",
            ""},
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {"0:stopped by SIGTERM or SIGINT", "1:could not start (the message says why)", "2:bad options"})
final class ControllerCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--data", paramLabel = "DIR", required = true, description = "This controller's state directory (created if absent).")
    Path data;

    @Option(names = "--id", paramLabel = "ID", description = "This controller's id in --peers (default: ${DEFAULT-VALUE}).")
    String id = "c1";

    @Option(names = "--peers", paramLabel = "ID=HOST:PORT@SHA256,...",
            description = "Every controller of the group with its Raft address and the fingerprint of its certificate authority"
                    + " (--authority prints it), the same list on each (default: this one alone).")
    String peers;

    @Option(names = "--authority",
            description = "Print the SHA-256 fingerprint of this controller's certificate authority (DIR/ca, made if absent), which"
                    + " the other controllers pin in --peers, and exit.")
    boolean printAuthority;

    @Option(names = "--raft-port", paramLabel = "PORT",
            description = "Without --peers: the Raft port on 127.0.0.1 (default: ${DEFAULT-VALUE}).")
    int raftPort = 9870;

    @Option(names = "--socket", paramLabel = "PATH", description = "The API's Unix socket (default: DIR/controller.sock).")
    Path socket;

    @Option(names = "--listen", paramLabel = "HOST:PORT", description = "Also serve the API over post-quantum TLS here.")
    String listen;

    @Option(names = "--dashboard", paramLabel = "HOST:PORT",
            description = "Also serve the dashboard and the API to browsers here (TLS with an ECDSA certificate; port 0 picks a free one).")
    String dashboard;

    @Option(names = "--allow-client", paramLabel = "SHA256",
            description = "A client certificate fingerprint (64 hex digits) --listen admits as an administrator; repeatable.")
    List<String> allowedClients = new ArrayList<>();

    @Option(names = "--snapshot-every", paramLabel = "N", description = "Snapshot the state every N log entries (default: ${DEFAULT-VALUE}).")
    long snapshotEvery = ControllerConfig.DEFAULT_SNAPSHOT_EVERY;

    @Mixin
    DiscoveryOptions discovery;

    @Override
    public Integer call() throws IOException {
        PrintWriter err = spec.commandLine().getErr();
        if (printAuthority) return printAuthority(err);
        ControllerConfig config;
        List<Listener> listeners = new ArrayList<>();
        Optional<MulticastGroup> multicast;
        try {
            multicast = discovery.multicastGroup();
            List<ControllerConfig.Peer> group = peers == null ? List.of(new ControllerConfig.Peer(id, "127.0.0.1", raftPort))
                    : ControllerConfig.parsePeers(peers);
            config = new ControllerConfig(data, id, group, snapshotEvery, ControllerConfig.DEFAULT_ELECTION_TIMEOUT);
            listeners.add(new Listener.UnixSocket(socket == null ? data.resolve("controller.sock") : socket));
            if (dashboard != null) listeners.add(browser(dashboard, "--dashboard", data, id));
            if (listen != null) listeners.add(tcp());
            else if (!allowedClients.isEmpty()) throw new IllegalArgumentException("--allow-client: only with --listen");
        } catch (IllegalArgumentException e) {
            // ControllerConfig names its fields; the user knows them as flags.
            String message = e.getMessage().replaceFirst("^snapshotEvery:", "snapshot-every:");
            err.println("aether controller: " + (message.startsWith("--") ? "" : "--") + message);
            return 2;
        }
        Files.createDirectories(data);
        Controller controller;
        try {
            controller = multicast.isPresent() ? Controller.start(config, listeners, multicast.get()) : Controller.start(config, listeners);
        } catch (IOException e) {
            err.println("aether controller: cannot start: " + e.getMessage());
            return 1;
        }
        StopSignals signals = StopSignals.install(); // before the lines that tell a supervisor the controller is up
        PrintWriter out = spec.commandLine().getOut();
        out.println("Controller " + id + " of " + config.peers().size() + " (Raft " + config.peers().stream()
                .filter(p -> p.id().equals(id)).findFirst().orElseThrow().address() + "), state in " + data);
        out.println("API on unix:" + ((Listener.UnixSocket) listeners.getFirst()).path()
                + (listen == null ? "" : " and https://" + listen.substring(0, listen.lastIndexOf(':') + 1) + controller.port()));
        if (dashboard != null) printDashboard(out, controller, listeners);
        out.println("Raft peers: mutual TLS 1.3, X25519MLKEM768, ML-DSA-65; this controller's certificate authority sha256:"
                + ControllerConfig.authorityFingerprint(data, id) + " (" + data.resolve("ca").resolve("ca.crt") + ")");
        if (listen != null) {
            out.println("TLS 1.3, X25519MLKEM768, ML-DSA-65 certificate sha256:" + ((Listener.Tcp) listeners.getLast()).credentials().fingerprint()
                    + " (" + data.resolve("tls") + "); " + allowedClients.size() + " client certificate(s) pinned, node certificates of the fabric");
        }
        out.flush();
        try {
            signals.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            controller.close();
        }
        return 0;
    }

    /** The browser listener at {@code hostPort} ({@code option} names it in errors), its certificate in {@code dataDir/dashboard}. */
    static Listener.Browser browser(String hostPort, String option, Path dataDir, String id) throws IOException {
        HostPort at = HostPort.parse(hostPort, option);
        Files.createDirectories(dataDir);
        return new Listener.Browser(at.host(), at.port(), BrowserCredentials.loadOrCreate(dataDir.resolve("dashboard"), "aether-controller-" + id));
    }

    /** The dashboard's address and how to trust its certificate. */
    static void printDashboard(PrintWriter out, Controller controller, List<Listener> listeners) {
        BrowserCredentials credentials = listeners.stream().filter(Listener.Browser.class::isInstance).map(l -> ((Listener.Browser) l).credentials())
                .findFirst().orElseThrow();
        out.println("Dashboard on " + controller.dashboardUrl().orElseThrow() + " (TLS 1.3, X25519MLKEM768 preferred; ECDSA P-256 certificate sha256:"
                + credentials.fingerprint() + ", public key sha256/base64 " + credentials.spkiSha256Base64() + ")");
    }

    /** {@code HOST:PORT} of a listener option, {@code [v6]:PORT} too. */
    record HostPort(String host, int port) {
        static HostPort parse(String text, String option) {
            int colon = text.lastIndexOf(':');
            if (colon < 1) throw new IllegalArgumentException(option + ": '" + text + "' is not HOST:PORT");
            int port;
            try {
                port = Integer.parseInt(text.substring(colon + 1));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(option + ": '" + text + "' has no port number");
            }
            if (port < 0 || port > 65_535) throw new IllegalArgumentException(option + ": port " + port + " is out of range (0 to 65535)");
            return new HostPort(text.substring(0, colon).replaceAll("^\\[(.*)]$", "$1"), port);
        }
    }

    private int printAuthority(PrintWriter err) {
        try {
            new ControllerConfig.Peer(id, "127.0.0.1", raftPort); // the id's form, before it names a file
            spec.commandLine().getOut().println(ControllerConfig.authorityFingerprint(data, id));
            return 0;
        } catch (IllegalArgumentException e) {
            err.println("aether controller: --id: " + e.getMessage().replaceFirst("^peers: ", ""));
            return 2;
        } catch (IOException e) {
            err.println("aether controller: cannot read or make the certificate authority in " + data.resolve("ca") + ": " + e.getMessage());
            return 1;
        }
    }

    private Listener tcp() throws IOException {
        HostPort at = HostPort.parse(listen, "--listen");
        for (String fingerprint : allowedClients) {
            if (!fingerprint.matches("[0-9a-f]{64}")) {
                throw new IllegalArgumentException("--allow-client: '" + fingerprint + "' is not a SHA-256 fingerprint (64 lower-case hex digits)");
            }
        }
        Files.createDirectories(data);
        ServerCredentials credentials = ServerCredentials.loadOrCreate(data.resolve("tls"), "aether-controller-" + id);
        // The controller admits its fabric's node certificates on this listener besides these pins.
        return new Listener.Tcp(at.host(), at.port(), credentials,
                allowedClients.isEmpty() ? new Listener.ClientAuth.None() : new Listener.ClientAuth.Pinned(Set.copyOf(allowedClients)));
    }
}
