package io.aether.discovery;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.aether.security.KeyId;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class BeaconTest {

    private static final HexFormat HEX = HexFormat.of();
    private static final String KEY = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    private static final Beacon CTL = new Beacon(Beacon.Role.CONTROLLER, "ctl-1", new KeyId(KEY), 7946, Instant.ofEpochMilli(1_700_000_000_123L));
    /** The layout of the class comment written out by hand: magic, version, role, flags, time, port, key, name. */
    private static final String CTL_WIRE = "4145424e" + "01" + "01" + "00" + "0000018bcfe5687b" + "1f0a" + KEY + "05" + "63746c2d31";

    @Test
    void theWireFormIsTheDocumentedLayout() throws Exception {
        assertEquals(CTL_WIRE, HEX.formatHex(CTL.encode()));
        assertEquals(CTL, Beacon.decode(ByteBuffer.wrap(HEX.parseHex(CTL_WIRE))));
    }

    @Test
    void aNodeBeaconWithTheLongestNameFitsTheBound() throws Exception {
        Beacon node = new Beacon(Beacon.Role.NODE, "n".repeat(63), new KeyId(KEY), 65535, Instant.EPOCH);
        byte[] wire = node.encode();
        assertEquals(Beacon.MAX_BYTES, wire.length);
        assertEquals(2, wire[5]);
        assertEquals(node, Beacon.decode(ByteBuffer.wrap(wire)));
    }

    @Test
    void eachBrokenFieldIsNamed() {
        assertMalformed("datagram: 3 bytes end inside the beacon", "414542");
        assertMalformed("magic: not an Aether beacon", CTL_WIRE.replaceFirst("^41", "42"));
        assertMalformed("version: 2 (this build reads 1)", patch(4, "02"));
        assertMalformed("role: 3 is neither 1 (controller) nor 2 (node)", patch(5, "03"));
        assertMalformed("flags: 128 (must be 0)", patch(6, "80"));
        assertMalformed("port: 0 is not 1..65535", patch(15, "0000"));
        assertMalformed("name length: 0 is not 1..63", patch(49, "00"));
        assertMalformed("name length: 64 is not 1..63", patch(49, "40"));
        assertMalformed("datagram: 55 bytes end inside the beacon", patch(49, "06"));
        assertMalformed("datagram: 1 bytes after the name", CTL_WIRE + "00");
        assertMalformed("name: '-tl-1' must be 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit", patch(50, "2d"));
        assertMalformed("name: 'ctl/1' must be 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit", patch(53, "2f"));
        assertMalformed("datagram: 114 bytes, a beacon has at most 113", "00".repeat(114));
    }

    @Test
    void recordsRefuseWhatCouldNotBeSent() {
        assertEquals("port: 70000 is not 1..65535", assertThrows(IllegalArgumentException.class,
                () -> new Beacon(Beacon.Role.NODE, "n", new KeyId(KEY), 70000, Instant.EPOCH)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Beacon(Beacon.Role.NODE, "", new KeyId(KEY), 1, Instant.EPOCH));
        assertThrows(IllegalArgumentException.class, () -> new Beacon(Beacon.Role.NODE, "é", new KeyId(KEY), 1, Instant.EPOCH));
    }

    /** CTL_WIRE with the bytes at {@code offset} replaced by {@code hex}. */
    private static String patch(int offset, String hex) {
        return CTL_WIRE.substring(0, 2 * offset) + hex + CTL_WIRE.substring(2 * offset + hex.length());
    }

    private static void assertMalformed(String message, String hex) {
        byte[] bytes = HEX.parseHex(hex);
        assertEquals(message, assertThrows(MalformedBeaconException.class, () -> Beacon.decode(ByteBuffer.wrap(bytes))).getMessage(), hex);
    }

    @Test
    void decodingReadsOnlyTheBufferGiven() throws Exception {
        byte[] withPrefix = HEX.parseHex("ffff" + CTL_WIRE);
        assertArrayEquals(CTL.encode(), Beacon.decode(ByteBuffer.wrap(withPrefix, 2, withPrefix.length - 2)).encode());
    }
}
