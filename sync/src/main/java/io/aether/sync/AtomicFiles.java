package io.aether.sync;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Crash-safe file replacement. Content is written to a temporary file in the store's
 * {@code tmp/} directory and forced to disk ({@link #stage}); only then is it renamed over the
 * target ({@link #publish}). A crash before the rename leaves a stray temp file (ignored, removed
 * by gc) and the old target; a crash after it leaves the complete new file. A torn write is never
 * visible under the target name.
 */
final class AtomicFiles {

    private AtomicFiles() {
    }

    /** Threads that overlap fsyncs: the disk and the file system's journal commit them in groups. */
    private static final ExecutorService SYNCERS = Executors.newFixedThreadPool(8, r -> {
        Thread t = new Thread(r, "aether-fsync");
        t.setDaemon(true);
        return t;
    });

    /** Writes {@code data} into a new temp file under {@code tmpDir}, synced; returns it. */
    static Path stage(Path tmpDir, byte[] data, int off, int len) throws IOException {
        Path tmp = stageUnsynced(tmpDir, data, off, len);
        try {
            force(tmp);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        return tmp;
    }

    /** Writes a temp file without forcing it; the caller forces it ({@link #forceAll}) before publishing it. */
    static Path stageUnsynced(Path tmpDir, byte[] data, int off, int len) throws IOException {
        Files.createDirectories(tmpDir);
        Path tmp = Files.createTempFile(tmpDir, "w-", ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
            ByteBuffer buf = ByteBuffer.wrap(data, off, len);
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        return tmp;
    }

    private static void force(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
    }

    /** Forces files (or, with {@code directories}, directory entries) to disk, several at a time. */
    static void forceAll(Collection<Path> paths, boolean directories) throws IOException {
        if (paths.size() <= 1) {
            for (Path p : paths) {
                if (directories) {
                    syncDirectory(p);
                } else {
                    force(p);
                }
            }
            return;
        }
        List<Future<?>> done = new ArrayList<>(paths.size());
        for (Path p : paths) {
            done.add(SYNCERS.submit(() -> {
                if (directories) {
                    syncDirectory(p);
                } else {
                    force(p);
                }
                return null;
            }));
        }
        IOException failure = null;
        for (Future<?> f : done) {
            try {
                f.get();
            } catch (ExecutionException e) {
                if (failure == null) {
                    failure = e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("interrupted while syncing files");
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    /** Renames {@code staged} over {@code target} atomically (directories created as needed). */
    static void publish(Path staged, Path target) throws IOException {
        Files.createDirectories(target.getParent());
        try {
            Files.move(staged, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.deleteIfExists(staged);
            throw new IOException("file system cannot rename atomically into " + target.getParent(), e);
        }
    }

    /** Stage, publish, and sync the directory so the new name is durable before we return. */
    static void replace(Path tmpDir, Path target, byte[] data) throws IOException {
        publish(stage(tmpDir, data, 0, data.length), target);
        syncDirectory(target.getParent());
    }

    static void syncDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }
}
