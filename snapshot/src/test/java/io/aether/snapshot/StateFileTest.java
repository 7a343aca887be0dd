package io.aether.snapshot;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.testkit.Gen;
import io.aether.testkit.Property;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class StateFileTest {

    /** CRC32C written out bit by bit (reflected polynomial 0x82F63B78), independent of java.util.zip. */
    static int crc32c(byte[] bytes, int from, int to) {
        int crc = 0xFFFF_FFFF;
        for (int i = from; i < to; i++) {
            crc ^= bytes[i] & 0xFF;
            for (int bit = 0; bit < 8; bit++) crc = (crc & 1) != 0 ? (crc >>> 1) ^ 0x82F6_3B78 : crc >>> 1;
        }
        return ~crc;
    }

    /** Two sections, "uart" = 01 02 03 and "q0" = empty, laid out by hand. */
    static byte[] handBuilt(int version) {
        HexFormat hex = HexFormat.of();
        String body = hex.formatHex("AETHSTAT".getBytes(StandardCharsets.US_ASCII))
                + "%08x".formatted(version) + "00000002"
                + "04" + hex.formatHex("uart".getBytes(StandardCharsets.US_ASCII)) + "00000003" + "010203"
                + "%08x".formatted(crc32c(new byte[] {1, 2, 3}, 0, 3))
                + "02" + hex.formatHex("q0".getBytes(StandardCharsets.US_ASCII)) + "00000000"
                + "00000000"; // the CRC32C of no bytes is 0
        byte[] b = hex.parseHex(body);
        return hex.parseHex(body + "%08x".formatted(crc32c(b, 0, b.length)));
    }

    static final List<Section> HAND_SECTIONS = List.of(new Section("uart", new byte[] {1, 2, 3}), new Section("q0", new byte[0]));

    @Test
    void theTestsCrcMatchesTheStandardCheckValue() {
        byte[] check = "123456789".getBytes(StandardCharsets.US_ASCII);
        assertEquals(0xE306_9283, crc32c(check, 0, check.length));
    }

    @Test
    void encodesTheDocumentedLayout() {
        assertArrayEquals(handBuilt(1), StateFile.encode(HAND_SECTIONS));
    }

    @Test
    void decodesHandBuiltBytes() throws Exception {
        assertEquals(HAND_SECTIONS, StateFile.decode(handBuilt(1)));
    }

    @Test
    void refusesEveryTruncation() {
        byte[] file = handBuilt(1);
        for (int length = 0; length < file.length; length++) {
            byte[] prefix = java.util.Arrays.copyOf(file, length);
            var e = assertThrows(SnapshotException.class, () -> StateFile.decode(prefix), "prefix of " + length);
            assertTrue(e.getMessage().contains("truncated") || e.getMessage().contains("checksum is missing"),
                    length + ": " + e.getMessage());
        }
    }

    @Test
    void truncationInsideASectionNamesIt() {
        byte[] file = handBuilt(1);
        // header 16, "uart" section header 1+4+4 = 25, then 2 of its 3 payload bytes
        var e = assertThrows(SnapshotException.class, () -> StateFile.decode(java.util.Arrays.copyOf(file, 27)));
        assertTrue(e.getMessage().startsWith("truncated in section uart"), e.getMessage());
    }

    @Test
    void refusesEveryFlippedByte() {
        byte[] file = handBuilt(1);
        for (int i = 0; i < file.length; i++) {
            for (int bit = 0; bit < 8; bit++) {
                byte[] bad = file.clone();
                bad[i] ^= (byte) (1 << bit);
                assertThrows(SnapshotException.class, () -> StateFile.decode(bad), "byte " + i + " bit " + bit);
            }
        }
    }

    @Test
    void aFlippedPayloadByteNamesItsSection() {
        byte[] bad = handBuilt(1);
        bad[26] ^= 0x40; // the second payload byte of "uart"
        var e = assertThrows(SnapshotException.class, () -> StateFile.decode(bad));
        assertEquals("section uart: checksum mismatch (corrupt)", e.getMessage());
    }

    @Test
    void refusesAnotherFormatVersion() {
        var e = assertThrows(SnapshotException.class, () -> StateFile.decode(handBuilt(2)));
        assertEquals("format version 2 is not supported (this build reads version 1)", e.getMessage());
        assertThrows(SnapshotException.class, () -> StateFile.decode(handBuilt(0)));
    }

    @Test
    void refusesBadMagic() {
        byte[] bad = handBuilt(1);
        bad[0] = 'X';
        assertEquals("not an Aether state file (bad magic)", assertThrows(SnapshotException.class, () -> StateFile.decode(bad)).getMessage());
    }

    @Test
    void refusesOversizedLengthsBeforeAllocating() {
        byte[] header = handBuilt(1);
        byte[] count = header.clone();
        count[12] = 0x7F; // 2 billion sections
        assertTrue(assertThrows(SnapshotException.class, () -> StateFile.decode(count)).getMessage()
                .startsWith("section count 2130706434 is more than"));
        byte[] length = header.clone();
        length[21] = (byte) 0xFF; // "uart" claims 4 GiB
        assertTrue(assertThrows(SnapshotException.class, () -> StateFile.decode(length)).getMessage()
                .startsWith("section uart: length 4278190083 is more than"));
        byte[] beyond = header.clone();
        beyond[24] = 100; // "uart" claims 100 bytes, within limits but past the end
        assertTrue(assertThrows(SnapshotException.class, () -> StateFile.decode(beyond)).getMessage()
                .startsWith("truncated in section uart"));
        byte[] name = header.clone();
        name[16] = (byte) 200;
        assertEquals("section #0: name length 200 is not 1..64",
                assertThrows(SnapshotException.class, () -> StateFile.decode(name)).getMessage());
    }

    @Test
    void refusesTrailingBytes() {
        byte[] file = handBuilt(1);
        byte[] longer = java.util.Arrays.copyOf(file, file.length + 1);
        assertEquals("1 bytes after the file checksum", assertThrows(SnapshotException.class, () -> StateFile.decode(longer)).getMessage());
    }

    @Test
    void refusesDuplicateAndBadNames() {
        assertThrows(IllegalArgumentException.class, () -> StateFile.encode(List.of(new Section("a", new byte[0]), new Section("a", new byte[0]))));
        assertThrows(IllegalArgumentException.class, () -> new Section("Serial", new byte[0]));
        assertThrows(IllegalArgumentException.class, () -> new Section("", new byte[0]));
    }

    @Test
    void anyListOfSectionsRoundTrips() {
        Gen<Section> section = Gen.strings(1, 12, 'a', 'z').flatMap(name -> Gen.bytes(0, 64).map(p -> new Section(name, p)));
        Property.forAll(Gen.lists(section, 0, 8)).tries(300).check(list -> {
            List<Section> unique = new ArrayList<>();
            list.stream().filter(s -> unique.stream().noneMatch(u -> u.name().equals(s.name()))).forEach(unique::add);
            assertEquals(unique, StateFile.decode(StateFile.encode(unique)));
        });
    }

    @Test
    void streamsRoundTripAndLimitTheirLength() throws Exception {
        var out = new ByteArrayOutputStream();
        StateFile.write(out, HAND_SECTIONS);
        assertEquals(HAND_SECTIONS, StateFile.read(new ByteArrayInputStream(out.toByteArray())));
        var endless = new java.io.InputStream() {
            long served;

            @Override
            public int read() {
                served++;
                return 0;
            }

            @Override
            public int read(byte[] b, int off, int len) {
                served += len;
                return len;
            }
        };
        assertThrows(SnapshotException.class, () -> StateFile.read(endless));
        assertTrue(endless.served <= StateFile.MAX_FILE_BYTES + 1);
    }

    @Test
    void filesAreReplacedWholeAndLeaveNoTemporary(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("vm.state");
        StateFile.write(file, HAND_SECTIONS);
        assertArrayEquals(handBuilt(1), Files.readAllBytes(file));
        List<Section> next = List.of(new Section("rng", new byte[] {9}));
        StateFile.write(file, next);
        assertEquals(next, StateFile.read(file));
        try (var listing = Files.list(dir)) {
            assertEquals(List.of(file), listing.toList());
        }
        Files.write(file, new byte[] {1, 2});
        var e = assertThrows(SnapshotException.class, () -> StateFile.read(file));
        assertTrue(e.getMessage().startsWith(file + ": truncated"), e.getMessage());
    }

    @Test
    void aFailedWriteLeavesTheOldFile(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("vm.state");
        StateFile.write(file, HAND_SECTIONS);
        byte[] tooMany = new byte[StateFile.MAX_SECTION_BYTES];
        List<Section> big = new ArrayList<>();
        for (int i = 0; i < 4; i++) big.add(new Section("s" + i, tooMany));
        assertThrows(IllegalArgumentException.class, () -> StateFile.write(file, big));
        assertEquals(HAND_SECTIONS, StateFile.read(file));
        try (var listing = Files.list(dir)) {
            assertFalse(listing.anyMatch(p -> !p.equals(file)));
        }
    }
}
