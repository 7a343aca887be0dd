package io.aether.sync;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A reader-writer lock on a lock file, across threads of this JVM and across processes.
 *
 * <p>POSIX record locks belong to the process, so one JVM must not lock the same file twice;
 * each lock file therefore has one in-JVM read-write lock, and the first shared holder in the
 * JVM takes the shared file lock for all of them. Used twice per store: {@code lock} (shared by
 * every operation that writes objects, exclusive for gc) and {@code refs.lock} (exclusive for a
 * ref compare-and-set).
 */
final class RepoLock {

    private static final Map<Path, RepoLock> LOCKS = new ConcurrentHashMap<>();

    private final Path file;
    private final ReentrantReadWriteLock rw = new ReentrantReadWriteLock();
    private int sharedHolders;
    private FileChannel sharedChannel;
    private FileLock sharedLock;

    private RepoLock(Path file) {
        this.file = file;
    }

    static RepoLock of(Path file) {
        return LOCKS.computeIfAbsent(file.toAbsolutePath().normalize(), RepoLock::new);
    }

    /** A held lock; closing releases it. */
    interface Held extends AutoCloseable {
        @Override
        void close() throws IOException;
    }

    Held shared() throws IOException {
        rw.readLock().lock();
        try {
            synchronized (this) {
                if (sharedHolders == 0) {
                    FileChannel ch = open();
                    try {
                        sharedLock = ch.lock(0, Long.MAX_VALUE, true);
                    } catch (IOException | RuntimeException e) {
                        ch.close();
                        throw e;
                    }
                    sharedChannel = ch;
                }
                sharedHolders++;
            }
        } catch (IOException | RuntimeException e) {
            rw.readLock().unlock();
            throw e;
        }
        return () -> {
            try {
                synchronized (this) {
                    if (--sharedHolders == 0) {
                        try {
                            sharedLock.release();
                        } finally {
                            sharedChannel.close();
                            sharedLock = null;
                            sharedChannel = null;
                        }
                    }
                }
            } finally {
                rw.readLock().unlock();
            }
        };
    }

    Held exclusive() throws IOException {
        rw.writeLock().lock();
        FileChannel ch;
        FileLock fl;
        try {
            ch = open();
            try {
                fl = ch.lock(0, Long.MAX_VALUE, false);
            } catch (IOException | RuntimeException e) {
                ch.close();
                throw e;
            }
        } catch (IOException | RuntimeException e) {
            rw.writeLock().unlock();
            throw e;
        }
        return () -> {
            try {
                try {
                    fl.release();
                } finally {
                    ch.close();
                }
            } finally {
                rw.writeLock().unlock();
            }
        };
    }

    private FileChannel open() throws IOException {
        return FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
    }
}
