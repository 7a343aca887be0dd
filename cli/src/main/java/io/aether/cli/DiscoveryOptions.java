package io.aether.cli;

import io.aether.discovery.MulticastGroup;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Optional;
import picocli.CommandLine.Option;

/** {@code --no-discovery} and {@code --discovery-group}: whether and where multicast beacons are sent and heard on the local network. */
final class DiscoveryOptions {

    @Option(names = "--no-discovery", description = "Send and hear no beacons on the local network (a controller lists no pending nodes then).")
    boolean off;

    @Option(names = "--discovery-group", paramLabel = "ADDRESS:PORT",
            description = "The multicast group and UDP port of the beacons (default: ${DEFAULT-VALUE}; organisation-local, TTL 1).")
    String group = MulticastGroup.DEFAULT_ADDRESS + ":" + MulticastGroup.DEFAULT_PORT;

    /**
     * The group to use, or none with {@code --no-discovery}.
     *
     * @throws IllegalArgumentException naming the option when the group is not an IPv4 multicast ADDRESS:PORT
     */
    Optional<MulticastGroup> multicastGroup() {
        if (off) return Optional.empty();
        int colon = group.lastIndexOf(':');
        InetAddress address;
        int port;
        try {
            if (colon < 1 || !group.substring(0, colon).matches("[0-9]{1,3}(\\.[0-9]{1,3}){3}")) throw new NumberFormatException();
            address = InetAddress.getByName(group.substring(0, colon));
            port = Integer.parseInt(group.substring(colon + 1));
        } catch (NumberFormatException | UnknownHostException e) {
            throw new IllegalArgumentException("--discovery-group: '" + group + "' is not ADDRESS:PORT, e.g. " + MulticastGroup.DEFAULT_ADDRESS + ":"
                    + MulticastGroup.DEFAULT_PORT);
        }
        if (!address.isMulticastAddress()) throw new IllegalArgumentException("--discovery-group: " + address.getHostAddress() + " is not a multicast address");
        if (port < 1 || port > 65535) throw new IllegalArgumentException("--discovery-group: port " + port + " is not 1..65535");
        try {
            return Optional.of(MulticastGroup.on(address, port));
        } catch (IOException e) {
            System.err.println("warning: discovery is off: no interface for " + group + " (" + e.getMessage() + ")");
            return Optional.empty();
        }
    }
}
