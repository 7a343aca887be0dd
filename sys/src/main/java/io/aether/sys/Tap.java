package io.aether.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/**
 * A TAP network interface ({@code /dev/net/tun}, {@code TUNSETIFF}): Ethernet frames in and
 * out, without the packet-information header. Opening an existing persistent TAP (made with
 * {@code ip tuntap add NAME mode tap}) attaches to it; otherwise the kernel creates one, which
 * needs CAP_NET_ADMIN.
 */
public final class Tap implements AutoCloseable {

    private static final long TUNSETIFF = 0x400454CAL; // _IOW('T', 202, int)
    private static final short IFF_TAP = 0x0002;
    private static final short IFF_NO_PI = 0x1000;
    private static final int IFNAMSIZ = 16;

    private final String name;
    private final int fd;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment rxBuffer = arena.allocate(65536, 8);
    private final MemorySegment txBuffer = arena.allocate(65536, 8);

    private Tap(String name, int fd) {
        this.name = name;
        this.fd = fd;
    }

    /** Opens (non-blocking) the TAP interface {@code name}. */
    public static Tap open(String name) {
        byte[] n = name.getBytes(StandardCharsets.US_ASCII);
        if (n.length == 0 || n.length >= IFNAMSIZ || name.contains("/")) {
            throw new IllegalArgumentException("not an interface name: '" + name + "' (1 to 15 characters)");
        }
        int fd = Libc.open("/dev/net/tun", Libc.O_RDWR | Libc.O_NONBLOCK | Libc.O_CLOEXEC, 0);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ifreq = a.allocate(40, 8);
            MemorySegment.copy(n, 0, ifreq, ValueLayout.JAVA_BYTE, 0, n.length);
            ifreq.set(ValueLayout.JAVA_SHORT, IFNAMSIZ, (short) (IFF_TAP | IFF_NO_PI));
            Libc.ioctl("TUNSETIFF " + name, fd, TUNSETIFF, ifreq);
        } catch (RuntimeException e) {
            Libc.close(fd);
            throw e;
        }
        return new Tap(name, fd);
    }

    public String name() {
        return name;
    }

    /** Waits up to {@code timeoutMillis} for a frame to read. */
    public boolean awaitReadable(int timeoutMillis) {
        return Libc.pollIn(fd, timeoutMillis);
    }

    /** Reads one frame into {@code into} (from its position); returns its length, 0 when none is waiting. */
    public synchronized int read(java.nio.ByteBuffer into) {
        long n = Libc.read(fd, rxBuffer, rxBuffer.byteSize());
        if (n <= 0) return 0;
        int length = (int) Math.min(n, into.remaining());
        into.put(rxBuffer.asSlice(0, length).asByteBuffer());
        return length;
    }

    /** Writes one frame (the buffer's remaining bytes); false when the interface cannot take it now. */
    public synchronized boolean write(java.nio.ByteBuffer frame) {
        int length = Math.min(frame.remaining(), (int) txBuffer.byteSize());
        txBuffer.asSlice(0, length).asByteBuffer().put(frame.duplicate().limit(frame.position() + length));
        return Libc.write(fd, txBuffer, length) >= 0;
    }

    @Override
    public void close() {
        Libc.close(fd);
        arena.close();
    }
}
