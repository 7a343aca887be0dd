package io.aether.cli;

import io.aether.agent.FabricLink;
import io.aether.agentapi.JoinToken;
import io.aether.discovery.Beacon;
import io.aether.discovery.BeaconListener;
import io.aether.discovery.MulticastGroup;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * How {@code aether node --join HOST:PORT --token TOKEN} (or {@code --token} alone) reaches its
 * controller: the address given, or the controllers heard announcing themselves on the local
 * network. Beacons are unauthenticated; the token's certificate fingerprint is what the node
 * pins, so a beacon can only point at a controller, never make the node trust one.
 */
final class NodeJoin {

    /** How long a node with only a token listens for a controller that its token's fingerprint admits. */
    static final Duration DISCOVERY_WAIT = Duration.ofSeconds(60);

    private NodeJoin() {
    }

    /**
     * The link of the node in {@code linkDir}: joined through {@code join} (or a controller heard in
     * {@code group}) with {@code token} if it has not joined yet, then pulling over mutual TLS.
     */
    static FabricLink start(Optional<String> join, Optional<String> token, Optional<MulticastGroup> group, Path agentSocket, Path linkDir,
            FabricLink.Options options) throws IOException {
        Optional<JoinToken> parsed = token.map(JoinToken::parse);
        boolean joined = FabricLink.hasJoined(linkDir);
        if (joined || join.isPresent()) {
            List<FabricLink.Remote> candidates = join.isPresent() && !joined
                    ? List.of(FabricLink.Remote.of(join.get(), parsed.orElseThrow(() -> new IllegalArgumentException("--join: needs --token"))))
                    : List.of();
            return FabricLink.startRemote(candidates, agentSocket, linkDir, options, parsed.map(JoinToken::text));
        }
        JoinToken secret = parsed.orElseThrow();
        String fingerprint = secret.controllerFingerprint().orElseThrow(() -> new IllegalArgumentException(
                "--token: the token names no controller certificate; give --join HOST:PORT of a controller with --listen"));
        MulticastGroup heardOn = group.orElseThrow(() -> new IllegalArgumentException("--token without --join finds the controller by discovery; it is off"));
        try (BeaconListener controllers = BeaconListener.start(heardOn, Beacon.Role.CONTROLLER, BeaconListener.Limits.DEFAULTS)) {
            Instant deadline = Instant.now().plus(DISCOVERY_WAIT);
            IOException last = null;
            while (Instant.now().isBefore(deadline)) {
                List<FabricLink.Remote> heard = controllers.heard().stream()
                        .map(h -> new FabricLink.Remote(h.from().getHostAddress(), h.beacon().port(), fingerprint)).toList();
                if (!heard.isEmpty()) {
                    try {
                        return FabricLink.startRemote(heard, agentSocket, linkDir, options, Optional.of(secret.text()));
                    } catch (IOException e) {
                        last = e; // none of those heard is the token's controller (yet): listen on
                    }
                }
                sleep();
            }
            throw new IOException("no controller heard in " + DISCOVERY_WAIT.toSeconds() + " s presented the certificate sha256:" + fingerprint
                    + " the token names" + (last == null ? "" : " (last try: " + last.getMessage() + ")"));
        }
    }

    private static void sleep() throws IOException {
        try {
            Thread.sleep(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while listening for controllers", e);
        }
    }
}
