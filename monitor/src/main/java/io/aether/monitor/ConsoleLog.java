package io.aether.monitor;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * The guest's console output in a file, bounded on disk: when {@code FILE} reaches its limit it
 * becomes {@code FILE.1} (replacing the previous one) and a new {@code FILE} starts, so a guest
 * that prints for ever holds at most twice the limit. A write that fails (a full disk) stops the
 * log, counted, and never the VM.
 */
final class ConsoleLog extends OutputStream {

    private final Path file;
    private final Path previous;
    private final long limit;
    private OutputStream out;
    private long size;
    private long lostBytes;

    /**
     * Opens {@code file} for appending (what is there already counts towards the limit).
     *
     * @throws IOException naming the file when it cannot be opened
     */
    ConsoleLog(Path file, long limit) throws IOException {
        if (limit <= 0) throw new IllegalArgumentException("limit: " + limit + " is not positive");
        this.file = file;
        this.previous = file.resolveSibling(file.getFileName() + ".1");
        this.limit = limit;
        open();
    }

    private void open() throws IOException {
        out = Files.newOutputStream(file, StandardOpenOption.CREATE, StandardOpenOption.APPEND, StandardOpenOption.WRITE);
        size = Files.size(file);
    }

    @Override
    public void write(int b) {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public synchronized void write(byte[] data, int offset, int length) {
        if (out == null) {
            lostBytes += length;
            return;
        }
        try {
            while (length > 0) {
                if (size == limit) rotate();
                int n = (int) Math.min(length, limit - size);
                out.write(data, offset, n);
                size += n;
                offset += n;
                length -= n;
            }
        } catch (IOException e) {
            lostBytes += length;
            closeQuietly();
        }
    }

    private void rotate() throws IOException {
        out.close();
        Files.move(file, previous, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        open();
    }

    /** Bytes the log could not take (after a failed write the log stops). */
    synchronized long lostBytes() {
        return lostBytes;
    }

    @Override
    public synchronized void flush() {
        if (out == null) return;
        try {
            out.flush();
        } catch (IOException e) {
            closeQuietly();
        }
    }

    @Override
    public synchronized void close() {
        closeQuietly();
    }

    private void closeQuietly() {
        if (out == null) return;
        try {
            out.close();
        } catch (IOException e) {
            // Already failing: the log has stopped either way.
        }
        out = null;
    }
}
