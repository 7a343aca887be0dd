package io.aether.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class ByteSizeTest {

    @Test
    void parsesBinaryMultiples() {
        assertEquals(4096, ByteSize.parse("4096").bytes());
        assertEquals(64 << 10, ByteSize.parse("64K").bytes());
        assertEquals(256L << 20, ByteSize.parse("256M").bytes());
        assertEquals(256L << 20, ByteSize.parse("256MiB").bytes());
        assertEquals(2L << 30, ByteSize.parse("2g").bytes());
        assertEquals(1L << 40, ByteSize.parse("1TB").bytes());
    }

    @Test
    void refusesWhatIsNotASize() {
        var e = assertThrows(IllegalArgumentException.class, () -> ByteSize.parse("lots"));
        assertEquals("not a size: 'lots' (expected e.g. 512M, 2G or a number of bytes)", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ByteSize.parse(""));
        assertThrows(IllegalArgumentException.class, () -> ByteSize.parse("-5M"));
        assertThrows(IllegalArgumentException.class, () -> ByteSize.parse("99999999999T"));
    }

    @Test
    void printsTheLargestExactUnit() {
        assertEquals("256M", ByteSize.ofMiB(256).toString());
        assertEquals("1G", ByteSize.ofMiB(1024).toString());
        assertEquals("1000", new ByteSize(1000).toString());
    }
}
