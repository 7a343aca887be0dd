package io.aether.discovery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.security.KeyId;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Real multicast on this machine's first usable interface: a sender heard by a listener, then forgotten. */
@Timeout(60)
class MulticastDiscoveryTest {

    private static final KeyId KEY = new KeyId("ab".repeat(32));

    private static MulticastGroup freshGroup() throws Exception {
        // A group and port of this test's own, so that parallel runs do not hear each other.
        ThreadLocalRandom r = ThreadLocalRandom.current();
        int port;
        try (DatagramSocket probe = new DatagramSocket(0)) {
            port = probe.getLocalPort();
        }
        return MulticastGroup.on(InetAddress.getByAddress(new byte[] {(byte) 239, (byte) 255, (byte) r.nextInt(1, 255), (byte) r.nextInt(1, 255)}), port);
    }

    @Test
    void aControllerIsHeardThenForgottenWhenItStops() throws Exception {
        MulticastGroup group = freshGroup();
        BeaconListener.Limits limits = new BeaconListener.Limits(16, Duration.ofSeconds(2), 50, Duration.ofMinutes(1));
        try (BeaconListener listener = BeaconListener.start(group, Beacon.Role.CONTROLLER, limits)) {
            try (BeaconSender sender = BeaconSender.start(group,
                    () -> new Beacon(Beacon.Role.CONTROLLER, "ctl-a", KEY, 7443, Instant.now()), Duration.ofMillis(200))) {
                waitFor("the controller's beacon", () -> !listener.heard().isEmpty());
                BeaconListener.Heard heard = listener.heard().get(0);
                assertEquals("ctl-a", heard.beacon().name());
                assertEquals(KEY, heard.beacon().key());
                assertEquals(7443, heard.api().getPort());
                // The sender counts a beacon after its send returns, which can be after the listener heard it.
                waitFor("the sender to count its beacon", () -> sender.sent() >= 1);
            }
            waitFor("the controller to be forgotten", () -> listener.heard().isEmpty());
        }
    }

    @Test
    void junkSentToTheGroupIsCountedAndTheListenerKeepsListening() throws Exception {
        MulticastGroup group = freshGroup();
        try (BeaconListener listener = BeaconListener.start(group, Beacon.Role.NODE, BeaconListener.Limits.DEFAULTS);
             DatagramChannel raw = DatagramChannel.open(StandardProtocolFamily.INET)) {
            raw.setOption(StandardSocketOptions.IP_MULTICAST_IF, group.networkInterface());
            raw.setOption(StandardSocketOptions.IP_MULTICAST_LOOP, true);
            InetSocketAddress target = new InetSocketAddress(group.address(), group.port());
            raw.send(ByteBuffer.wrap(new byte[4000]), target);
            waitFor("the oversized datagram to be counted", () -> listener.counters().malformed() == 1);
            assertTrue(listener.lastMalformed().endsWith("datagram: 114 bytes, a beacon has at most 113"), listener.lastMalformed());
            raw.send(ByteBuffer.wrap(new Beacon(Beacon.Role.NODE, "node-1", KEY, 1, Instant.now()).encode()), target);
            waitFor("the node after the junk", () -> listener.heard().size() == 1);
            assertEquals(List.of("node-1"), listener.heard().stream().map(h -> h.beacon().name()).toList());
        }
    }

    private static void waitFor(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(20);
        }
    }
}
