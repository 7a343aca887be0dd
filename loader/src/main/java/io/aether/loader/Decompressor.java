package io.aether.loader;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.HexFormat;
import java.util.zip.GZIPInputStream;

/**
 * Decompresses a bzImage payload, telling the method by its magic number. Linux's build appends
 * the uncompressed size as a 32-bit little-endian number to every payload but gzip's (whose own
 * trailer ends in it).
 */
final class Decompressor {

    private Decompressor() {
    }

    /** Compression methods a kernel may use, by magic number. */
    enum Method {
        GZIP("gzip", new byte[] {0x1F, (byte) 0x8B}),
        LZ4_LEGACY("lz4", new byte[] {0x02, 0x21, 0x4C, 0x18}),
        LZ4_FRAME("lz4 frame", new byte[] {0x04, 0x22, 0x4D, 0x18}),
        ZSTD("zstd", new byte[] {0x28, (byte) 0xB5, 0x2F, (byte) 0xFD}),
        XZ("xz", new byte[] {(byte) 0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00}),
        LZMA("lzma", new byte[] {0x5D, 0x00, 0x00}),
        BZIP2("bzip2", new byte[] {0x42, 0x5A, 0x68}),
        LZO("lzo", new byte[] {(byte) 0x89, 0x4C, 0x5A, 0x4F});

        final String label;
        final byte[] magic;

        Method(String label, byte[] magic) {
            this.label = label;
            this.magic = magic;
        }

        static Method detect(byte[] data, int off, int len) {
            for (Method m : values()) {
                if (len < m.magic.length) continue;
                boolean match = true;
                for (int i = 0; i < m.magic.length && match; i++) match = data[off + i] == m.magic[i];
                if (match) return m;
            }
            return null;
        }
    }

    /**
     * Decompresses {@code data[off, off + len)}.
     *
     * @param name the file, for messages
     * @param limit the largest output accepted: a decompression bomb stops there
     */
    static byte[] decompress(String name, byte[] data, int off, int len, long limit) throws LoadException {
        Method method = Method.detect(data, off, len);
        if (method == null) {
            String head = HexFormat.ofDelimiter(" ").formatHex(data, off, off + Math.min(len, 4));
            throw new LoadException(name, "unknown compression (payload starts with " + head + ")");
        }
        return switch (method) {
            case GZIP -> gunzip(name, data, off, len, limit);
            case LZ4_LEGACY -> unlz4(name, data, off, len, limit);
            case LZ4_FRAME, ZSTD, XZ, LZMA, BZIP2, LZO -> throw new LoadException(name, "unsupported compression " + method.label
                    + " (gzip and lz4 are supported; boot an uncompressed vmlinux instead)");
        };
    }

    private static byte[] gunzip(String name, byte[] data, int off, int len, long limit) throws LoadException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] chunk = new byte[1 << 16];
        try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(data, off, len), 1 << 16)) {
            int n;
            while ((n = in.read(chunk)) > 0) {
                if (out.size() + (long) n > limit) {
                    throw new LoadException(name, "gzip payload decompresses to more than the limit of " + limit + " bytes");
                }
                out.write(chunk, 0, n);
            }
        } catch (IOException e) {
            throw new LoadException(name, "corrupt gzip payload: " + e.getMessage(), e);
        }
        return out.toByteArray();
    }

    private static byte[] unlz4(String name, byte[] data, int off, int len, long limit) throws LoadException {
        if (len < 8) throw new LoadException(name, "lz4 payload of " + len + " bytes is truncated");
        long declared = Lz4.le32(data, off + len - 4) & 0xFFFF_FFFFL;
        if (declared > limit) {
            throw new LoadException(name, "lz4 payload declares " + declared + " decompressed bytes, more than the limit of " + limit);
        }
        try {
            byte[] out = Lz4.decodeLegacyFrame(data, off, len - 4, declared, declared);
            if (out.length != declared) {
                throw new LoadException(name, "lz4 payload decompressed to " + out.length + " bytes, its trailer says " + declared);
            }
            return out;
        } catch (Lz4.CorruptException e) {
            throw new LoadException(name, "corrupt lz4 payload: " + e.getMessage(), e);
        }
    }
}
