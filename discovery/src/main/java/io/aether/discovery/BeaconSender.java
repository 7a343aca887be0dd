package io.aether.discovery;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Announces one sender at an interval, with a jitter of a fifth either way so that many machines
 * started together do not beacon in step. The beacon is asked for each time, so its time is fresh.
 */
public final class BeaconSender implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(BeaconSender.class.getName());

    private final DatagramChannel channel;
    private final InetSocketAddress target;
    private final Supplier<Beacon> beacon;
    private final long intervalMillis;
    private final ScheduledExecutorService timer;
    private final AtomicLong sent = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private boolean failing; // only the timer thread reads and writes it

    private BeaconSender(DatagramChannel channel, MulticastGroup group, Supplier<Beacon> beacon, Duration interval) {
        this.channel = channel;
        this.target = new InetSocketAddress(group.address(), group.port());
        this.beacon = beacon;
        this.intervalMillis = interval.toMillis();
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "beacon-sender");
            t.setDaemon(true);
            return t;
        });
    }

    /** Starts announcing at once, then every {@code interval} (at least 100 ms). */
    public static BeaconSender start(MulticastGroup group, Supplier<Beacon> beacon, Duration interval) throws IOException {
        if (interval.toMillis() < 100) {
            throw new IllegalArgumentException("beacon interval: " + interval.toMillis() + " ms is below 100 ms");
        }
        DatagramChannel channel = DatagramChannel.open(StandardProtocolFamily.INET);
        try {
            channel.setOption(StandardSocketOptions.IP_MULTICAST_IF, group.networkInterface());
            channel.setOption(StandardSocketOptions.IP_MULTICAST_TTL, 1);
            // Listeners on this machine (a controller beside its node) hear it too.
            channel.setOption(StandardSocketOptions.IP_MULTICAST_LOOP, true);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
        BeaconSender sender = new BeaconSender(channel, group, beacon, interval);
        sender.schedule(0);
        return sender;
    }

    private void schedule(long delayMillis) {
        timer.schedule(this::announce, delayMillis, TimeUnit.MILLISECONDS);
    }

    private void announce() {
        try {
            channel.send(ByteBuffer.wrap(beacon.get().encode()), target);
            sent.incrementAndGet();
            failing = false;
        } catch (IOException | RuntimeException e) {
            failed.incrementAndGet();
            // A network that is down now may be up at the next beacon: say so once per failing streak.
            if (!failing) {
                LOG.log(Level.WARNING, "discovery: a beacon to " + target + " failed: " + e.getMessage());
            }
            failing = true;
        }
        if (channel.isOpen()) {
            long jitter = intervalMillis / 5;
            schedule(intervalMillis + ThreadLocalRandom.current().nextLong(-jitter, jitter + 1));
        }
    }

    /** Beacons sent so far. */
    public long sent() {
        return sent.get();
    }

    /** Beacons that could not be sent. */
    public long failed() {
        return failed.get();
    }

    @Override
    public void close() {
        timer.shutdownNow();
        try {
            channel.close();
        } catch (IOException e) {
            LOG.log(Level.FINE, "closing the beacon channel", e);
        }
    }
}
