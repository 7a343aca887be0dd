package io.aether.fabric;

import io.aether.discovery.Beacon;
import io.aether.discovery.BeaconListener;
import io.aether.discovery.BeaconSender;
import io.aether.discovery.MulticastGroup;
import io.aether.security.KeyId;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * A controller on the local network's multicast group: it listens for the beacons of nodes that
 * have not registered (shown as pending) and, when it has a TLS API to reach it by, announces that.
 * Beacons are hints (see the discovery module): a pending node is only something heard.
 */
final class ControllerDiscovery implements AutoCloseable {

    /** How often the controller announces itself (the sender adds jitter). */
    static final Duration ANNOUNCE_EVERY = Duration.ofSeconds(2);

    /** What the controller announces: its id, the key of its TLS certificate and the API's port. */
    record Announcement(String name, KeyId key, int port) { }

    private final BeaconListener listener;
    private final Optional<BeaconSender> sender;

    private ControllerDiscovery(BeaconListener listener, Optional<BeaconSender> sender) {
        this.listener = listener;
        this.sender = sender;
    }

    static ControllerDiscovery start(MulticastGroup group, Optional<Announcement> announcement) throws IOException {
        BeaconListener listener = BeaconListener.start(group, Beacon.Role.NODE, BeaconListener.Limits.DEFAULTS);
        try {
            Optional<BeaconSender> sender = Optional.empty();
            if (announcement.isPresent()) {
                Announcement a = announcement.get();
                sender = Optional.of(BeaconSender.start(group, () -> new Beacon(Beacon.Role.CONTROLLER, a.name(), a.key(), a.port(), Instant.now()),
                        ANNOUNCE_EVERY));
            }
            return new ControllerDiscovery(listener, sender);
        } catch (IOException | RuntimeException e) {
            listener.close();
            throw e;
        }
    }

    /** The nodes heard lately whose name and key no registered node has: those that have not joined. */
    List<BeaconListener.Heard> pending(Set<String> registeredNames, Set<String> registeredKeyIds) {
        return listener.heard().stream()
                .filter(h -> !registeredNames.contains(h.beacon().name()) && !registeredKeyIds.contains(h.beacon().key().hex()))
                .toList();
    }

    /** Beacons sent, or 0 when this controller does not announce itself. */
    long announced() {
        return sender.map(BeaconSender::sent).orElse(0L);
    }

    @Override
    public void close() {
        sender.ifPresent(BeaconSender::close);
        listener.close();
    }
}
