package io.aether.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class ProcessMemoryTest {

    @TempDir
    Path dir;

    private static String fixture() throws IOException {
        try (InputStream in = ProcessMemoryTest.class.getResourceAsStream("smaps_rollup.txt")) {
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        }
    }

    @Test
    void readsRssPssAndPrivatePagesFromARollup() throws IOException {
        // The fixture, a real smaps_rollup, says: Rss 1640 kB, Pss 208 kB, Private_Clean 40 kB, Private_Dirty 112 kB.
        Path file = dir.resolve("smaps_rollup");
        Files.writeString(file, fixture());
        assertEquals(new ProcessMemory(1640 * 1024, 208 * 1024, (40 + 112) * 1024), ProcessMemory.read(file));
    }

    @Test
    void thisProcessHasMemory() throws IOException {
        ProcessMemory self = ProcessMemory.read(ProcessMemory.SELF);
        assertTrue(self.pssBytes() > 0 && self.pssBytes() <= self.rssBytes(), self.toString());
        assertTrue(self.privateBytes() > 0 && self.privateBytes() <= self.rssBytes(), self.toString());
    }

    @Test
    void aMalformedOrOversizedRollupIsRefusedNamingTheField() throws IOException {
        assertEquals("x: no Pss line", assertThrows(IOException.class,
                () -> ProcessMemory.parse("x", fixture().replace("Pss:", "Psx:"))).getMessage());
        assertEquals("x: Rss is not a size in kB: '17x'", assertThrows(IOException.class,
                () -> ProcessMemory.parse("x", fixture().replace("Rss:                1640 kB", "Rss: 17x kB"))).getMessage());
        // The sizes' bounds: 1 to 15 ASCII digits (no sign, no other script's digits).
        for (String bad : List.of("", "1234567890123456", "-1", "\u0661\u0662")) {
            assertEquals("x: Rss is not a size in kB: '" + bad + "'", assertThrows(IOException.class,
                    () -> ProcessMemory.parse("x", fixture().replace("Rss:                1640 kB", "Rss: " + bad + " kB"))).getMessage());
        }
        assertEquals(999_999_999_999_999L * 1024, ProcessMemory.parse("x", fixture().replace("1640 kB", "999999999999999 kB")).rssBytes());
        Path huge = dir.resolve("huge");
        Files.writeString(huge, fixture() + " ".repeat(ProcessMemory.MAX_BYTES));
        assertEquals(huge + ": larger than 65536 bytes", assertThrows(IOException.class, () -> ProcessMemory.read(huge)).getMessage());
    }
}
