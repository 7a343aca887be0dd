package io.aether.monitor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The guard against restoring one snapshot into two running VMs: the restored monitor holds an
 * exclusive lock on {@value #FILE} in the snapshot's directory for as long as its process lives,
 * and writes its process id there. A second restore finds the lock taken and is refused.
 *
 * <p>Why: two guests from one snapshot start from the same memory, so they share the state of
 * their random number generators (the same "random" keys, nonces and TCP sequence numbers),
 * their MAC addresses and every secret in memory. {@code --allow-clone} restores anyway, taking
 * no lock, for guests that reseed and change their identity after a restore.
 *
 * <p>The lock is a POSIX record lock: the kernel drops it when the process ends, however it ends
 * (a SIGKILL included), so no stale lock outlives its monitor. Such locks belong to the process
 * and end when any descriptor of the file it holds is closed: the holder never opens the file again.
 */
final class RestoreLock {

    static final String FILE = "restore.lock";
    /** A process id in decimal, and then some. */
    private static final int MAX_HOLDER_BYTES = 32;

    private RestoreLock() {
    }

    /**
     * Takes the lock of the snapshot in {@code dir}, to be held until the process ends.
     *
     * @throws IOException naming the directory, if another running restore holds it (with that
     *     monitor's process id) or the lock file cannot be made
     */
    static FileChannel acquire(Path dir) throws IOException {
        Path file = dir.resolve(FILE);
        FileChannel channel;
        try {
            channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new IOException(dir + ": cannot take the restore lock " + file + ": " + e.getMessage()
                    + " (--allow-clone restores without it)", e);
        }
        try {
            FileLock lock = channel.tryLock();
            if (lock == null) {
                ByteBuffer holder = ByteBuffer.allocate(MAX_HOLDER_BYTES);
                channel.read(holder, 0);
                String pid = new String(holder.array(), 0, holder.position(), StandardCharsets.US_ASCII).strip();
                throw new IOException(dir + ": this snapshot is already restored and running (monitor process "
                        + (pid.matches("[0-9]{1,19}") ? pid : "unknown") + "); two restores would share random state, MAC addresses"
                        + " and secrets; --allow-clone restores it anyway");
            }
            channel.truncate(0);
            channel.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)), 0);
            return channel;
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    /** Lets go of a lock taken for a restore that was then refused; null does nothing. */
    static void release(FileChannel lock) {
        if (lock == null) return;
        try {
            lock.close();
        } catch (IOException e) {
            // Closing drops the lock whatever the error.
        }
    }
}
