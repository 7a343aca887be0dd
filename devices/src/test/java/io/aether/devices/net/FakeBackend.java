package io.aether.devices.net;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/** A network backend in memory: frames queued for the guest, frames the guest sent. */
final class FakeBackend implements NetBackend {

    private final Deque<byte[]> incoming = new ArrayDeque<>();
    private final List<byte[]> sent = new ArrayList<>();
    private int rxReadyCalls;
    private int receiveCalls;
    boolean failSend;

    synchronized void offer(byte[] frame) {
        incoming.add(frame);
    }

    synchronized int waiting() {
        return incoming.size();
    }

    synchronized List<byte[]> sent() {
        return List.copyOf(sent);
    }

    synchronized int rxReadyCalls() {
        return rxReadyCalls;
    }

    synchronized int receiveCalls() {
        return receiveCalls;
    }

    @Override
    public synchronized void send(ByteBuffer frame) throws IOException {
        if (failSend) throw new IOException("tap down");
        byte[] b = new byte[frame.remaining()];
        frame.get(b);
        sent.add(b);
    }

    @Override
    public synchronized int receive(ByteBuffer into) {
        receiveCalls++;
        byte[] f = incoming.poll();
        if (f == null) return 0;
        into.put(f);
        return f.length;
    }

    @Override
    public synchronized void rxReady() {
        rxReadyCalls++;
    }
}
