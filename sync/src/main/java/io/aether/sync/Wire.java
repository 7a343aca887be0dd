package io.aether.sync;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

/**
 * Binary bodies of the sync protocol (big-endian). An id list is {@code u32 count, count x 32-byte
 * id}. An object stream is a sequence of frames {@code 32-byte id, u8 codec, u32 raw length,
 * u32 wire length, wire bytes}, codec 0 = raw, 1 = raw DEFLATE (RFC 1951), chosen per object
 * when it saves space; codec 2 is an error from the sender (UTF-8 reason, the stream ends
 * there). Receivers bound every length before allocating.
 */
final class Wire {

    /** About 64 GiB of chunks per request; bounds what a peer can make the other side allocate. */
    static final int MAX_IDS = 1 << 20;
    static final int RAW = 0;
    static final int DEFLATE = 1;
    static final int ERROR = 2;

    private Wire() {
    }

    static void writeIds(DataOutputStream out, Collection<ObjectId> ids) throws IOException {
        out.writeInt(ids.size());
        for (ObjectId id : ids) {
            out.write(id.bytes());
        }
    }

    static List<ObjectId> readIds(DataInputStream in) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > MAX_IDS) {
            throw new IOException("id list of " + n + " entries (limit " + MAX_IDS + ")");
        }
        List<ObjectId> ids = new ArrayList<>(Math.min(n, 1 << 16));
        byte[] raw = new byte[ObjectId.LENGTH];
        for (int i = 0; i < n; i++) {
            in.readFully(raw);
            ids.add(ObjectId.ofBytes(raw, 0));
        }
        return ids;
    }

    /**
     * Chooses and applies DEFLATE per object. Model weights (float bytes) gain about 7% from
     * DEFLATE, nearly all of it from Huffman coding of the exponent bytes, and LZ77 matching would
     * cut the sender to about 20 MiB/s: a chunk whose 4 KiB sample shrinks by less than 30% is
     * Huffman-coded only (about 70 MiB/s, the same gain); text-like chunks and the small metadata
     * objects get full level-1 DEFLATE. Objects that would not shrink travel raw.
     */
    static final class Compressor implements AutoCloseable {
        private static final int SAMPLE = 4096;
        private final Deflater lz = new Deflater(Deflater.BEST_SPEED, true);
        private final Deflater huffman = new Deflater(Deflater.BEST_SPEED, true);
        private final byte[] scratch = new byte[Chunker.MAX + 4096];

        Compressor() {
            huffman.setStrategy(Deflater.HUFFMAN_ONLY);
        }

        /** The compressed length in {@link #scratch}, or -1 to send {@code enc} raw. */
        private int compress(byte[] enc) {
            Deflater d = lz;
            if (enc.length > 2 * SAMPLE) {
                int sample = deflate(lz, enc, SAMPLE);
                if (sample < 0 || sample > SAMPLE * 7 / 10) {
                    d = huffman;
                }
            }
            int n = deflate(d, enc, enc.length);
            return n >= 0 && n < enc.length ? n : -1;
        }

        private int deflate(Deflater d, byte[] enc, int len) {
            d.reset();
            d.setInput(enc, 0, len);
            d.finish();
            int n = 0;
            while (!d.finished()) {
                if (n == scratch.length) {
                    return -1;
                }
                n += d.deflate(scratch, n, scratch.length - n);
            }
            return n;
        }

        @Override
        public void close() {
            lz.end();
            huffman.end();
        }
    }

    /** Compresses (when that helps) and writes one object frame; returns the bytes written. */
    static int writeFrame(DataOutputStream out, ObjectId id, byte[] enc, Compressor compressor) throws IOException {
        int n = compressor.compress(enc);
        out.write(id.bytes());
        if (n >= 0) {
            out.writeByte(DEFLATE);
            out.writeInt(enc.length);
            out.writeInt(n);
            out.write(compressor.scratch, 0, n);
            return ObjectId.LENGTH + 9 + n;
        }
        out.writeByte(RAW);
        out.writeInt(enc.length);
        out.writeInt(enc.length);
        out.write(enc);
        return ObjectId.LENGTH + 9 + enc.length;
    }

    /** Tells the receiver why the stream stops here (for example an object found corrupt). */
    static void writeError(DataOutputStream out, ObjectId id, String reason) throws IOException {
        byte[] msg = reason.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        out.write(id.bytes());
        out.writeByte(ERROR);
        out.writeInt(msg.length);
        out.writeInt(msg.length);
        out.write(msg);
    }

    /** A received object (not yet checked against its id). */
    record Frame(ObjectId id, byte[] encoded, int wireBytes) {
    }

    /** Reads the next frame, or null at a clean end of stream. */
    static Frame readFrame(DataInputStream in, Inflater inflater) throws IOException {
        byte[] idRaw = new byte[ObjectId.LENGTH];
        int first = in.read();
        if (first < 0) {
            return null;
        }
        idRaw[0] = (byte) first;
        in.readFully(idRaw, 1, ObjectId.LENGTH - 1);
        ObjectId id = ObjectId.ofBytes(idRaw, 0);
        int codec = in.readUnsignedByte();
        int rawLen = in.readInt();
        int wireLen = in.readInt();
        if (rawLen <= 0 || rawLen > Codec.MAX_OBJECT_BYTES || wireLen <= 0 || wireLen > Codec.MAX_OBJECT_BYTES) {
            throw new IOException("frame for " + id.hex() + " has bad lengths " + rawLen + "/" + wireLen);
        }
        // readNBytes grows its buffer as bytes arrive: a header claiming 64 MiB costs the
        // receiver only what the sender really transmits.
        byte[] wire = in.readNBytes(wireLen);
        if (wire.length != wireLen) {
            throw new EOFException("frame for " + id.hex() + " ends after " + wire.length + " of " + wireLen + " bytes");
        }
        byte[] enc;
        switch (codec) {
            case RAW -> {
                if (rawLen != wireLen) {
                    throw new IOException("raw frame for " + id.hex() + " with mismatched lengths");
                }
                enc = wire;
            }
            case DEFLATE -> enc = inflate(id, wire, rawLen, inflater);
            case ERROR -> throw new RepositoryException("the sender stopped at object " + id.hex() + ": "
                    + Codec.printable(new String(wire, java.nio.charset.StandardCharsets.UTF_8)));
            default -> throw new IOException("frame for " + id.hex() + " has unknown codec " + codec);
        }
        return new Frame(id, enc, ObjectId.LENGTH + 9 + wireLen);
    }

    /**
     * Inflates a frame whose header promises {@code rawLen} bytes. The output buffer starts at
     * what DEFLATE could plausibly give from the bytes received and grows only with real output,
     * so a tiny frame claiming a huge length cannot make the receiver allocate it.
     */
    private static byte[] inflate(ObjectId id, byte[] wire, int rawLen, Inflater inflater) throws IOException {
        inflater.reset();
        inflater.setInput(wire);
        byte[] out = new byte[(int) Math.min(rawLen, Math.max(64 << 10, 4L * wire.length))];
        int got = 0;
        try {
            while (got < rawLen && !inflater.finished()) {
                if (got == out.length) {
                    out = java.util.Arrays.copyOf(out, (int) Math.min(rawLen, 2L * out.length));
                }
                int k = inflater.inflate(out, got, out.length - got);
                if (k == 0 && (inflater.needsInput() || inflater.needsDictionary())) {
                    break;
                }
                got += k;
            }
            // A stream with more output than promised leaves the inflater unfinished.
            if (got != rawLen || !inflater.finished()) {
                throw new IOException("compressed frame for " + id.hex() + " does not inflate to " + rawLen + " bytes");
            }
        } catch (DataFormatException e) {
            throw new IOException("compressed frame for " + id.hex() + " is malformed: " + e.getMessage());
        }
        return out;
    }

    /** An output stream that counts what passes through. */
    static final class CountingOutputStream extends java.io.FilterOutputStream {
        long count;

        CountingOutputStream(OutputStream out) {
            super(out);
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            count++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            count += len;
        }
    }

    /** An input stream that counts what passes through. */
    static final class CountingInputStream extends java.io.FilterInputStream {
        long count;

        CountingInputStream(InputStream in) {
            super(in);
        }

        @Override
        public int read() throws IOException {
            int b = in.read();
            if (b >= 0) {
                count++;
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = in.read(b, off, len);
            if (n > 0) {
                count += n;
            }
            return n;
        }
    }
}
