package io.aether.sync;

import java.io.IOException;
import java.io.InputStream;

/**
 * Content-defined chunking after FastCDC (Xia et al., USENIX ATC 2016): a gear rolling hash
 * {@code h = (h << 1) + GEAR[byte]} whose top bits depend on the last 64 bytes only, so a cut
 * point depends on local content and an insertion early in a file moves only nearby cuts.
 *
 * <p>Normalized chunking: below the average size a stricter mask (more bits) makes a cut less
 * likely, above it a looser mask makes one more likely, which narrows the size distribution.
 * No cut before {@link #MIN} bytes, a forced cut at {@link #MAX}. The gear table is derived from
 * a fixed seed: it is part of the format (other tables stay correct, they just share fewer
 * chunks).
 */
final class Chunker {

    static final int MIN = 16 * 1024;
    static final int AVG = 64 * 1024;
    static final int MAX = 256 * 1024;

    /** 18 top bits: harder to match, used before the average size (log2(AVG) + 2). */
    private static final long MASK_SMALL = topBits(18);
    /** 14 top bits: easier to match, used after it (log2(AVG) - 2). */
    private static final long MASK_LARGE = topBits(14);
    private static final long[] GEAR = gearTable(0x6165746865722d31L); // "aether-1"

    /** Receives each chunk; the array is reused after the call returns. */
    @FunctionalInterface
    interface Sink {
        void chunk(byte[] buf, int off, int len) throws IOException;
    }

    private Chunker() {
    }

    private static long topBits(int n) {
        return -1L << (64 - n);
    }

    private static long[] gearTable(long seed) {
        long[] t = new long[256];
        long x = seed;
        for (int i = 0; i < 256; i++) {
            // SplitMix64: a well-mixed, reproducible sequence.
            x += 0x9E3779B97F4A7C15L;
            long z = x;
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            t[i] = z ^ (z >>> 31);
        }
        return t;
    }

    /** The length of the chunk starting at {@code off}, given {@code len} available bytes (len >= 1). */
    static int cut(byte[] buf, int off, int len) {
        if (len <= MIN) {
            return len;
        }
        int end = Math.min(len, MAX);
        int normal = Math.min(end, AVG);
        long h = 0;
        int i = MIN;
        for (; i < normal; i++) {
            h = (h << 1) + GEAR[buf[off + i] & 0xff];
            if ((h & MASK_SMALL) == 0) {
                return i + 1;
            }
        }
        for (; i < end; i++) {
            h = (h << 1) + GEAR[buf[off + i] & 0xff];
            if ((h & MASK_LARGE) == 0) {
                return i + 1;
            }
        }
        return end;
    }

    /** Splits the whole stream into chunks, in order. An empty stream has no chunks. */
    static void split(InputStream in, Sink sink) throws IOException {
        byte[] buf = new byte[MAX * 4];
        int start = 0;
        int limit = 0;
        boolean eof = false;
        while (true) {
            // Keep at least MAX bytes ahead of the cursor unless the stream has ended.
            if (!eof && limit - start < MAX) {
                if (start > 0) {
                    System.arraycopy(buf, start, buf, 0, limit - start);
                    limit -= start;
                    start = 0;
                }
                while (limit < buf.length) {
                    int n = in.read(buf, limit, buf.length - limit);
                    if (n < 0) {
                        eof = true;
                        break;
                    }
                    limit += n;
                }
            }
            int available = limit - start;
            if (available == 0) {
                return;
            }
            if (!eof && available < MAX) {
                continue;
            }
            int n = cut(buf, start, available);
            sink.chunk(buf, start, n);
            start += n;
        }
    }
}
