package io.aether.discovery;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.aether.security.KeyId;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The listener's policy on datagrams, with a clock the test moves: no sockets. */
@Timeout(10)
class BeaconListenerTest {

    private static final Instant T0 = Instant.parse("2026-12-06T12:00:00Z");
    private final AtomicReference<Instant> now = new AtomicReference<>(T0);
    private final BeaconListener.Limits limits = new BeaconListener.Limits(3, Duration.ofSeconds(30), 2, Duration.ofMinutes(10));
    private final BeaconListener listener = new BeaconListener(Beacon.Role.NODE, limits, now::get, null);

    private static KeyId key(int n) {
        return new KeyId("%064x".formatted(n));
    }

    private static InetAddress address(int n) throws Exception {
        return InetAddress.getByAddress(new byte[] {10, 0, 0, (byte) n});
    }

    private void hear(Beacon b, int from) throws Exception {
        listener.accept(ByteBuffer.wrap(b.encode()), address(from));
    }

    private Beacon node(int n) {
        return new Beacon(Beacon.Role.NODE, "node-" + n, key(n), 7000 + n, now.get());
    }

    @Test
    void theLatestBeaconOfEachKeyIsKeptWithWhenItWasFirstHeard() throws Exception {
        hear(node(1), 1);
        now.set(T0.plusSeconds(5));
        hear(new Beacon(Beacon.Role.NODE, "renamed", key(1), 7100, now.get()), 9);
        List<BeaconListener.Heard> heard = listener.heard();
        assertEquals(1, heard.size());
        assertEquals("renamed", heard.get(0).beacon().name());
        assertEquals("/10.0.0.9:7100", heard.get(0).api().toString());
        assertEquals(T0, heard.get(0).firstHeard());
        assertEquals(T0.plusSeconds(5), heard.get(0).lastHeard());
    }

    @Test
    void aQuietSenderExpires() throws Exception {
        hear(node(1), 1);
        now.set(T0.plusSeconds(20));
        hear(node(2), 2);
        now.set(T0.plusSeconds(31));
        assertEquals(List.of("node-2"), names());
        now.set(T0.plusSeconds(51));
        assertEquals(List.of(), names());
    }

    @Test
    void aFullTableKeepsWhoItKnowsAndDropsNewcomersUntilSomeoneExpires() throws Exception {
        for (int n = 1; n <= 5; n++) {
            hear(node(n), n);
        }
        assertEquals(List.of("node-1", "node-2", "node-3"), names());
        assertEquals(2, listener.counters().tableFull());
        hear(node(2), 2); // a known sender still refreshes in a full table
        assertEquals(4, listener.counters().accepted());
        now.set(T0.plusSeconds(31));
        hear(node(4), 4);
        assertEquals(List.of("node-4"), names());
    }

    @Test
    void oneSourceIsHeardAtMostTheLimitPerSecond() throws Exception {
        for (int n = 1; n <= 3; n++) {
            hear(node(n), 7);
        }
        assertEquals(List.of("node-1", "node-2"), names());
        assertEquals(1, listener.counters().rateLimited());
        hear(node(3), 8); // another source is not held back
        now.set(T0.plusSeconds(1));
        hear(node(1), 7); // a new second, a new allowance
        assertEquals(new BeaconListener.Counters(4, 0, 1, 0, 0, 0), listener.counters());
    }

    @Test
    void junkOtherRolesAndFarClocksAreCountedAndDropped() throws Exception {
        listener.accept(ByteBuffer.wrap(new byte[] {'G', 'E', 'T', ' '}), address(1));
        hear(new Beacon(Beacon.Role.CONTROLLER, "ctl", key(9), 1, now.get()), 2);
        hear(new Beacon(Beacon.Role.NODE, "late", key(8), 1, T0.minus(Duration.ofMinutes(11))), 3);
        hear(new Beacon(Beacon.Role.NODE, "early", key(7), 1, T0.plus(Duration.ofMinutes(11))), 4);
        assertEquals(List.of(), names());
        assertEquals(new BeaconListener.Counters(0, 1, 0, 0, 2, 1), listener.counters());
        assertEquals("10.0.0.1: magic: not an Aether beacon", listener.lastMalformed());
    }

    private List<String> names() {
        return listener.heard().stream().map(h -> h.beacon().name()).toList();
    }
}
