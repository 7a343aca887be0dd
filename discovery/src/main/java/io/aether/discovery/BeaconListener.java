package io.aether.discovery;

import io.aether.security.KeyId;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Hears the beacons of one role on a multicast group and keeps the latest from each key, for as
 * long as its sender keeps announcing.
 *
 * <p>Anyone on the network can send to the group, so everything is bounded: a datagram that is
 * not a well-formed beacon is counted and dropped; each source address may be heard a few times a
 * second; the table holds at most {@link Limits#maxEntries} senders (a newcomer to a full table
 * is dropped, so a flood cannot push out the senders already known); a beacon whose clock is far
 * from ours is dropped; an entry expires when its sender has been quiet for {@link Limits#expiry}.
 */
public final class BeaconListener implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(BeaconListener.class.getName());
    /** Source addresses tracked per second for the rate limit; more in one second are dropped. */
    static final int MAX_SOURCES_PER_SECOND = 4096;

    /**
     * @param maxEntries senders kept at most
     * @param expiry how long a sender stays listed after its last beacon
     * @param perSourcePerSecond beacons accepted from one address in one second
     * @param maxClockSkew how far a beacon's time may be from this machine's
     */
    public record Limits(int maxEntries, Duration expiry, int perSourcePerSecond, Duration maxClockSkew) {
        public static final Limits DEFAULTS = new Limits(256, Duration.ofSeconds(30), 5, Duration.ofMinutes(10));

        public Limits {
            if (maxEntries < 1 || perSourcePerSecond < 1 || expiry.isNegative() || expiry.isZero() || maxClockSkew.isNegative()) {
                throw new IllegalArgumentException("discovery limits must be positive: " + maxEntries + " entries, "
                        + expiry + " expiry, " + perSourcePerSecond + "/s per source, " + maxClockSkew + " skew");
            }
        }
    }

    /** A sender as last heard. */
    public record Heard(Beacon beacon, InetAddress from, Instant firstHeard, Instant lastHeard) {
        /** Where its API is: the datagram's source address and the beacon's port. */
        public InetSocketAddress api() {
            return new InetSocketAddress(from, beacon.port());
        }
    }

    /** What the listener has done with what it received. */
    public record Counters(long accepted, long malformed, long rateLimited, long tableFull, long clockSkewed, long otherRole) { }

    private final Beacon.Role role;
    private final Limits limits;
    private final InstantSource clock;
    private final DatagramChannel channel;
    private final Map<KeyId, Heard> table = new LinkedHashMap<>();
    private final Map<InetAddress, Integer> thisSecond = new HashMap<>();
    private long second = Long.MIN_VALUE;
    private long accepted;
    private long malformed;
    private long rateLimited;
    private long tableFull;
    private long clockSkewed;
    private long otherRole;
    private String lastMalformed = "";

    BeaconListener(Beacon.Role role, Limits limits, InstantSource clock, DatagramChannel channel) {
        this.role = Objects.requireNonNull(role, "role");
        this.limits = Objects.requireNonNull(limits, "limits");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.channel = channel;
    }

    /** Joins {@code group} and listens for beacons of {@code role} on a daemon thread. */
    public static BeaconListener start(MulticastGroup group, Beacon.Role role, Limits limits) throws IOException {
        DatagramChannel channel = DatagramChannel.open(StandardProtocolFamily.INET);
        try {
            // Several listeners on one machine (a controller and a test, say) share the port.
            channel.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            channel.bind(new InetSocketAddress(group.port()));
            channel.join(group.address(), group.networkInterface());
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw new IOException("discovery: cannot listen on " + group + ": " + e.getMessage(), e);
        }
        BeaconListener listener = new BeaconListener(role, limits, InstantSource.system(), channel);
        Thread t = new Thread(listener::receiveLoop, "beacon-listener");
        t.setDaemon(true);
        t.start();
        return listener;
    }

    private void receiveLoop() {
        // One byte more than the largest beacon, so that an oversized datagram is seen as such.
        ByteBuffer buffer = ByteBuffer.allocate(Beacon.MAX_BYTES + 1);
        while (channel.isOpen()) {
            try {
                buffer.clear();
                SocketAddress from = channel.receive(buffer);
                buffer.flip();
                if (from instanceof InetSocketAddress source) {
                    accept(buffer, source.getAddress());
                }
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                LOG.log(Level.WARNING, "discovery: receiving a beacon failed: " + e.getMessage());
            }
        }
    }

    /** Takes one datagram from {@code from}: the whole of the listener's policy, without sockets. */
    synchronized void accept(ByteBuffer datagram, InetAddress from) {
        Instant now = clock.instant();
        if (overRate(from, now)) {
            rateLimited++;
            return;
        }
        Beacon beacon;
        try {
            beacon = Beacon.decode(datagram);
        } catch (MalformedBeaconException e) {
            malformed++;
            lastMalformed = from.getHostAddress() + ": " + e.getMessage();
            return;
        }
        if (beacon.role() != role) {
            otherRole++;
            return;
        }
        if (Duration.between(beacon.sentAt(), now).abs().compareTo(limits.maxClockSkew()) > 0) {
            clockSkewed++;
            return;
        }
        Heard known = table.get(beacon.key());
        if (known == null) {
            expire(now);
            if (table.size() >= limits.maxEntries()) {
                tableFull++;
                return;
            }
        }
        table.put(beacon.key(), new Heard(beacon, from, known == null ? now : known.firstHeard(), now));
        accepted++;
    }

    private boolean overRate(InetAddress from, Instant now) {
        long s = now.getEpochSecond();
        if (s != second) {
            second = s;
            thisSecond.clear();
        }
        Integer count = thisSecond.get(from);
        if (count == null && thisSecond.size() >= MAX_SOURCES_PER_SECOND) {
            return true;
        }
        int next = count == null ? 1 : count + 1;
        thisSecond.put(from, next);
        return next > limits.perSourcePerSecond();
    }

    private void expire(Instant now) {
        table.values().removeIf(h -> Duration.between(h.lastHeard(), now).compareTo(limits.expiry()) > 0);
    }

    /** The senders heard and not yet expired, by name then key. */
    public synchronized List<Heard> heard() {
        expire(clock.instant());
        List<Heard> list = new ArrayList<>(table.values());
        list.sort(Comparator.comparing((Heard h) -> h.beacon().name()).thenComparing(h -> h.beacon().key().hex()));
        return list;
    }

    public synchronized Counters counters() {
        return new Counters(accepted, malformed, rateLimited, tableFull, clockSkewed, otherRole);
    }

    /** The source and reason of the last datagram dropped as malformed, or empty. */
    public synchronized String lastMalformed() {
        return lastMalformed;
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            LOG.log(Level.FINE, "closing the beacon listener", e);
        }
    }
}
