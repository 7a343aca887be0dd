package io.aether.monitor;

import java.io.IOException;
import java.nio.channels.SocketChannel;
import java.util.concurrent.DelayQueue;
import java.util.concurrent.Delayed;
import java.util.concurrent.TimeUnit;

/**
 * Closes control connections whose time is up, with one platform thread for all of them, started
 * by the first deadline and ended by {@link #close}. A virtual thread per deadline would start the
 * JDK's virtual-thread scheduler in every monitor a client ever reached: its carrier threads, its
 * unparker and the master poller, five threads and ~35 classes kept for the process's life
 * (docs/BENCHMARKS.md (d)).
 */
final class ConnectionDeadlines implements AutoCloseable {

    private final DelayQueue<Deadline> pending = new DelayQueue<>();
    private Thread watchdog;
    private boolean closed;

    /** A connection's deadline; {@link #cancel} once its work is done in time. */
    static final class Deadline implements Delayed {
        private final ConnectionDeadlines owner;
        private final SocketChannel channel;
        private final long atNanos;

        private Deadline(ConnectionDeadlines owner, SocketChannel channel, long atNanos) {
            this.owner = owner;
            this.channel = channel;
            this.atNanos = atNanos;
        }

        void cancel() {
            owner.pending.remove(this);
        }

        @Override
        public long getDelay(TimeUnit unit) {
            return unit.convert(atNanos - System.nanoTime(), TimeUnit.NANOSECONDS);
        }

        @Override
        public int compareTo(Delayed other) {
            return Long.compare(atNanos, ((Deadline) other).atNanos);
        }
    }

    /** Closes {@code channel} in {@code millis} unless the deadline is cancelled first. */
    Deadline closeAfter(SocketChannel channel, long millis) {
        Deadline deadline = new Deadline(this, channel, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis));
        synchronized (this) {
            if (closed) {
                closeQuietly(channel);
                return deadline;
            }
            if (watchdog == null) watchdog = Thread.ofPlatform().name("control-deadlines").daemon().start(this::closeDue);
        }
        pending.add(deadline);
        return deadline;
    }

    private void closeDue() {
        try {
            while (true) closeQuietly(pending.take().channel);
        } catch (InterruptedException e) {
            // Closed.
        }
    }

    /** Ends the thread; the connections still pending are the server's to close. */
    @Override
    public synchronized void close() {
        closed = true;
        if (watchdog != null) watchdog.interrupt();
    }

    private static void closeQuietly(SocketChannel channel) {
        try {
            channel.close();
        } catch (IOException e) {
            // Closing a connection that failed: nothing left to do.
        }
    }
}
