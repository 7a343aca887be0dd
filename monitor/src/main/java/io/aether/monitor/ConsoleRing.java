package io.aether.monitor;

import java.io.IOException;
import java.io.OutputStream;

/**
 * The guest's recent console output, the last {@link #capacity} bytes, for clients that attach
 * later. The guest's writes never wait for a reader: each reader follows at its own position and
 * one that falls a whole ring behind is told so and dropped.
 */
final class ConsoleRing extends OutputStream {

    private final byte[] ring;
    /** Bytes written since the start; the ring holds those from {@code total - min(total, capacity)}. */
    private long total;
    private boolean closed;

    ConsoleRing(int capacity) {
        if (capacity <= 0) throw new IllegalArgumentException("capacity: " + capacity + " is not positive");
        this.ring = new byte[capacity];
    }

    @Override
    public synchronized void write(int b) {
        ring[(int) (total % ring.length)] = (byte) b;
        total++;
        notifyAll();
    }

    @Override
    public synchronized void write(byte[] data, int offset, int length) {
        for (int i = 0; i < length; i++) ring[(int) ((total + i) % ring.length)] = data[offset + i];
        total += length;
        notifyAll();
    }

    /** Ends every reader's stream once it has read what was written. */
    @Override
    public synchronized void close() {
        closed = true;
        notifyAll();
    }

    /** Bytes the guest has written since the monitor started. */
    synchronized long total() {
        return total;
    }

    /** The position of the oldest byte still held. */
    synchronized long oldest() {
        return Math.max(0, total - ring.length);
    }

    /** Thrown to a reader whose position the ring has overwritten. */
    static final class Overrun extends IOException {
        Overrun(long lost) {
            super(lost + " bytes of console output were overwritten before this reader took them");
        }
    }

    /**
     * Waits until there is output at {@code position} or {@code millis} pass, and copies what
     * there is (at most {@code into.length} bytes) into {@code into}.
     *
     * @return the number of bytes copied: 0 when the time passed with nothing new, -1 once the
     *     ring is closed and everything was read
     * @throws Overrun if the bytes at {@code position} are gone
     */
    synchronized int read(long position, byte[] into, long millis) throws InterruptedException, Overrun {
        long deadline = System.nanoTime() + millis * 1_000_000;
        while (position == total && !closed) {
            long left = (deadline - System.nanoTime()) / 1_000_000;
            if (left <= 0) return 0;
            wait(left);
        }
        if (position < oldest()) throw new Overrun(oldest() - position);
        if (position == total) return -1;
        int n = (int) Math.min(into.length, total - position);
        for (int i = 0; i < n; i++) into[i] = ring[(int) ((position + i) % ring.length)];
        return n;
    }
}
