package io.aether.loader;

import java.util.Arrays;

/**
 * A bounds-checked decoder for LZ4 blocks and the LZ4 legacy frame, the format of an LZ4
 * compressed Linux kernel (lz4 -l; lz4's doc/lz4_Block_format.md and lz4_Frame_format.md,
 * "Legacy frame"). Every length and offset is checked against the input and the output limit
 * before it is used, so corrupt or hostile data ends in {@link CorruptException}, never in an
 * out-of-bounds access or an unbounded allocation.
 */
final class Lz4 {

    /** Magic number opening a legacy frame (little-endian 0x184C2102). */
    static final int LEGACY_MAGIC = 0x184C_2102;
    /** A legacy frame's blocks each decompress to at most 8 MiB. */
    static final int LEGACY_BLOCK_SIZE = 8 << 20;
    static final int MIN_MATCH = 4;

    /** The data is not valid LZ4, or decodes past the allowed size. */
    static final class CorruptException extends Exception {
        CorruptException(String message) {
            super(message);
        }
    }

    private Lz4() {
    }

    /**
     * Decodes a legacy frame filling exactly {@code in[off, off + len)}: the magic number, then
     * blocks of (32-bit little-endian compressed length, LZ4 block). A repeated magic number
     * starts a concatenated frame.
     *
     * @param limit the most bytes the output may have
     * @param sizeHint the expected output size, to allocate once (capped by {@code limit})
     */
    static byte[] decodeLegacyFrame(byte[] in, int off, int len, long limit, long sizeHint) throws CorruptException {
        int end = off + len;
        if (len < 4 || le32(in, off) != LEGACY_MAGIC) throw new CorruptException("no LZ4 legacy frame magic 0x184C2102");
        Output out = new Output(limit, sizeHint);
        int pos = off + 4;
        while (pos < end) {
            if (end - pos < 4) throw new CorruptException("truncated block header at offset " + (pos - off));
            long blockLength = le32(in, pos) & 0xFFFF_FFFFL;
            pos += 4;
            if (blockLength == LEGACY_MAGIC) continue;
            if (blockLength == 0 || blockLength > end - pos) {
                throw new CorruptException("block of " + blockLength + " bytes at offset " + (pos - 4 - off) + " runs past the end of the data");
            }
            decodeBlock(in, pos, (int) blockLength, out, LEGACY_BLOCK_SIZE);
            pos += (int) blockLength;
        }
        return out.toByteArray();
    }

    /** Decodes one block into a new array of at most {@code limit} bytes. */
    static byte[] decodeBlock(byte[] in, int off, int len, int limit) throws CorruptException {
        Output out = new Output(limit, 0);
        decodeBlock(in, off, len, out, limit);
        return out.toByteArray();
    }

    /**
     * Decodes the block {@code in[off, off + len)}, appending at most {@code blockLimit} bytes.
     * Sequences: a token (literal length in its high nibble, match length - 4 in its low nibble,
     * 15 meaning "add the following bytes until one is not 255"), the literals, then a 16-bit
     * little-endian match offset into what this block has already produced. The last sequence
     * has literals only.
     */
    private static void decodeBlock(byte[] in, int off, int len, Output out, int blockLimit) throws CorruptException {
        int ip = off;
        int end = off + len;
        long blockStart = out.size;
        long blockEnd = blockStart + blockLimit;
        while (true) {
            if (ip >= end) throw new CorruptException("block ends inside a sequence at offset " + (ip - off));
            int token = in[ip++] & 0xFF;
            long literals = token >>> 4;
            if (literals == 15) {
                int b;
                do {
                    if (ip >= end) throw new CorruptException("literal length runs past the end of the block");
                    b = in[ip++] & 0xFF;
                    literals += b;
                } while (b == 255);
            }
            if (literals > end - ip) throw new CorruptException("literal run of " + literals + " bytes runs past the end of the block");
            if (out.size + literals > blockEnd) throw new CorruptException("block decodes to more than " + blockLimit + " bytes");
            out.append(in, ip, (int) literals);
            ip += (int) literals;
            if (ip == end) return; // the last sequence: literals only
            if (end - ip < 2) throw new CorruptException("match offset runs past the end of the block");
            int offset = (in[ip] & 0xFF) | (in[ip + 1] & 0xFF) << 8;
            ip += 2;
            if (offset == 0 || offset > out.size - blockStart) {
                throw new CorruptException("match offset " + offset + " reaches before the start of the block");
            }
            long matchLength = token & 0xF;
            if (matchLength == 15) {
                int b;
                do {
                    if (ip >= end) throw new CorruptException("match length runs past the end of the block");
                    b = in[ip++] & 0xFF;
                    matchLength += b;
                } while (b == 255);
            }
            matchLength += MIN_MATCH;
            if (out.size + matchLength > blockEnd) throw new CorruptException("block decodes to more than " + blockLimit + " bytes");
            out.copyMatch(offset, (int) matchLength);
        }
    }

    static int le32(byte[] b, int at) {
        return (b[at] & 0xFF) | (b[at + 1] & 0xFF) << 8 | (b[at + 2] & 0xFF) << 16 | (b[at + 3] & 0xFF) << 24;
    }

    /** A growable output buffer that refuses to grow past its limit. */
    private static final class Output {
        private final long limit;
        private byte[] buf;
        private long size;

        Output(long limit, long sizeHint) {
            this.limit = Math.min(limit, Integer.MAX_VALUE - 16);
            this.buf = new byte[(int) Math.max(64, Math.min(this.limit, sizeHint))];
        }

        private void ensure(long extra) throws CorruptException {
            long needed = size + extra;
            if (needed > limit) throw new CorruptException("decompressed data exceeds the limit of " + limit + " bytes");
            if (needed > buf.length) {
                long grown = Math.max(needed, Math.min(limit, 2L * buf.length));
                buf = Arrays.copyOf(buf, (int) grown);
            }
        }

        void append(byte[] src, int from, int length) throws CorruptException {
            ensure(length);
            System.arraycopy(src, from, buf, (int) size, length);
            size += length;
        }

        /** Copies {@code length} bytes from {@code offset} back; an overlapping copy repeats the pattern. */
        void copyMatch(int offset, int length) throws CorruptException {
            ensure(length);
            int to = (int) size;
            int from = to - offset;
            if (offset >= length) {
                System.arraycopy(buf, from, buf, to, length);
            } else {
                for (int i = 0; i < length; i++) buf[to + i] = buf[from + i];
            }
            size += length;
        }

        byte[] toByteArray() {
            return size == buf.length ? buf : Arrays.copyOf(buf, (int) size);
        }
    }
}
