package io.aether.http;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Fans events out to the clients of {@link Response.Events} streams. Each client has a queue of
 * {@code queueCapacity} events; {@link #publish} never blocks: a client whose queue is full has
 * fallen behind and is dropped (its connection closed, counted) rather than slowing the producer
 * or the other clients. {@link #close} ends every stream cleanly.
 *
 * <p>Thread-safe; producers may publish from any thread.
 */
public final class EventHub implements AutoCloseable {

    private final int queueCapacity;
    private final Set<Subscriber> subscribers = ConcurrentHashMap.newKeySet();
    private final AtomicLong dropped = new AtomicLong();
    private volatile boolean closed;

    public EventHub(int queueCapacity) {
        if (queueCapacity < 1 || queueCapacity > 65_536) {
            throw new IllegalArgumentException("event queue capacity must be 1..65536, got " + queueCapacity);
        }
        this.queueCapacity = queueCapacity;
    }

    /** Queues {@code event} for every client; drops each client whose queue is full. */
    public void publish(Event event) {
        for (Subscriber s : subscribers) {
            if (!s.offer(event)) {
                s.finish(Subscriber.End.DROPPED);
            }
        }
    }

    /** Clients streaming now. */
    public int subscribers() {
        return subscribers.size();
    }

    /** Clients dropped so far because they fell behind. */
    public long dropped() {
        return dropped.get();
    }

    /** Ends every stream after what is queued; later subscribers get an empty stream. */
    @Override
    public void close() {
        closed = true;
        subscribers.forEach(s -> s.finish(Subscriber.End.CLOSED));
    }

    /** A new client that first gets {@code replay}. */
    Subscriber subscribe(List<Event> replay) {
        Subscriber s = new Subscriber(queueCapacity + replay.size());
        replay.forEach(s::offer);
        subscribers.add(s);
        if (closed) {
            s.finish(Subscriber.End.CLOSED);
        }
        return s;
    }

    /** One client's queue, read by the thread that writes its stream. */
    final class Subscriber {

        enum End { CLOSED, DROPPED, GONE }

        /** What {@link #next} hands the writer. */
        sealed interface Next {
            record Send(Event event) implements Next { }

            record Heartbeat() implements Next { }

            record Finished(End why) implements Next { }
        }

        private final BlockingQueue<Next> queue;
        private volatile End end;
        private volatile Thread writer;

        private Subscriber(int capacity) {
            this.queue = new ArrayBlockingQueue<>(capacity + 1);
        }

        private boolean offer(Event event) {
            return queue.offer(new Next.Send(event));
        }

        /**
         * The next event, a heartbeat after {@code heartbeat} without one, or the end. A closed
         * stream delivers what was queued first; a dropped one stops at once.
         */
        Next next(Duration heartbeat) {
            writer = Thread.currentThread();
            if (end == End.DROPPED || end == End.GONE) {
                return new Next.Finished(end);
            }
            Next n = queue.poll();
            if (n == null && end != null) {
                return new Next.Finished(end);
            }
            if (n == null) {
                try {
                    n = queue.poll(heartbeat.toNanos(), TimeUnit.NANOSECONDS);
                } catch (InterruptedException dropped) {
                    return new Next.Finished(end != null ? end : End.GONE);
                }
            }
            return n != null ? n : new Next.Heartbeat();
        }

        /** Whether the stream was dropped for falling behind (its blocked write is then interrupted on purpose). */
        boolean dropped() {
            return end == End.DROPPED;
        }

        /**
         * Ends the stream; the first reason wins. A drop interrupts the writer, even mid-write; a
         * close lets it send what is queued, then the end.
         */
        void finish(End why) {
            synchronized (this) {
                if (end != null) {
                    return;
                }
                end = why;
            }
            subscribers.remove(this);
            switch (why) {
                case DROPPED -> {
                    dropped.incrementAndGet();
                    Thread w = writer;
                    if (w != null) {
                        w.interrupt();
                    }
                }
                // If the queue is full the writer is not waiting: it drains, then sees the end.
                case CLOSED -> queue.offer(new Next.Finished(End.CLOSED));
                case GONE -> { }
            }
        }
    }
}
