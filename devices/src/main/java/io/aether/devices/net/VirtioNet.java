package io.aether.devices.net;

import io.aether.common.MacAddress;
import io.aether.devices.ratelimit.Throttle;
import io.aether.memory.GuestMemory;
import io.aether.memory.GuestMemoryException;
import io.aether.snapshot.SnapshotException;
import io.aether.snapshot.StateReader;
import io.aether.snapshot.StateWriter;
import io.aether.virtio.DescriptorChain;
import io.aether.virtio.VirtioDevice;
import io.aether.virtio.VirtioInterrupt;
import io.aether.virtio.Virtqueue;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Objects;

/**
 * A virtio network device (virtio 1.2, 5.1) over a {@link NetBackend}: one receive queue (0) and
 * one transmit queue (1), no offloads, no mergeable receive buffers, no control queue. Every
 * buffer starts with the 12-byte {@code virtio_net_hdr} of VERSION_1 (5.1.6).
 *
 * <p>Transmit: each chain is header plus frame, all device-readable; the header is skipped (no
 * offloads were offered) and the frame, 1 to {@value #MAX_FRAME} bytes, is sent. Anything else is
 * counted and completed with 0 bytes.
 *
 * <p>Receive: a frame is taken from the backend only when the guest has a receive chain for it,
 * so frames wait in the backend (not here, and are not dropped) while the guest is slow. A frame
 * larger than the guest's chain is dropped and counted and the chain used for the next frame.
 * {@link #processRx()} handles at most {@value #RX_BATCH} frames or chains, dropped ones
 * included, so that a flood of frames the guest cannot take does not hold the device's lock.
 * When it stops for want of guest buffers the device is <em>stalled</em> ({@link #rxStalled()});
 * a notification on the receive queue then resumes and, once the backend is drained, clears the
 * stall and calls {@link NetBackend#rxReady()}. Both happen under the device's lock, so whoever
 * watches the backend asks {@link #rxStalled()} rather than remembering what
 * {@link #processRx()} returned: a notification may come between that return and its use.
 *
 * <p>Each direction may have a {@link Throttle} (frames and bytes). A transmit chain over the
 * budget stays in its queue until the throttle's retry; receive stops, as if stalled, while the
 * receive budget is spent (a frame's size is known only once it is taken from the backend, so
 * it is charged then) and its retry resumes it, calling {@link NetBackend#rxReady()}.
 *
 * <p>Offers MAC, STATUS (link up) and, when {@link Options#mtu()} is set, MTU.
 */
public final class VirtioNet implements VirtioDevice {

    public static final int DEVICE_TYPE = 1;
    /** {@code virtio_net_hdr} with VERSION_1 (5.1.6): flags, gso_type, hdr_len, gso_size, csum_start, csum_offset, num_buffers. */
    public static final int HEADER_BYTES = 12;
    /** The largest frame carried: 65535 bytes of payload plus an Ethernet header with a VLAN tag and a bit to spare. */
    public static final int MAX_FRAME = 65550;
    /** Frames and chains handled (delivered, dropped or refused) per {@link #processRx()} call, so vCPU accesses are not held off long. */
    static final int RX_BATCH = 256;

    static final int RX_QUEUE = 0;
    static final int TX_QUEUE = 1;

    static final long F_MTU = 1L << 3;
    static final long F_MAC = 1L << 5;
    static final long F_STATUS = 1L << 16;
    static final int S_LINK_UP = 1;
    static final int CONFIG_BYTES = 12;

    /**
     * How to present the device.
     *
     * @param mac the guest's address
     * @param mtu offered with VIRTIO_NET_F_MTU when from 68 to 65535; 0 offers none
     * @param queueSize both queues' maximum size, a power of two from 2 to 32768
     */
    public record Options(MacAddress mac, int mtu, int queueSize) {

        public static final int DEFAULT_QUEUE_SIZE = 256;

        public Options {
            Objects.requireNonNull(mac, "mac");
            if (mtu != 0 && (mtu < 68 || mtu > 65535)) {
                throw new IllegalArgumentException("network MTU must be 0 (not offered) or from 68 to 65535: " + mtu);
            }
            Virtqueue.checkMaxSize("network queue size", 2, queueSize);
        }

        /** No MTU offered, 256-entry queues. */
        public static Options of(MacAddress mac) {
            return new Options(mac, 0, DEFAULT_QUEUE_SIZE);
        }
    }

    /**
     * Counters.
     *
     * @param rxPackets frames given to the guest
     * @param rxBytes their bytes (without the virtio header)
     * @param rxDropped frames taken from the backend but not delivered: the guest's buffer was too
     *     small, or its memory refused the copy
     * @param rxErrors backend receive failures
     * @param txPackets frames sent
     * @param txBytes their bytes
     * @param txDropped frames not sent: a malformed chain or a backend failure
     * @param txErrors backend send failures
     * @param faults malformed chains on either queue
     */
    public record Counters(long rxPackets, long rxBytes, long rxDropped, long rxErrors, long txPackets, long txBytes,
                           long txDropped, long txErrors, long faults, long rxThrottled, long txThrottled) {
    }

