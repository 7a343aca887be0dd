package io.aether.discovery;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.util.Collections;
import java.util.Objects;

/**
 * Where beacons go: an IPv4 multicast group and port, on one network interface. The default group
 * is in the organisation-local scope (239.255.0.0/16), and beacons are sent with a TTL of 1, so
 * they never leave the local network.
 */
public record MulticastGroup(InetAddress address, int port, NetworkInterface networkInterface) {

    public static final String DEFAULT_ADDRESS = "239.255.77.77";
    public static final int DEFAULT_PORT = 7947;

    public MulticastGroup {
        Objects.requireNonNull(address, "address");
        Objects.requireNonNull(networkInterface, "networkInterface");
        if (!(address instanceof Inet4Address) || !address.isMulticastAddress()) {
            throw new IllegalArgumentException("discovery group: " + address.getHostAddress() + " is not an IPv4 multicast address (224.0.0.0/4)");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("discovery port: " + port + " is not 1..65535");
        }
    }

    /** The default group and port on the first interface that can carry it. */
    public static MulticastGroup standard() throws IOException {
        return on(InetAddress.getByName(DEFAULT_ADDRESS), DEFAULT_PORT);
    }

    /** {@code address:port} on the first interface that is up, multicast-capable and has an IPv4 address. */
    public static MulticastGroup on(InetAddress address, int port) throws IOException {
        return new MulticastGroup(address, port, firstUsableInterface());
    }

    static NetworkInterface firstUsableInterface() throws SocketException {
        NetworkInterface loopback = null;
        for (NetworkInterface nif : Collections.list(NetworkInterface.getNetworkInterfaces())) {
            if (!nif.isUp() || !nif.supportsMulticast() || !hasIpv4(nif)) {
                continue;
            }
            if (!nif.isLoopback()) {
                return nif;
            }
            loopback = nif;
        }
        if (loopback != null) {
            return loopback;
        }
        throw new SocketException("discovery: no network interface is up, multicast-capable and has an IPv4 address"
                + " (nodes can still join with --join HOST:PORT)");
    }

    private static boolean hasIpv4(NetworkInterface nif) {
        return Collections.list(nif.getInetAddresses()).stream().anyMatch(a -> a instanceof Inet4Address);
    }

    @Override
    public String toString() {
        return address.getHostAddress() + ":" + port + " on " + networkInterface.getName();
    }
}
