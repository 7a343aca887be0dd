package io.aether.sync;

import com.sun.net.httpserver.Filter;
import com.sun.net.httpserver.HttpExchange;
import java.io.FilterInputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Closes an exchange whose peer stops moving bytes. The JDK's HTTP server has no per-read
 * timeout, so without this a client that sends half a request body, or stops reading a
 * response, would hold its handler (and in {@code serve-repo} the repository's shared lock,
 * which keeps {@code gc} waiting) for ever. Only time spent blocked in a read or write of the
 * exchange's body counts: a handler that computes for a long time is not a stalled peer.
 */
public final class StallGuard extends Filter implements AutoCloseable {

    private final long limitNanos;
    private final ScheduledExecutorService timer;
    private final Set<Watched> live = ConcurrentHashMap.newKeySet();
    private final AtomicLong closed = new AtomicLong();

    /** Checks every exchange a few times per {@code limit}. */
    public StallGuard(Duration limit) {
        if (limit.isNegative() || limit.isZero()) {
            throw new IllegalArgumentException("stall limit must be positive, got " + limit);
        }
        this.limitNanos = limit.toNanos();
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "stall-guard");
            t.setDaemon(true);
            return t;
        });
        long period = Math.max(10, limit.toMillis() / 4);
        timer.scheduleAtFixedRate(this::sweep, period, period, TimeUnit.MILLISECONDS);
    }

    /** How many exchanges were closed because their peer stalled. */
    public long stalledExchanges() {
        return closed.get();
    }

    @Override
    public String description() {
        return "closes exchanges whose peer moves no bytes for " + Duration.ofNanos(limitNanos);
    }

    @Override
    public void doFilter(HttpExchange ex, Chain chain) throws IOException {
        Watched w = new Watched(ex);
        ex.setStreams(w.in(ex.getRequestBody()), w.out(ex.getResponseBody()));
        live.add(w);
        try {
            chain.doFilter(ex);
        } finally {
            live.remove(w);
        }
    }

    private void sweep() {
        long now = System.nanoTime();
        for (Watched w : live) {
            long since = w.blockedSince;
            if (since != 0 && now - since > limitNanos && live.remove(w)) {
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

    /** One exchange; {@code blockedSince} is non-zero while a body read or write is under way. */
    private static final class Watched {
        final HttpExchange ex;
        volatile long blockedSince;
        volatile boolean stalled;

        Watched(HttpExchange ex) {
            this.ex = ex;
        }

        private void enter() {
            long t = System.nanoTime();
            blockedSince = t == 0 ? 1 : t;
        }

        private void leave() {
            blockedSince = 0;
        }

        InputStream in(InputStream raw) {
            return new FilterInputStream(raw) {
                @Override
                public int read() throws IOException {
                    enter();
                    try {
                        return in.read();
                    } finally {
                        leave();
                    }
                }

                @Override
                public int read(byte[] b, int off, int len) throws IOException {
                    enter();
                    try {
                        return in.read(b, off, len);
                    } finally {
                        leave();
                    }
                }
            };
        }

        OutputStream out(OutputStream raw) {
            return new FilterOutputStream(raw) {
                @Override
                public void write(int b) throws IOException {
                    enter();
                    try {
                        out.write(b);
                    } finally {
                        leave();
                    }
                }

                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    enter();
                    try {
                        out.write(b, off, len);
                    } finally {
                        leave();
                    }
                }

                @Override
                public void flush() throws IOException {
                    enter();
                    try {
                        out.flush();
                    } finally {
                        leave();
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
