package io.aether.cli;

import io.aether.agent.NodeAgent;
import io.aether.discovery.Beacon;
import io.aether.discovery.BeaconSender;
import io.aether.discovery.MulticastGroup;
import io.aether.security.KeyId;
import io.aether.security.ServerCredentials;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * The beacons of an {@code aether node} that no controller has registered: its name, the key of
 * its TLS certificate and its API port, so that a controller on the local network lists it as
 * pending. Only a node with a TLS listener announces itself: without one there is nothing to reach.
 */
final class NodeBeacons {

    static final Duration EVERY = Duration.ofSeconds(2);

    private NodeBeacons() {
    }

    /** Starts announcing {@code agent} as {@code name}, or nothing without a group or a TLS listener; a failure is a warning, never fatal. */
    static Optional<BeaconSender> start(Optional<MulticastGroup> group, NodeAgent agent, NodeAgent.Options options, String name) {
        if (group.isEmpty() || options.listen().isEmpty()) return Optional.empty();
        try {
            // The agent made these credentials when it started its TLS listener; this reads them back.
            KeyId key = KeyId.of(ServerCredentials.loadOrCreate(options.data().resolve("tls"), "aether-node").certificate().getPublicKey());
            int port = agent.port();
            return Optional.of(BeaconSender.start(group.get(), () -> new Beacon(Beacon.Role.NODE, name, key, port, Instant.now()), EVERY));
        } catch (IOException | RuntimeException e) {
            System.err.println("aether node: warning: discovery is off: " + e.getMessage());
            return Optional.empty();
        }
    }
}
