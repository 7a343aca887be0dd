package io.aether.loader;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.testkit.Gen;
import io.aether.testkit.Property;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class Lz4Test {

    private static byte[] hex(String s) {
        return HexFormat.of().parseHex(s.replace(" ", ""));
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    private static byte[] block(byte[] b) throws Lz4.CorruptException {
        return Lz4.decodeBlock(b, 0, b.length, 1 << 20);
    }

    @Test
    void literalsOnlyBlock() throws Exception {
        // token 0x50: 5 literals, no match (the last sequence).
        assertArrayEquals(ascii("Hello"), block(hex("50 48 65 6C 6C 6F")));
    }

    @Test
    void blockWithAMatch() throws Exception {
        // token 0x44: 4 literals "abcd", match length 4+4 at offset 4; then token 0x30: "xyz".
        byte[] b = Lz4Test.concat(hex("44"), ascii("abcd"), hex("04 00"), hex("30"), ascii("xyz"));
        assertArrayEquals(ascii("abcdabcdabcdxyz"), block(b));
    }

    @Test
    void overlappingMatchRepeatsAPattern() throws Exception {
        // "a", then offset 1 with length 15+1+4 = 20: a run of 21 a's; then an empty last sequence.
        byte[] out = block(hex("1F 61 01 00 01 00"));
        byte[] expected = new byte[21];
        Arrays.fill(expected, (byte) 'a');
        assertArrayEquals(expected, out);
        // offset 2 over "ab": "ab" + 6 more = "abababab", then "!".
        assertArrayEquals(ascii("abababab!"), block(Lz4Test.concat(hex("22"), ascii("ab"), hex("02 00"), hex("10"), ascii("!"))));
    }

    @Test
    void longLiteralAndMatchLengthsUseExtensionBytes() throws Exception {
        byte[] lits = TestImages.pattern(300, 5);
        // literal length 15 + 255 + 30 = 300, then a match of 4 + 15 + 255 + 10 = 284 at offset 300.
        byte[] b = Lz4Test.concat(hex("FF FF 1E"), lits, hex("2C 01"), hex("FF 0A"), hex("00"));
        byte[] out = block(b);
        assertArrayEquals(Lz4Test.concat(lits, Arrays.copyOf(lits, 284)), out);
    }

    @Test
    void corruptBlocksAreRefused() {
        assertThrows(Lz4.CorruptException.class, () -> block(hex("")), "empty block");
        assertThrows(Lz4.CorruptException.class, () -> block(hex("50 48 65")), "literals past the end");
        assertThrows(Lz4.CorruptException.class, () -> block(Lz4Test.concat(hex("14"), ascii("a"), hex("00 00"), hex("00"))), "offset 0");
        assertThrows(Lz4.CorruptException.class, () -> block(Lz4Test.concat(hex("14"), ascii("a"), hex("02 00"), hex("00"))), "offset before the start");
        assertThrows(Lz4.CorruptException.class, () -> block(Lz4Test.concat(hex("14"), ascii("a"), hex("01"))), "half an offset");
        assertThrows(Lz4.CorruptException.class, () -> block(hex("F0 FF FF")), "literal length runs out");
        assertThrows(Lz4.CorruptException.class, () -> block(hex("1F 61 01 00 FF")), "match length runs out");
        assertThrows(Lz4.CorruptException.class, () -> block(hex("1F 61 01 00 01")), "a match must be followed by a last sequence");
    }

    @Test
    void outputIsCappedAgainstBombs() {
        // A 1 KiB block of 0xFF match-length bytes would expand to about 260 KB; the limit stops it first.
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(hex("1F 61 01 00"));
        for (int i = 0; i < 1024; i++) b.write(0xFF);
        b.writeBytes(hex("00 00"));
        byte[] bomb = b.toByteArray();
        var e = assertThrows(Lz4.CorruptException.class, () -> Lz4.decodeBlock(bomb, 0, bomb.length, 64 * 1024));
        assertTrue(e.getMessage().contains("more than 65536"), e.getMessage());
    }

    @Test
    void legacyFrameConcatenatesBlocksAndToleratesRepeatedMagic() throws Exception {
        byte[] data = TestImages.pattern(5000, 7);
        byte[] frame = TestImages.legacyFrame(data, 2048);
        assertArrayEquals(data, Lz4.decodeLegacyFrame(frame, 0, frame.length, 1 << 20, 0));
        byte[] twice = Lz4Test.concat(frame, frame);
        assertArrayEquals(Lz4Test.concat(data, data), Lz4.decodeLegacyFrame(twice, 0, twice.length, 1 << 20, 0));
    }

    @Test
    void corruptFramesAreRefused() {
        byte[] frame = TestImages.legacyFrame(TestImages.pattern(3000, 1), 1024);
        assertThrows(Lz4.CorruptException.class, () -> Lz4.decodeLegacyFrame(frame, 1, frame.length - 1, 1 << 20, 0), "no magic");
        assertThrows(Lz4.CorruptException.class, () -> Lz4.decodeLegacyFrame(frame, 0, frame.length - 1, 1 << 20, 0), "last block cut");
        assertThrows(Lz4.CorruptException.class, () -> Lz4.decodeLegacyFrame(frame, 0, 6, 1 << 20, 0), "block header cut");
        byte[] zeroBlock = Lz4Test.concat(TestImages.le32(Lz4.LEGACY_MAGIC), TestImages.le32(0));
        assertThrows(Lz4.CorruptException.class, () -> Lz4.decodeLegacyFrame(zeroBlock, 0, zeroBlock.length, 1 << 20, 0));
        byte[] huge = Lz4Test.concat(TestImages.le32(Lz4.LEGACY_MAGIC), TestImages.le32(-1), new byte[8]);
        assertThrows(Lz4.CorruptException.class, () -> Lz4.decodeLegacyFrame(huge, 0, huge.length, 1 << 20, 0));
        assertThrows(Lz4.CorruptException.class, () -> Lz4.decodeLegacyFrame(frame, 0, frame.length, 2999, 0), "output limit");
    }

    private static Gen<byte[]> compressible() {
        // Short alphabets and repeated chunks give the compressor matches, overlapping ones included.
        Gen<byte[]> chunk = Gen.bytes(1, 40, Gen.ints('a', 'd').map(Integer::byteValue));
        return Gen.lists(chunk, 0, 200).map(chunks -> {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            for (byte[] c : chunks) {
                out.writeBytes(c);
                if (c.length % 3 == 0) out.writeBytes(c);
            }
            return out.toByteArray();
        });
    }

    @Test
    void roundTripsWhatTheTestCompressorWrites() {
        Property.forAll(compressible()).tries(300).check(data -> {
            byte[] frame = TestImages.legacyFrame(data, 4096);
            assertArrayEquals(data, Lz4.decodeLegacyFrame(frame, 0, frame.length, data.length, data.length));
        });
    }

    @Test
    void roundTripsRandomBytes() {
        Property.forAll(Gen.bytes(0, 3000), Gen.ints(1, 5000)).tries(200).check((data, blockSize) -> {
            byte[] frame = TestImages.legacyFrame(data, blockSize);
            assertArrayEquals(data, Lz4.decodeLegacyFrame(frame, 0, frame.length, 1 << 20, 0));
        });
    }

    @Test
    void arbitraryBytesNeverEscapeAsAnythingButCorrupt() {
        Property.forAll(Gen.bytes(0, 200)).tries(1000).check(junk -> {
            byte[] framed = Lz4Test.concat(TestImages.le32(Lz4.LEGACY_MAGIC), TestImages.le32(junk.length), junk);
            try {
                byte[] out = Lz4.decodeLegacyFrame(framed, 0, framed.length, 4096, 0);
                assertTrue(out.length <= 4096);
            } catch (Lz4.CorruptException expected) {
                // refused cleanly
            }
        });
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) out.writeBytes(p);
        return out.toByteArray();
    }
}
