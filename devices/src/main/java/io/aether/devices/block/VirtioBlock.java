package io.aether.devices.block;

import io.aether.devices.ratelimit.Throttle;
import io.aether.memory.GuestMemory;
import io.aether.snapshot.SnapshotException;
import io.aether.snapshot.StateReader;
import io.aether.snapshot.StateWriter;
import io.aether.memory.GuestMemoryException;
import io.aether.virtio.DescriptorChain;
import io.aether.virtio.RequestQueue;
import io.aether.virtio.VirtioDevice;
import io.aether.virtio.VirtioInterrupt;
import io.aether.virtio.Virtqueue;
import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Objects;

/**
 * A virtio block device (virtio 1.2, 5.2) over a raw disk image, read with positional
 * {@link FileChannel} I/O straight into and out of guest memory.
 *
 * <p>Requests (5.2.6): a 16-byte header (type, reserved, sector) in the device-readable part,
 * then data (readable for OUT, writable for IN), then a status byte as the last writable byte.
 * A request that breaks that shape, addresses sectors beyond the capacity, moves a length that is
 * not a whole number of sectors or more than {@link #MAX_REQUEST_BYTES}, or writes to a read-only
 * disk answers {@code VIRTIO_BLK_S_IOERR} and touches nothing; an unknown type answers
 * {@code VIRTIO_BLK_S_UNSUPP}; a chain with no writable byte for the status is completed with 0
 * bytes. All of these are counted.
 *
 * <p>A {@link Throttle} limits IOPS and bandwidth: each request costs one operation and its data
 * bytes, reads and writes alike. One over the budget stays in the queue, the requests behind it
 * too, until the throttle's retry serves the queue again; the guest sees a slower disk.
 *
 * <p>Offers VERSION_1 (through the transport), SEG_MAX (queue size - 2), BLK_SIZE (512), FLUSH,
 * and RO when read-only. One request queue.
 */
public final class VirtioBlock implements VirtioDevice, AutoCloseable {

    public static final int DEVICE_TYPE = 2;
    public static final int SECTOR_SIZE = 512;
    /** Bytes of the GET_ID answer. */
    public static final int ID_BYTES = 20;
    /** The most data one request may move; larger ones answer IOERR. */
    public static final long MAX_REQUEST_BYTES = 256L << 20;

    static final long F_SEG_MAX = 1L << 2;
    static final long F_RO = 1L << 5;
    static final long F_BLK_SIZE = 1L << 6;
    static final long F_FLUSH = 1L << 9;

    static final int T_IN = 0;
    static final int T_OUT = 1;
    static final int T_FLUSH = 4;
    static final int T_GET_ID = 8;

    static final byte S_OK = 0;
    static final byte S_IOERR = 1;
    static final byte S_UNSUPP = 2;

    static final int HEADER_BYTES = 16;
    static final int CONFIG_BYTES = 24;

    /**
     * How to present the image.
     *
     * @param readOnly offer VIRTIO_BLK_F_RO and refuse writes; the file is opened read-only
     * @param id the GET_ID answer, at most 20 ASCII bytes; {@code null} derives it from the file name
     * @param queueSize the request queue's maximum size, a power of two from 4 to 32768
     */
    public record Options(boolean readOnly, String id, int queueSize) {

        public static final int DEFAULT_QUEUE_SIZE = 256;

        public Options {
            if (id != null && (id.length() > ID_BYTES || !StandardCharsets.US_ASCII.newEncoder().canEncode(id))) {
                throw new IllegalArgumentException("block device id must be at most 20 ASCII characters: '" + id + "'");
            }
            Virtqueue.checkMaxSize("block queue size", 4, queueSize);
        }

        /** Writable, id from the file name, 256-entry queue. */
        public static Options defaults() {
            return new Options(false, null, DEFAULT_QUEUE_SIZE);
        }

        public Options withReadOnly(boolean value) {
            return new Options(value, id, queueSize);
        }

        public Options withId(String value) {
            return new Options(readOnly, value, queueSize);
        }
    }

    /**
     * Counters.
     *
     * @param reads IN requests served
     * @param writes OUT requests served
     * @param bytesRead bytes read from the image into the guest
     * @param bytesWritten bytes written to the image
     * @param flushes FLUSH requests served
     * @param idRequests GET_ID requests served
     * @param faults malformed or refused requests (bad shape, range, length, write to read-only)
     * @param unsupported requests of an unknown type
     * @param ioErrors host I/O errors (the request answered IOERR)
     * @param throttled times a request was held back by the rate limit
     */
    public record Counters(long reads, long writes, long bytesRead, long bytesWritten, long flushes, long idRequests,
                           long faults, long unsupported, long ioErrors, long throttled) {
    }

    private final FileChannel file;
    private final Options options;
    private final long capacity;
    private final byte[] id;
    private final RequestQueue queue = new RequestQueue();
    private final Throttle throttle;

    private long reads;
    private long writes;
    private long bytesRead;
    private long bytesWritten;
    private long flushes;
    private long idRequests;
    private long faults;
    private long unsupported;
    private long ioErrors;

