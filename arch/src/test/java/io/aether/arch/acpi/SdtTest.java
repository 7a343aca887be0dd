package io.aether.arch.acpi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import io.aether.testkit.Gen;
import io.aether.testkit.Property;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class SdtTest {

    private static final Sdt.Oem OEM = new Sdt.Oem("AETHER", "TESTTBL", 7, "AETH", 3);

    @Test
    void headerFieldsSitAtTheirSpecOffsets() {
        byte[] t = Sdt.table("SSDT", 2, OEM, new byte[] {1, 2, 3});
        ByteBuffer b = ByteBuffer.wrap(t).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals("SSDT", new String(t, 0, 4, StandardCharsets.US_ASCII));
        assertEquals(39, b.getInt(4));
        assertEquals(2, t[8]);
        assertEquals("AETHER", new String(t, 10, 6, StandardCharsets.US_ASCII));
        assertEquals("TESTTBL ", new String(t, 16, 8, StandardCharsets.US_ASCII), "OEM table id is space-padded");
        assertEquals(7, b.getInt(24));
        assertEquals("AETH", new String(t, 28, 4, StandardCharsets.US_ASCII));
        assertEquals(3, b.getInt(32));
        assertArrayEquals(new byte[] {1, 2, 3}, Arrays.copyOfRange(t, 36, 39));
        assertEquals(0, ChecksumOracle.tableSum(t));
    }

    @Test
    void everyTableSumsToZero() {
        Property.forAll(Gen.bytes(0, 300)).check(body -> {
            byte[] t = Sdt.table("DSDT", 2, OEM, body);
            assertEquals(0, ChecksumOracle.tableSum(t));
            assertEquals(36 + body.length, t.length);
        });
    }

    @Test
    void sumAndChecksumCoverExactlyTheirRange() {
        byte[] b = {(byte) 0x80, (byte) 0x80, 5, 7, (byte) 0xFF};
        assertEquals(0x85, Sdt.sum(b, 1, 3), "0x80 + 5: from inclusive, to exclusive");
        assertEquals(0x0B, Sdt.sum(b, 0, 5), "0x80 + 0x80 + 5 + 7 + 0xFF = 0x20B");
        assertEquals(0, Sdt.sum(b, 2, 2));
        assertEquals((byte) 0xF5, Sdt.checksum(b, 0, 5));
        assertEquals((byte) 0xFA, Sdt.checksum(b, 3, 5), "7 + 0xFF = 0x106, and 0x06 + 0xFA = 0x100");
    }

    @Test
    void badHeaderFieldsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> Sdt.table("DSD", 2, OEM, new byte[0]));
        assertThrows(IllegalArgumentException.class, () -> Sdt.table("DSDT", 256, OEM, new byte[0]));
        assertThrows(IllegalArgumentException.class, () -> new Sdt.Oem("TOOLONGID", "X", 1, "AETH", 1));
        assertThrows(IllegalArgumentException.class, () -> new Sdt.Oem("AETHER", "X", 1, "AE\u0001H", 1));
    }

    @Test
    void genericAddressEncodesTwelveBytes() {
        assertArrayEquals(new byte[] {1, 8, 0, 1, 0x02, 0x06, 0, 0, 0, 0, 0, 0}, GenericAddress.ioPort8(0x602).encode());
        assertThrows(IllegalArgumentException.class, () -> GenericAddress.ioPort8(0x10000));
        assertThrows(IllegalArgumentException.class, () -> new GenericAddress(0, 8, 0, 5, 0));
    }
}
