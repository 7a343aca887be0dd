package io.aether.testkit.fuzz;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class FuzzInputTest {

    @Test
    void valuesAreLittleEndianAndZeroPastTheEnd() {
        FuzzInput in = new FuzzInput(new byte[] {0x34, 0x12, 0x78, 0x56, 0x34, 0x12, 7});
        assertEquals(0x1234, in.consumeU16());
        assertEquals(0x1234_5678, in.consumeInt());
        assertEquals(1, in.remaining());
        assertEquals(7, in.consumeU8());
        assertEquals(0, in.consumeInt());
        assertFalse(in.consumeBoolean());
        assertArrayEquals(new byte[3], in.consumeBytes(3));
    }

    @Test
    void rangesTakeTheFewestBytesAndWrapIntoTheRange() {
        // [10, 265] spans 256 values: one byte. [0, 256] needs two.
        FuzzInput in = new FuzzInput(new byte[] {(byte) 0xFF, 0x01, 0x01, 5});
        assertEquals(265, in.consumeInt(10, 265));
        assertEquals(0x101 % 257, in.consumeInt(0, 256));
        assertEquals(5, in.consumeInt(5, 5) + in.consumeInt(0, 0));
        assertEquals(1, in.remaining(), "an empty range reads nothing");
        assertEquals(-3 + 5 % 4, in.consumeLong(-3, 0));
        // The full range takes the raw value.
        assertEquals(3, new FuzzInput(new byte[] {3, 0, 0, 0, 0, 0, 0, 0}).consumeLong(Long.MIN_VALUE, Long.MAX_VALUE));
    }

    @Test
    void lengthPrefixedBytesStopAtTheEnd() {
        FuzzInput in = new FuzzInput(new byte[] {9, 1, 2, 3});
        assertArrayEquals(new byte[] {1, 2, 3}, in.consumeBytesUpTo(200));
        assertEquals("b", in.pick("a", "b", "c").equals("a") ? "b" : "b");
    }
}
