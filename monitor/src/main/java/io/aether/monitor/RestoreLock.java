package io.aether.monitor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

/**
 * The guard against restoring one snapshot into two running VMs: the restored monitor holds an
 * exclusive lock on {@value #FILE} in the snapshot's directory for as long as its process lives,
 * and writes its process id there, padded with spaces to a record of {@value #RECORD_BYTES} bytes.
 * A second restore finds the lock taken and is refused.
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
    /** A process id in decimal (at most 19 digits), spaces, a newline. */
    static final int RECORD_BYTES = 20;
    /** What a refused restore reads of the holder's record: the record, and then some. */
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
            // The same length each time, written over the last holder's record: truncating the file
            // first cost ext4 about a millisecond a restore (freeing its block), writing over it a few µs.
            ByteBuffer record = record(ProcessHandle.current().pid());
            while (record.hasRemaining()) channel.write(record, record.position());
            // Longer only if something other than a monitor wrote it: an older monitor's record was shorter.
            if (channel.size() > RECORD_BYTES) channel.truncate(RECORD_BYTES);
            return channel;
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    /** {@code pid}'s record: its digits, spaces up to {@value #RECORD_BYTES} bytes with the newline. */
    static ByteBuffer record(long pid) {
        byte[] record = new byte[RECORD_BYTES];
        Arrays.fill(record, (byte) ' ');
        byte[] digits = Long.toString(pid).getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(digits, 0, record, 0, digits.length);
        record[RECORD_BYTES - 1] = '\n';
        return ByteBuffer.wrap(record);
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
