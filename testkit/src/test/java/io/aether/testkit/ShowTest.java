package io.aether.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ShowTest {

    @Test
    void byteArraysAreHexAndTruncated() {
        assertEquals("[3 bytes] 00 7f ff", Show.value(new byte[] {0, 0x7F, (byte) 0xFF}));
        String big = Show.value(new byte[1000]);
        assertTrue(big.startsWith("[1000 bytes] 00 00"), big);
        assertTrue(big.endsWith(" …"), big);
        assertEquals("[1000 bytes] ".length() + Show.MAX_BYTES * 3 - 1 + 2, big.length());
    }

    @Test
    void containersShowTheirElements() {
        assertEquals("[[1 bytes] 05, null, x]", Show.value(java.util.Arrays.asList(new byte[] {5}, null, "x")));
        assertEquals("[1, 2]", Show.value(new long[] {1, 2}));
        assertEquals("[1.5, NaN]", Show.value(new float[] {1.5f, Float.NaN}));
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put("init", new byte[] {1, 2});
        assertEquals("[init=[2 bytes] 01 02]", Show.value(files));
        String many = Show.value(java.util.stream.IntStream.range(0, 100).boxed().toList());
        assertTrue(many.endsWith(", 31, … (100 in all)]"), many);
    }

    @Test
    void longTextIsCut() {
        String text = Show.value("x".repeat(5000));
        assertEquals(Show.MAX_CHARS + "… (5000 characters)".length(), text.length());
        assertEquals("\n  value 1: a\n  value 2: (its generator threw)", Show.values(new Object[] {"a", null, null}, 1));
        assertEquals("\n  value 1: [a]", Show.values(new Object[] {List.of("a")}, 1));
    }
}
