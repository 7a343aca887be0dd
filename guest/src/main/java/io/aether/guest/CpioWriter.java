package io.aether.guest;

import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.zip.GZIPOutputStream;

/**
 * Streams a cpio archive in the "newc" (SVR4, no CRC) format, the format the Linux kernel
 * unpacks as an initramfs (Documentation/driver-api/early-userspace/buffer-format.rst).
 *
 * <p>Each entry is a 110-byte ASCII header ({@code 070701} and thirteen 8-digit hex fields),
 * the NUL-terminated name, padding to a multiple of 4, the data, and padding to a multiple
 * of 4. Owners are always root (uid/gid 0) and mtimes 0, so equal inputs give equal archives.
 * Entries are written in call order; the caller writes a directory before what it contains.
 * {@link #close()} writes the {@code TRAILER!!!} entry.
 */
public final class CpioWriter implements Closeable {

    static final String MAGIC = "070701";
    static final String TRAILER = "TRAILER!!!";
    static final int S_IFDIR = 0040000;
    static final int S_IFREG = 0100000;
    static final int S_IFLNK = 0120000;
    static final int S_IFCHR = 0020000;
    static final int S_IFMT = 0170000;
    /** newc fields are 8 hex digits: a file's size must fit in 32 bits. */
    static final long MAX_FILE_SIZE = 0xFFFF_FFFFL;

    private final OutputStream out;
    private long position;
    private int nextInode = 1;
    private boolean finished;

    private CpioWriter(OutputStream out) {
        this.out = out;
    }

    /** A writer of a plain (uncompressed) archive onto {@code out}, which it closes. */
    public static CpioWriter plain(OutputStream out) {
        return new CpioWriter(new BufferedOutputStream(out, 1 << 16));
    }

    /** A writer of a gzip-compressed archive onto {@code out}, which it closes. */
    public static CpioWriter gzip(OutputStream out) throws IOException {
        return new CpioWriter(new GZIPOutputStream(new BufferedOutputStream(out, 1 << 16), 1 << 16));
    }

    /** Writes a directory; {@code permissions} are the low 12 mode bits (e.g. {@code 0755}). */
    public void directory(String path, int permissions) throws IOException {
        header(path, S_IFDIR | checkPermissions(permissions), 2, 0, 0, 0);
    }

    /** Writes a regular file with the given content. */
    public void file(String path, int permissions, byte[] content) throws IOException {
        header(path, S_IFREG | checkPermissions(permissions), 1, content.length, 0, 0);
        write(content, content.length);
        pad();
    }

    /**
     * Writes a regular file of exactly {@code size} bytes read from {@code content}
     * (streamed, not held in memory).
     *
     * @throws IOException if {@code content} ends before {@code size} bytes
     */
    public void file(String path, int permissions, long size, InputStream content) throws IOException {
        if (size < 0 || size > MAX_FILE_SIZE) {
            throw new IllegalArgumentException("cpio newc cannot hold " + path + ": size " + size
                    + " is outside 0.." + MAX_FILE_SIZE);
        }
        header(path, S_IFREG | checkPermissions(permissions), 1, size, 0, 0);
        byte[] buffer = new byte[1 << 16];
        long left = size;
        while (left > 0) {
            int n = content.read(buffer, 0, (int) Math.min(buffer.length, left));
            if (n < 0) {
                throw new IOException("content of " + path + " ended " + left + " bytes short of its size " + size);
            }
            write(buffer, n);
            left -= n;
        }
        pad();
    }

    /** Writes a symbolic link to {@code target} (stored as the entry's data, as cpio does). */
    public void symlink(String path, String target) throws IOException {
        if (target.isEmpty() || target.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("bad symlink target for " + path + ": '" + target + "'");
        }
        byte[] data = target.getBytes(StandardCharsets.UTF_8);
        header(path, S_IFLNK | 0777, 1, data.length, 0, 0);
        write(data, data.length);
        pad();
    }

    /** Writes a character device node, e.g. {@code dev/console} as 5:1. */
    public void charDevice(String path, int permissions, int major, int minor) throws IOException {
        if (major < 0 || minor < 0) {
            throw new IllegalArgumentException("bad device number for " + path + ": " + major + ":" + minor);
        }
        header(path, S_IFCHR | checkPermissions(permissions), 1, 0, major, minor);
    }

    /** Writes the trailer and flushes, leaving the stream open; no entry may follow. */
    public void finish() throws IOException {
        if (finished) {
            return;
        }
        // The trailer is an ordinary header with inode 0 and nlink 1, named TRAILER!!!.
        writeHeader(TRAILER, 0, 0, 1, 0, 0, 0);
        finished = true;
        if (out instanceof GZIPOutputStream gz) {
            gz.finish();
        }
        out.flush();
    }

    /** Finishes the archive (if not done) and closes the stream. */
    @Override
    public void close() throws IOException {
        try {
            finish();
        } finally {
            out.close();
        }
    }

    /** Bytes written so far, before compression. */
    public long size() {
        return position;
    }

    private void header(String path, int mode, int nlink, long size, int rdevMajor, int rdevMinor)
            throws IOException {
        if (finished) {
            throw new IllegalStateException("the archive is finished; cannot add " + path);
        }
        writeHeader(checkPath(path), nextInode++, mode, nlink, size, rdevMajor, rdevMinor);
    }

    private void writeHeader(String name, int inode, int mode, int nlink, long size, int rdevMajor, int rdevMinor)
            throws IOException {
        byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
        StringBuilder h = new StringBuilder(110).append(MAGIC);
        hex(h, inode);
        hex(h, mode);
        hex(h, 0);              // uid
        hex(h, 0);              // gid
        hex(h, nlink);
        hex(h, 0);              // mtime
        hex(h, size);
        hex(h, 0);              // devmajor (of the file system holding the file)
        hex(h, 0);              // devminor
        hex(h, rdevMajor);
        hex(h, rdevMinor);
        hex(h, nameBytes.length + 1);
        hex(h, 0);              // check: only used by the 070702 (CRC) variant
        byte[] headerBytes = h.toString().getBytes(StandardCharsets.US_ASCII);
        write(headerBytes, headerBytes.length);
        write(nameBytes, nameBytes.length);
        write(new byte[] {0}, 1);
        pad();
    }

    private static void hex(StringBuilder h, long value) {
        String digits = Long.toHexString(value);
        h.append("0".repeat(8 - digits.length())).append(digits);
    }

    private void write(byte[] bytes, int length) throws IOException {
        out.write(bytes, 0, length);
        position += length;
    }

    private void pad() throws IOException {
        int n = (int) (-position & 3);
        if (n > 0) {
            write(new byte[n], n);
        }
    }

    private static int checkPermissions(int permissions) {
        if ((permissions & ~07777) != 0) {
            throw new IllegalArgumentException("permissions must be within 07777, not 0" + Integer.toOctalString(permissions));
        }
        return permissions;
    }

    /** Archive names are relative ({@code bin/sh}); a leading slash is dropped. */
    static String checkPath(String path) {
        String p = path.startsWith("/") ? path.substring(1) : path;
        if (p.isEmpty() || p.endsWith("/") || p.indexOf('\0') >= 0 || p.contains("//")) {
            throw new IllegalArgumentException("bad archive path: '" + path + "'");
        }
        for (String part : p.split("/")) {
            if (part.equals("..") || part.equals(".")) {
                throw new IllegalArgumentException("bad archive path (no . or .. parts): '" + path + "'");
            }
        }
        if (p.equals(TRAILER)) {
            throw new IllegalArgumentException("'" + TRAILER + "' is reserved for the archive's end");
        }
        return p;
    }
}
