package io.aether.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The restore lock's record, written over the last holder's without truncating the file first.
 * A holder in the same JVM cannot be refused (closing a second descriptor of the file would drop
 * the lock), so the holder that refuses is another process: {@link Holder}.
 */
@Timeout(60)
class RestoreLockTest {

    @TempDir
    Path dir;

    @Test
    void theHoldersRecordIsItsPidPaddedWithSpacesToTwentyBytes() throws IOException {
        FileChannel lock = RestoreLock.acquire(dir);
        try {
            String pid = String.valueOf(ProcessHandle.current().pid());
            String expected = pid + " ".repeat(19 - pid.length()) + "\n";
            assertEquals(expected, Files.readString(dir.resolve("restore.lock"), StandardCharsets.US_ASCII));
        } finally {
            RestoreLock.release(lock);
        }
    }

    @Test
    void aRecordLeftLongerBySomethingElseIsCutToTheHoldersOwn() throws IOException {
        Files.writeString(dir.resolve("restore.lock"), "4194304 and a note someone left here, longer than a record\n");
        FileChannel lock = RestoreLock.acquire(dir);
        try {
            String content = Files.readString(dir.resolve("restore.lock"), StandardCharsets.US_ASCII);
            assertEquals(20, content.length(), content);
            assertEquals(String.valueOf(ProcessHandle.current().pid()), content.strip());
        } finally {
            RestoreLock.release(lock);
        }
    }

    @Test
    void aSecondRestoreIsRefusedNamingTheHolderWhoseRecordWasWrittenOverALongerOne() throws Exception {
        // The last holder's record: a longer pid than the next holder's, so a record written over
        // it without the padding would leave digits of it behind.
        Files.writeString(dir.resolve("restore.lock"), "99999999999         \n");
        Process holder = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), Holder.class.getName(), dir.toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(holder.getInputStream(), StandardCharsets.US_ASCII))) {
            assertEquals("locked", out.readLine(), "the holder took the lock");
            IOException refused = assertThrows(IOException.class, () -> RestoreLock.acquire(dir));
            assertTrue(refused.getMessage().contains("this snapshot is already restored and running (monitor process " + holder.pid() + ")"),
                    refused.getMessage());
        } finally {
            holder.getOutputStream().close();
            assertTrue(holder.waitFor(30, TimeUnit.SECONDS), "the holder ended");
        }
        // The kernel dropped the lock with its holder: the next restore takes it.
        RestoreLock.release(RestoreLock.acquire(dir));
        assertEquals(String.valueOf(ProcessHandle.current().pid()), Files.readString(dir.resolve("restore.lock"), StandardCharsets.US_ASCII).strip());
    }

    /** Another process holding the lock of the snapshot directory in its argument until its standard input ends. */
    static final class Holder {
        public static void main(String[] args) throws IOException {
            FileChannel lock = RestoreLock.acquire(Path.of(args[0]));
            System.out.println("locked");
            System.out.flush();
            System.in.readAllBytes();
            RestoreLock.release(lock);
        }
    }
}