    private final NetBackend backend;
    private final Options options;
    private final Throttle rxThrottle;
    private final Throttle txThrottle;
    private final ByteBuffer rxFrame = ByteBuffer.allocateDirect(MAX_FRAME);
    private final ByteBuffer txFrame = ByteBuffer.allocateDirect(MAX_FRAME);

    private Virtqueue rx;
    private Virtqueue tx;
    private VirtioInterrupt interrupt;
    private boolean rxStalled = true;

    private long rxPackets;
    private long rxBytes;
    private long rxDropped;
    private long rxErrors;
    private long txPackets;
    private long txBytes;
    private long txDropped;
    private long txErrors;
    private long faults;

    public VirtioNet(NetBackend backend, Options options) {
        this(backend, options, Throttle.NONE, Throttle.NONE);
    }

    /** A device whose frames to the guest pass {@code rxThrottle} and from it {@code txThrottle}. */
    public VirtioNet(NetBackend backend, Options options, Throttle rxThrottle, Throttle txThrottle) {
        this.backend = Objects.requireNonNull(backend, "backend");
        this.options = Objects.requireNonNull(options, "options");
        this.rxThrottle = Objects.requireNonNull(rxThrottle, "rxThrottle");
        this.txThrottle = Objects.requireNonNull(txThrottle, "txThrottle");
    }

    public Options options() {
        return options;
    }

    /**
     * The device's own state beside its transport's: what the guest was shown, which a restored
     * device must match, and whether receive was stalled. Frames wait in the backend, never here,
     * and transmit is served whole under the lock, so no frame is in flight.
     *
     * @param rxStalled whether receive waits for a notification on the receive queue; a running
     *     device that was not stalled must be polled again after a restore
     */
    public record State(Options options, boolean rxStalled) {

        public State {
            Objects.requireNonNull(options, "options");
        }

        /** Writes the fields in the order {@link #read} takes them. */
        public void write(StateWriter out) {
            out.i64(options.mac().value()).i32(options.mtu()).i32(options.queueSize()).bool(rxStalled);
        }

        public static State read(StateReader in) throws SnapshotException {
            long mac = in.i64("mac");
            int mtu = in.i32("mtu");
            int queueSize = in.i32("queueSize");
            boolean rxStalled = in.bool("rxStalled");
            return in.build(() -> new State(new Options(new MacAddress(mac), mtu, queueSize), rxStalled));
        }
    }

    /** The device's state, taken under its lock. */
    public synchronized State state() {
        return new State(options, rxStalled);
    }

    /**
     * Restores the receive state after the transport's restore started the device again.
     *
     * @throws IllegalArgumentException naming the field, if the options differ from this device's
     *     or receive was running on a device that is not; the device is then unchanged
     */
    public synchronized void restore(State state) {
        if (!state.options().equals(options)) {
            throw new IllegalArgumentException("options: the snapshot's " + state.options() + " differ from this device's " + options);
        }
        if (!state.rxStalled() && interrupt == null) {
            throw new IllegalArgumentException("rxStalled: receive was running, but the device is not started");
        }
        rxStalled = state.rxStalled();
    }

    public synchronized Counters counters() {
        return new Counters(rxPackets, rxBytes, rxDropped, rxErrors, txPackets, txBytes, txDropped, txErrors, faults,
                rxThrottle.throttled(), txThrottle.throttled());
    }

    @Override
    public int deviceType() {
        return DEVICE_TYPE;
    }

    @Override
    public long deviceFeatures() {
        return F_MAC | F_STATUS | (options.mtu() != 0 ? F_MTU : 0);
    }

    @Override
    public int queueCount() {
        return 2;
    }

    @Override
    public int queueMaxSize(int index) {
        return options.queueSize();
    }

    @Override
    public int configSize() {
        return CONFIG_BYTES;
    }

    @Override
    public void readConfig(int offset, byte[] data) {
        // struct virtio_net_config (5.1.4): mac[6], status, max_virtqueue_pairs, mtu.
        byte[] config = new byte[CONFIG_BYTES];
        System.arraycopy(options.mac().octets(), 0, config, 0, 6);
        config[6] = S_LINK_UP;
        config[8] = 1;
        config[10] = (byte) options.mtu();
        config[11] = (byte) (options.mtu() >>> 8);
        System.arraycopy(config, offset, data, 0, data.length);
    }

    @Override
    public synchronized void activate(GuestMemory memory, long features, List<Virtqueue> queues, VirtioInterrupt interrupt) {
        this.rx = queues.get(RX_QUEUE);
        this.tx = queues.get(TX_QUEUE);
        this.interrupt = interrupt;
        this.rxStalled = true;
    }

    @Override
    public synchronized void reset() {
        rx = null;
        tx = null;
        interrupt = null;
        rxStalled = true;
    }