    private VirtioBlock(FileChannel file, Options options, long capacity, byte[] id, Throttle throttle) {
        this.file = file;
        this.options = options;
        this.capacity = capacity;
        this.id = id;
        this.throttle = throttle;
    }

    /**
     * Opens a raw image. Its capacity is its size in whole 512-byte sectors (a trailing partial
     * sector is not visible to the guest).
     *
     * @throws IOException naming the image when it cannot be opened
     */
    public static VirtioBlock open(Path image, Options options) throws IOException {
        return open(image, options, Throttle.NONE);
    }

    /** Opens a raw image ({@link #open(Path, Options)}) whose requests pass {@code throttle}. */
    public static VirtioBlock open(Path image, Options options, Throttle throttle) throws IOException {
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(throttle, "throttle");
        FileChannel file;
        try {
            file = options.readOnly()
                    ? FileChannel.open(image, StandardOpenOption.READ)
                    : FileChannel.open(image, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new IOException("cannot open disk image " + image + ": " + e.getMessage(), e);
        }
        try {
            long capacity = file.size() / SECTOR_SIZE;
            String name = options.id() != null ? options.id() : idFromFileName(image);
            byte[] id = new byte[ID_BYTES]; // NUL-padded (5.2.6)
            byte[] ascii = name.getBytes(StandardCharsets.US_ASCII);
            System.arraycopy(ascii, 0, id, 0, Math.min(ascii.length, ID_BYTES));
            return new VirtioBlock(file, options, capacity, id, throttle);
        } catch (IOException | RuntimeException e) {
            file.close();
            throw e;
        }
    }

    static String idFromFileName(Path image) {
        Path name = image.getFileName();
        StringBuilder b = new StringBuilder();
        String s = name == null ? "disk" : name.toString();
        for (int i = 0; i < s.length() && b.length() < ID_BYTES; i++) {
            char c = s.charAt(i);
            b.append(c >= 0x20 && c < 0x7F ? c : '_');
        }
        return b.toString();
    }

    /** Capacity in 512-byte sectors. */
    public long capacity() {
        return capacity;
    }

    public Options options() {
        return options;
    }

    /**
     * What a restored device must match: requests are served whole under the device's lock, so
     * none is ever in flight, and the rest of the device's state is its transport's. A disk whose
     * size, mode, id or queue size changed since the snapshot would show the guest another disk.
     *
     * @param capacity sectors
     * @param id the GET_ID answer without its NUL padding
     */
    public record State(long capacity, boolean readOnly, String id, int queueSize) {

        public State {
            if (capacity < 0) throw new IllegalArgumentException("capacity: " + capacity + " sectors is negative");
            new Options(readOnly, id, queueSize); // the same rules as the live options
        }

        /** Writes the fields in the order {@link #read} takes them. */
        public void write(StateWriter out) {
            out.i64(capacity).bool(readOnly).bytes(id.getBytes(StandardCharsets.US_ASCII)).i32(queueSize);
        }

        public static State read(StateReader in) throws SnapshotException {
            long capacity = in.i64("capacity");
            boolean readOnly = in.bool("readOnly");
            String id = new String(in.bytes("id", ID_BYTES), StandardCharsets.US_ASCII);
            int queueSize = in.i32("queueSize");
            return in.build(() -> new State(capacity, readOnly, id, queueSize));
        }
    }

    public State state() {
        int length = 0;
        while (length < ID_BYTES && id[length] != 0) length++;
        return new State(capacity, options.readOnly(), new String(id, 0, length, StandardCharsets.US_ASCII), options.queueSize());
    }

    /**
     * Checks that this device, opened for a restore, is the one {@code state} describes.
     *
     * @throws IllegalArgumentException naming the field that differs
     */
    public void restore(State state) {
        State mine = state();
        if (state.capacity() != mine.capacity()) {
            throw new IllegalArgumentException("capacity: the disk has " + mine.capacity() + " sectors, the snapshot "
                    + state.capacity() + " (its size changed)");
        }
        if (state.readOnly() != mine.readOnly()) {
            throw new IllegalArgumentException("readOnly: the disk is " + (mine.readOnly() ? "read-only" : "writable")
                    + ", in the snapshot it was not");
        }
        if (!state.id().equals(mine.id())) {
            throw new IllegalArgumentException("id: the disk's is '" + mine.id() + "', the snapshot's '" + state.id() + "'");
        }
        if (state.queueSize() != mine.queueSize()) {
            throw new IllegalArgumentException("queueSize: the disk's is " + mine.queueSize() + ", the snapshot's " + state.queueSize());
        }
    }

    public synchronized Counters counters() {
        return new Counters(reads, writes, bytesRead, bytesWritten, flushes, idRequests, faults, unsupported, ioErrors,
                throttle.throttled());
    }

    @Override
    public int deviceType() {
        return DEVICE_TYPE;
    }

    @Override
    public long deviceFeatures() {
        return F_SEG_MAX | F_BLK_SIZE | F_FLUSH | (options.readOnly() ? F_RO : 0);
    }

    @Override
    public int queueCount() {
        return 1;
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
        // struct virtio_blk_config (5.2.4): capacity, size_max, seg_max, geometry, blk_size.
        ByteBuffer config = ByteBuffer.allocate(CONFIG_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        config.putLong(0, capacity);
        config.putInt(12, options.queueSize() - 2); // header and status take two descriptors
        config.putInt(20, SECTOR_SIZE);
        config.get(offset, data);
    }

    @Override
    public synchronized void activate(GuestMemory memory, long features, List<Virtqueue> queues, VirtioInterrupt interrupt) {
        queue.activate(queues, interrupt);
    }

    @Override
    public synchronized void reset() {
        queue.reset();
    }

    @Override
    public synchronized void queueNotify(int index) {
        queue.drain(this::serve);
    }

    @Override
    public void close() throws IOException {
        file.close();
    }

    /** Serves one request; returns the bytes written into the chain (data plus status), or NOT_NOW over the rate limit. */
    private long serve(DescriptorChain chain) {
        // The data a well-formed request moves, from the chain's shape alone (IN: all writable
        // bytes but the status; OUT: all readable bytes but the header): a malformed one costs as much.
        long dataBytes = Math.max(0, chain.readableLength() + chain.writableLength() - HEADER_BYTES - 1);
        if (!throttle.admit(dataBytes, 1, () -> queueNotify(0))) return RequestQueue.NOT_NOW;
        if (chain.writableLength() == 0) {
            faults++; // nowhere to put a status: completed with 0 bytes
            return 0;
        }
        long statusAt = chain.writableLength() - 1;
        try {
            long dataWritten = 0;
            byte status;
            if (chain.readableLength() < HEADER_BYTES) {
                faults++;
                status = S_IOERR;
            } else {
                byte[] header = new byte[HEADER_BYTES];
                chain.read(0, header, 0, HEADER_BYTES);
                ByteBuffer h = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN);
                int type = h.getInt(0);
                long sector = h.getLong(8);
                switch (type) {
                    case T_IN -> {
                        status = read(chain, sector, statusAt);
                        if (status == S_OK) dataWritten = statusAt;
                    }
                    case T_OUT -> status = write(chain, sector);
                    case T_FLUSH -> status = flush(chain);
                    case T_GET_ID -> {
                        status = getId(chain, statusAt);
                        if (status == S_OK) dataWritten = Math.min(ID_BYTES, statusAt);
                    }
                    default -> {
                        unsupported++;
                        status = S_UNSUPP;
                    }
                }
            }
            chain.write(statusAt, new byte[] {status}, 0, 1);
            return dataWritten + 1;
        } catch (GuestMemoryException e) {
            faults++;
            return 0;
        }
    }

    /** IN: header only in the readable part; data then status in the writable part. */
    private byte read(DescriptorChain chain, long sector, long length) {
        if (chain.readableLength() != HEADER_BYTES || !validRange(sector, length)) {
            faults++;
            return S_IOERR;
        }
        long position = sector * SECTOR_SIZE;
        try {
            for (MemorySegment segment : chain.writableSegments(0, length)) {
                ByteBuffer buffer = segment.asByteBuffer();
                while (buffer.hasRemaining()) {
                    int n = file.read(buffer, position);
                    if (n < 0) throw new EOFException("disk image shrank below sector " + sector);
                    position += n;
                }
            }
        } catch (IOException e) {
            ioErrors++;
            return S_IOERR;
        }
        reads++;
        bytesRead += length;
        return S_OK;
    }

    /** OUT: header then data in the readable part; only the status byte is writable. */
    private byte write(DescriptorChain chain, long sector) {
        long length = chain.readableLength() - HEADER_BYTES;
        if (options.readOnly() || chain.writableLength() != 1 || !validRange(sector, length)) {
            faults++;
            return S_IOERR;
        }
        long position = sector * SECTOR_SIZE;
        try {
            for (MemorySegment segment : chain.readableSegments(HEADER_BYTES, length)) {
                ByteBuffer buffer = segment.asByteBuffer();
                while (buffer.hasRemaining()) position += file.write(buffer, position);
            }
        } catch (IOException e) {
            ioErrors++;
            return S_IOERR;
        }
        writes++;
        bytesWritten += length;
        return S_OK;
    }

    private byte flush(DescriptorChain chain) {
        if (chain.readableLength() != HEADER_BYTES || chain.writableLength() != 1) {
            faults++;
            return S_IOERR;
        }
        try {
            if (!options.readOnly()) file.force(false);
        } catch (IOException e) {
            ioErrors++;
            return S_IOERR;
        }
        flushes++;
        return S_OK;
    }

    private byte getId(DescriptorChain chain, long room) {
        if (chain.readableLength() != HEADER_BYTES || room == 0) {
            faults++;
            return S_IOERR;
        }
        chain.write(0, id, 0, (int) Math.min(ID_BYTES, room));
        idRequests++;
        return S_OK;
    }

    /** Whole sectors, at most the cap, inside the disk; overflow-safe. */
    private boolean validRange(long sector, long length) {
        if (length < 0 || length % SECTOR_SIZE != 0 || length > MAX_REQUEST_BYTES) return false;
        return sector >= 0 && sector <= capacity && length / SECTOR_SIZE <= capacity - sector;
    }
}
