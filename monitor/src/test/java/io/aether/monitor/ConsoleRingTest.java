package io.aether.monitor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The console's bounded memory of recent output and its readers. */
@Timeout(30)
class ConsoleRingTest {

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    @Test
    void keepsOnlyTheLastCapacityBytesAndReadersFollowByPosition() throws Exception {
        ConsoleRing ring = new ConsoleRing(8);
        ring.write(ascii("0123456789abc"));
        assertEquals(13, ring.total());
        assertEquals(5, ring.oldest());
        byte[] into = new byte[16];
        int n = ring.read(5, into, 0);
        assertEquals("56789abc", new String(into, 0, n, StandardCharsets.US_ASCII));
        assertEquals(0, ring.read(13, into, 10), "nothing new: the wait ends empty");
        ConsoleRing.Overrun lost = assertThrows(ConsoleRing.Overrun.class, () -> ring.read(4, into, 0));
        assertEquals("1 bytes of console output were overwritten before this reader took them", lost.getMessage());
    }

    @Test
    void aWaitingReaderWakesForNewOutputAndEndsAfterClose() throws Exception {
        ConsoleRing ring = new ConsoleRing(4);
        byte[] into = new byte[2];
        Thread writer = Thread.ofVirtual().start(() -> {
            try {
                Thread.sleep(100);
                ring.write('x');
                ring.write(ascii("yz"), 0, 2);
                ring.close();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        // The reader waits for output; it may wake after the first write or after both.
        int first = ring.read(0, into, 10_000);
        assertEquals('x', into[0]);
        writer.join();
        byte[] rest = new byte[4];
        int more = ring.read(first, rest, 0);
        assertEquals(3 - first, more);
        assertArrayEquals(Arrays.copyOfRange(ascii("xyz"), first, 3), Arrays.copyOf(rest, more));
        assertEquals(-1, ring.read(3, into, 10_000), "closed and read to the end");
    }
}
