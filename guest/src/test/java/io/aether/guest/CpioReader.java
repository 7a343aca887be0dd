package io.aether.guest;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;

/** Test support: parses a newc archive back, strictly (magic, padding, trailer, nothing after it). */
final class CpioReader {

    record Entry(String name, int inode, int mode, int uid, int gid, int nlink, int mtime,
                 int rdevMajor, int rdevMinor, byte[] data) {
        int type() {
            return mode & CpioWriter.S_IFMT;
        }

        int permissions() {
            return mode & 07777;
        }

        String text() {
            return new String(data, StandardCharsets.UTF_8);
        }
    }

    private CpioReader() {
    }

    static List<Entry> read(byte[] archive, boolean gzip) throws IOException {
        byte[] bytes = archive;
        if (gzip) {
            try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(archive))) {
                bytes = in.readAllBytes();
            }
        }
        List<Entry> entries = new ArrayList<>();
        int pos = 0;
        while (true) {
            if (pos % 4 != 0) {
                throw new IOException("header at unaligned offset " + pos);
            }
            if (pos + 110 > bytes.length) {
                throw new IOException("archive ends inside a header at " + pos);
            }
            String header = new String(bytes, pos, 110, StandardCharsets.US_ASCII);
            if (!header.startsWith(CpioWriter.MAGIC)) {
                throw new IOException("bad magic at " + pos + ": " + header.substring(0, 6));
            }
            int[] f = new int[13];
            for (int i = 0; i < 13; i++) {
                f[i] = (int) Long.parseLong(header.substring(6 + 8 * i, 14 + 8 * i), 16);
            }
            int nameSize = f[11];
            int size = f[6];
            if (f[12] != 0) {
                throw new IOException("check field must be 0 in newc");
            }
            pos += 110;
            if (bytes[pos + nameSize - 1] != 0) {
                throw new IOException("name not NUL-terminated at " + pos);
            }
            String name = new String(bytes, pos, nameSize - 1, StandardCharsets.UTF_8);
            pos = align(pos + nameSize);
            if (name.equals(CpioWriter.TRAILER)) {
                if (size != 0) {
                    throw new IOException("trailer with data");
                }
                for (int i = pos; i < bytes.length; i++) {
                    if (bytes[i] != 0) {
                        throw new IOException("data after the trailer at " + i);
                    }
                }
                return entries;
            }
            byte[] data = new byte[size];
            System.arraycopy(bytes, pos, data, 0, size);
            pos = align(pos + size);
            entries.add(new Entry(name, f[0], f[1], f[2], f[3], f[4], f[5], f[9], f[10], data));
        }
    }

    private static int align(int pos) {
        return (pos + 3) & ~3;
    }
}
