package io.aether.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.agent.NodeAgent;
import io.aether.discovery.Beacon;
import io.aether.discovery.BeaconListener;
import io.aether.discovery.BeaconSender;
import io.aether.discovery.MulticastGroup;
import io.aether.security.KeyId;
import io.aether.security.ServerCredentials;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** An {@code aether node} with a TLS listener announces itself on a real multicast group (one of this test's own); one without stays quiet. */
@Timeout(60)
class NodeBeaconsTest {

    @TempDir
    Path dir;

    @Test
    void aNodeWithATlsApiIsHeardWithItsCertificateKeyAndPort() throws Exception {
        int port;
        try (DatagramSocket probe = new DatagramSocket(0)) {
            port = probe.getLocalPort();
        }
        ThreadLocalRandom r = ThreadLocalRandom.current();
        MulticastGroup group = MulticastGroup.on(InetAddress.getByAddress(new byte[] {(byte) 239, (byte) 255, (byte) r.nextInt(1, 255), (byte) r.nextInt(1, 255)}), port);
        NodeAgent.Options quiet = NodeAgent.Options.defaults(dir.resolve("quiet"));
        NodeAgent.Options options = NodeAgent.Options.defaults(dir.resolve("node")).withListen("127.0.0.1:0", Set.of("ab".repeat(32)));
        try (BeaconListener listener = BeaconListener.start(group, Beacon.Role.NODE, new BeaconListener.Limits(16, Duration.ofSeconds(30), 50, Duration.ofMinutes(1)));
             NodeAgent unlisted = NodeAgent.start(quiet);
             NodeAgent agent = NodeAgent.start(options)) {
            assertEquals(Optional.empty(), NodeBeacons.start(Optional.of(group), unlisted, quiet, "quiet-1"), "no TLS listener, nothing to announce");
            assertEquals(Optional.empty(), NodeBeacons.start(Optional.empty(), agent, options, "edge-7"), "--no-discovery");
            try (BeaconSender sender = NodeBeacons.start(Optional.of(group), agent, options, "edge-7").orElseThrow()) {
                long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
                while (listener.heard().isEmpty()) {
                    assertTrue(System.nanoTime() < deadline, "the node's beacon never came");
                    Thread.sleep(50);
                }
                Beacon heard = listener.heard().getFirst().beacon();
                assertEquals("edge-7", heard.name());
                assertEquals(agent.port(), heard.port());
                KeyId certificateKey = KeyId.of(ServerCredentials.loadOrCreate(dir.resolve("node/tls"), "unused").certificate().getPublicKey());
                assertEquals(certificateKey, heard.key());
                // The sender counts a beacon once its send returns, which can be after the listener heard it.
                while (sender.sent() < 1) {
                    assertTrue(System.nanoTime() < deadline, "the sender never counted its beacon");
                    Thread.sleep(20);
                }
            }
            assertEquals(1, listener.heard().size(), "only the node with a TLS API was heard: " + listener.heard());
        }
    }
}
