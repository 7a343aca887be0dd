package io.aether.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The console log's bound on disk. */
@Timeout(30)
class ConsoleLogTest {

    @TempDir
    Path dir;

    @Test
    void aFullLogBecomesFileDotOneAndANewOneStarts() throws IOException {
        Path file = Files.writeString(dir.resolve("console.log"), "ab");
        try (ConsoleLog log = new ConsoleLog(file, 4)) {
            log.write("cdefghij".getBytes(StandardCharsets.US_ASCII));
            log.flush();
            assertEquals("ij", Files.readString(file));
            assertEquals("efgh", Files.readString(dir.resolve("console.log.1")), "abcd was replaced by the next full file");
            log.write('k');
            assertEquals(0, log.lostBytes());
        }
        assertEquals("ijk", Files.readString(file));
    }

    @Test
    void aFailedRotationStopsTheLogAndCountsWhatWasLost() throws IOException {
        Path file = dir.resolve("console.log");
        ConsoleLog log = new ConsoleLog(file, 4);
        log.write("abcd".getBytes(StandardCharsets.US_ASCII));
        // A non-empty directory where FILE.1 goes: the rotation's rename fails.
        Files.writeString(Files.createDirectory(dir.resolve("console.log.1")).resolve("x"), "x");
        log.write("ef".getBytes(StandardCharsets.US_ASCII));
        assertEquals(2, log.lostBytes());
        log.write("gh".getBytes(StandardCharsets.US_ASCII));
        assertEquals(4, log.lostBytes(), "the log stays stopped");
        log.close();
        assertEquals("abcd", Files.readString(file), "what was written stays");
    }
}