    @Override
    public synchronized void queueNotify(int index) {
        if (interrupt == null) return;
        if (index == TX_QUEUE) {
            processTx();
        } else if (index == RX_QUEUE) {
            boolean wasStalled = rxStalled;
            if (!processRx() && wasStalled) backend.rxReady();
        }
    }

    /**
     * Whether receive is stalled: the guest had no receive buffer when {@link #processRx()} last
     * looked (or the device is not running). A receive-queue notification that resumes the device
     * clears it and calls {@link NetBackend#rxReady()}; until then there is no point in calling
     * {@link #processRx()}.
     */
    public synchronized boolean rxStalled() {
        return rxStalled;
    }

    /**
     * Moves waiting frames from the backend into the guest's receive buffers, at most
     * {@value #RX_BATCH} frames or chains, dropped and refused ones included; the monitor calls
     * it when the backend has frames and {@link #rxStalled()} is false.
     *
     * @return {@code true} if it stopped because the guest has no receive buffer (or the device is
     *     not running); {@code false} if the backend had no more frames or a batch was handled
     *     (call again while it has frames). The state may change as soon as this returns: watchers
     *     of the backend ask {@link #rxStalled()}.
     */
    public synchronized boolean processRx() {
        if (interrupt == null) {
            rxStalled = true;
            return true;
        }
        try {
            // Every pass takes a chain and either a frame or the chain's refusal: all count, since
            // a frame dropped for a short chain costs as much as one delivered.
            for (int handled = 0; handled < RX_BATCH; handled++) {
                DescriptorChain chain = rx.pop();
                if (chain == null) {
                    rxStalled = true;
                    return true;
                }
                if (chain.readableLength() != 0 || chain.writableLength() < HEADER_BYTES) {
                    faults++;
                    rx.addUsed(chain, 0);
                    continue;
                }
                // A frame's bytes are known only once it is taken: its operation is taken now, its
                // bytes after (so a bytes budget in debt holds receive back), and no frame gives the operation back.
                if (!rxThrottle.admit(0, 1, () -> queueNotify(RX_QUEUE))) {
                    rx.undoPop(chain);
                    rxStalled = true;
                    return true;
                }
                rxFrame.clear();
                int length;
                try {
                    length = backend.receive(rxFrame);
                } catch (IOException e) {
                    rxErrors++;
                    length = 0;
                }
                if (length <= 0 || length > MAX_FRAME) {
                    if (length != 0) rxErrors++; // a backend bug: treat as no frame
                    rxThrottle.charge(0, -1);
                    rx.undoPop(chain);
                    rxStalled = false;
                    return false;
                }
                rxThrottle.charge(length, 0);
                if (length > chain.writableLength() - HEADER_BYTES) {
                    rxDropped++;
                    rx.undoPop(chain); // the chain is fine: keep it for the next frame
                    continue;
                }
                if (!deliver(chain, length)) {
                    faults++;
                    rx.addUsed(chain, 0);
                }
            }
            rxStalled = false;
            return false;
        } finally {
            interrupt.usedBuffers(RX_QUEUE);
        }
    }

    private boolean deliver(DescriptorChain chain, int length) {
        byte[] header = new byte[HEADER_BYTES];
        header[10] = 1; // num_buffers: one chain holds the whole frame
        try {
            chain.write(0, header, 0, HEADER_BYTES);
            MemorySegment frame = MemorySegment.ofBuffer(rxFrame.clear()); // the frame starts at index 0
            long done = 0;
            for (MemorySegment target : chain.writableSegments(HEADER_BYTES, length)) {
                MemorySegment.copy(frame, done, target, 0, target.byteSize());
                done += target.byteSize();
            }
        } catch (GuestMemoryException e) {
            rxDropped++;
            return false;
        }
        rx.addUsed(chain, HEADER_BYTES + (long) length);
        rxPackets++;
        rxBytes += length;
        return true;
    }

    private void processTx() {
        for (DescriptorChain chain; (chain = tx.pop()) != null; ) {
            long length = chain.readableLength() - HEADER_BYTES;
            if (!txThrottle.admit(Math.max(0, length), 1, () -> queueNotify(TX_QUEUE))) {
                tx.undoPop(chain); // sent when the retry comes
                break;
            }
            if (chain.writableLength() != 0 || length < 1 || length > MAX_FRAME) {
                faults++;
                txDropped++;
                tx.addUsed(chain, 0);
                continue;
            }
            try {
                List<MemorySegment> parts = chain.readableSegments(HEADER_BYTES, length);
                ByteBuffer frame;
                if (parts.size() == 1) {
                    frame = parts.getFirst().asByteBuffer(); // the usual case: no copy
                } else {
                    txFrame.clear();
                    for (MemorySegment part : parts) txFrame.put(part.asByteBuffer());
                    frame = txFrame.flip();
                }
                backend.send(frame);
                txPackets++;
                txBytes += length;
            } catch (IOException e) {
                txErrors++;
                txDropped++;
            } catch (GuestMemoryException e) {
                faults++;
                txDropped++;
            }
            tx.addUsed(chain, 0);
        }
        interrupt.usedBuffers(TX_QUEUE);
    }
}
