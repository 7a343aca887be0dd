package io.aether.sync;

import com.sun.net.httpserver.Filter;
import com.sun.net.httpserver.HttpExchange;
import java.io.FilterInputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Keeps slow or greedy peers from holding a JDK HTTP server's exchanges. The JDK's server has no
 * per-read timeout, so without this a client that sends half a request body, or stops reading a
 * response, would hold its handler for ever; one that moves a byte now and then would do the
 * same with a plain timeout. Per exchange, only time spent blocked in a read or write of its
 * body counts (a handler that computes for a long time is not a slow peer), and the exchange is
 * closed when its peer
 * <ul>
 *   <li>moves no byte for {@link Limits#stallLimit};</li>
 *   <li>moves fewer than {@link Limits#minBytesPerSecond} on average: the exchange holds a credit
 *       of {@code minBytesPerSecond x stallLimit} bytes, every byte moved adds one (up to that
 *       cap, so a fast start does not pay for a trickle later), every second blocked takes
 *       {@code minBytesPerSecond}; it is closed when the credit runs out;</li>
 *   <li>has kept it blocked for {@link Limits#ioDeadline} in all.</li>
 * </ul>
 * It also answers at once, without running the handler, when the server already runs
 * {@link Limits#maxExchanges} exchanges (503) or the peer's address {@link Limits#maxExchangesPerClient}
 * (429).
 */
public final class StallGuard extends Filter implements AutoCloseable {

    /**
     * What a peer may do.
     *
     * @param stallLimit            longest time without a byte moved
     * @param minBytesPerSecond     slowest average rate while blocked on the peer (0: no minimum)
     * @param ioDeadline            most time one exchange may spend blocked on its peer in all
     * @param maxExchanges          exchanges handled at once by the server
     * @param maxExchangesPerClient exchanges handled at once for one client address
     */
    public record Limits(Duration stallLimit, long minBytesPerSecond, Duration ioDeadline, int maxExchanges,
                         int maxExchangesPerClient) {

        /** A rate a modem would meet; a peer below it for a whole stall limit is holding the server, not using it. */
        public static final long DEFAULT_MIN_BYTES_PER_SECOND = 1024;
        public static final Duration DEFAULT_IO_DEADLINE = Duration.ofMinutes(10);
        public static final int DEFAULT_MAX_EXCHANGES = 256;
        public static final int DEFAULT_MAX_EXCHANGES_PER_CLIENT = 32;

        public Limits {
            if (stallLimit.isNegative() || stallLimit.isZero()) {
                throw new IllegalArgumentException("stall limit must be positive, got " + stallLimit);
            }
            if (minBytesPerSecond < 0) {
                throw new IllegalArgumentException("minimum rate must not be negative, got " + minBytesPerSecond);
            }
            if (ioDeadline.isNegative() || ioDeadline.isZero()) {
                throw new IllegalArgumentException("I/O deadline must be positive, got " + ioDeadline);
            }
            if (maxExchanges < 1 || maxExchangesPerClient < 1) {
                throw new IllegalArgumentException("exchange limits must be at least 1, got " + maxExchanges + " and "
                        + maxExchangesPerClient);
            }
        }

        /** The default rate, deadline and caps with {@code stallLimit}. */
        public static Limits of(Duration stallLimit) {
            return new Limits(stallLimit, DEFAULT_MIN_BYTES_PER_SECOND, DEFAULT_IO_DEADLINE, DEFAULT_MAX_EXCHANGES,
                    DEFAULT_MAX_EXCHANGES_PER_CLIENT);
        }
    }

    private final Limits limits;
    private final long limitNanos;
    private final long creditCap;
    private final ScheduledExecutorService timer;
    private final Set<Watched> live = ConcurrentHashMap.newKeySet();
    private final AtomicLong closed = new AtomicLong();
    private final AtomicLong refused = new AtomicLong();
    private final AtomicInteger running = new AtomicInteger();
    private final Map<InetAddress, AtomicInteger> perClient = new ConcurrentHashMap<>();

    /** {@link Limits#of} {@code limit}. */
    public StallGuard(Duration limit) {
        this(Limits.of(limit));
    }

    /** Checks every exchange a few times per stall limit. */
    public StallGuard(Limits limits) {
        this.limits = limits;
        this.limitNanos = limits.stallLimit().toNanos();
        this.creditCap = saturatedProduct(limits.minBytesPerSecond(), limits.stallLimit().toNanos()) / 1_000_000_000L;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "stall-guard");
            t.setDaemon(true);
            return t;
        });
        long period = Math.max(10, limits.stallLimit().toMillis() / 4);
        timer.scheduleAtFixedRate(this::sweep, period, period, TimeUnit.MILLISECONDS);
    }

    private static long saturatedProduct(long a, long b) {
        long hi = Math.multiplyHigh(a, b);
        return hi != 0 ? Long.MAX_VALUE : a * b < 0 ? Long.MAX_VALUE : a * b;
    }

    /** How many exchanges were closed because their peer stalled, trickled or ran past its deadline. */
    public long stalledExchanges() {
        return closed.get();
    }

    /** How many exchanges were answered 503 or 429 because too many were running. */
    public long refusedExchanges() {
        return refused.get();
    }

    @Override
    public String description() {
        return "closes exchanges whose peer moves no bytes for " + limits.stallLimit() + ", fewer than "
                + limits.minBytesPerSecond() + " bytes/s, or waits on its peer for more than " + limits.ioDeadline();
    }

    @Override
    public void doFilter(HttpExchange ex, Chain chain) throws IOException {
        InetSocketAddress remote = ex.getRemoteAddress();
        InetAddress client = remote == null ? null : remote.getAddress();
        AtomicInteger mine = client == null ? new AtomicInteger() : perClient.computeIfAbsent(client, _ -> new AtomicInteger());
        int all = running.incrementAndGet();
        int own = mine.incrementAndGet();
        String busy = all > limits.maxExchanges() ? "the server is busy: " + limits.maxExchanges() + " requests are running; try again later"
                : own > limits.maxExchangesPerClient() ? "too many requests at once from " + client.getHostAddress() + " (limit "
                        + limits.maxExchangesPerClient() + "); try again later"
                : null;
        try {
            if (busy == null) {
                Watched w = new Watched(ex);
                ex.setStreams(w.in(ex.getRequestBody()), w.out(ex.getResponseBody()));
                live.add(w);
                try {
                    chain.doFilter(ex);
                } finally {
                    live.remove(w);
                }
            }
        } finally {
            release(client, mine);
        }
        // A refused exchange gives its place back before its client can read the answer, so a
        // client that retries at once is not refused again by its own earlier attempt.
        if (busy != null) refuse(ex, all > limits.maxExchanges() ? 503 : 429, busy);
    }

    private void release(InetAddress client, AtomicInteger mine) {
        running.decrementAndGet();
        if (mine.decrementAndGet() == 0 && client != null) {
            perClient.remove(client, mine);
        }
    }

    private void refuse(HttpExchange ex, int status, String reason) {
        refused.incrementAndGet();
        try (ex) {
            byte[] body = (reason + "\n").getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
            ex.getResponseHeaders().set("Retry-After", "1");
            ex.sendResponseHeaders(status, body.length);
            ex.getResponseBody().write(body);
        } catch (IOException e) {
            // The client went away; nothing to tell it.
        }
    }

    private void sweep() {
        long now = System.nanoTime();
        for (Watched w : live) {
            if (w.overLimits(now) && live.remove(w)) {
                closed.incrementAndGet();
                w.stalled = true;
                // The exchange closes its connection when closing the response stream fails (see
                // Watched.out), and the closed channel ends the blocked read or write. On its own
                // thread: closing may still wait on the peer, and the sweep must go on.
                Thread.ofVirtual().name("stall-close").start(w.ex::close);
            }
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }

    /**
     * One exchange: the time its finished body reads and writes took, the bytes they moved, and
     * when the one under way (if any) began, under the exchange's lock so that the sweep sees
     * time and bytes of a call together. Only the sweep thread touches the credit.
     */
    private final class Watched {
        final HttpExchange ex;
        volatile boolean stalled;
        private long blockedSince;
        private long ioNanos;
        private long bytes;
        private long credit = creditCap;
        private long seenIo;
        private long seenBytes;

        Watched(HttpExchange ex) {
            this.ex = ex;
        }

        /** Whether the peer broke a limit by {@code now}; updates the credit. */
        boolean overLimits(long now) {
            long current;
            long io;
            long moved;
            synchronized (this) {
                current = blockedSince == 0 ? 0 : now - blockedSince;
                io = ioNanos + current;
                moved = bytes;
            }
            if (current > limitNanos || io > limits.ioDeadline().toNanos()) {
                return true;
            }
            if (limits.minBytesPerSecond() == 0) {
                return false;
            }
            long owed = saturatedProduct(limits.minBytesPerSecond(), io - seenIo) / 1_000_000_000L;
            credit = Math.min(creditCap, credit + (moved - seenBytes) - owed);
            seenIo = io;
            seenBytes = moved;
            return credit < 0;
        }

        private synchronized void enter() {
            long t = System.nanoTime();
            blockedSince = t == 0 ? 1 : t;
        }

        private synchronized void leave(long moved) {
            ioNanos += System.nanoTime() - blockedSince;
            blockedSince = 0;
            if (moved > 0) {
                bytes += moved;
            }
        }

        InputStream in(InputStream raw) {
            return new FilterInputStream(raw) {
                @Override
                public int read() throws IOException {
                    enter();
                    int b = -1;
                    try {
                        b = in.read();
                        return b;
                    } finally {
                        leave(b < 0 ? 0 : 1);
                    }
                }

                @Override
                public int read(byte[] b, int off, int len) throws IOException {
                    enter();
                    int n = 0;
                    try {
                        n = in.read(b, off, len);
                        return n;
                    } finally {
                        leave(n);
                    }
                }
            };
        }

        OutputStream out(OutputStream raw) {
            return new FilterOutputStream(raw) {
                @Override
                public void write(int b) throws IOException {
                    enter();
                    boolean done = false;
                    try {
                        out.write(b);
                        done = true;
                    } finally {
                        leave(done ? 1 : 0);
                    }
                }

                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    enter();
                    boolean done = false;
                    try {
                        out.write(b, off, len);
                        done = true;
                    } finally {
                        leave(done ? len : 0);
                    }
                }

                @Override
                public void flush() throws IOException {
                    enter();
                    try {
                        out.flush();
                    } finally {
                        leave(0);
                    }
                }

                @Override
                public void close() throws IOException {
                    if (stalled) {
                        // Ending the response politely would write to a peer that does not read;
                        // failing here makes the exchange drop the connection instead.
                        throw new IOException("the peer stalled; dropping the connection");
                    }
                    super.close();
                }
            };
        }
    }
}
