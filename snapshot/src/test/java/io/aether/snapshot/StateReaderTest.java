package io.aether.snapshot;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HexFormat;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class StateReaderTest {

    @Test
    void writesBigEndianFieldsAsDocumented() {
        Section s = new StateWriter().u8(0xAB).u16(0x1234).i32(-2).i64(0x0102030405060708L).bool(true)
                .bytes(new byte[] {7, 8}).toSection("x");
        assertEquals("ab" + "1234" + "fffffffe" + "0102030405060708" + "01" + "00000002" + "0708",
                HexFormat.of().formatHex(s.payload()));
    }

    @Test
    void readsHandBuiltFields() throws Exception {
        StateReader r = new Section("x", HexFormat.of().parseHex("ab1234fffffffe0102030405060708010000000207 08".replace(" ", ""))).reader();
        assertEquals(0xAB, r.u8("a"));
        assertEquals(0x1234, r.u16("b"));
        assertEquals(-2, r.i32("c"));
        assertEquals(0x0102030405060708L, r.i64("d"));
        assertTrue(r.bool("e"));
        assertArrayEquals(new byte[] {7, 8}, r.bytes("f", 2));
        r.end();
    }

    @Test
    void aConstructorsRefusalNamesTheSection() throws Exception {
        StateReader r = new Section("uart", new byte[0]).reader();
        var e = assertThrows(SnapshotException.class, () -> r.build(() -> {
            throw new IllegalArgumentException("ier: 0x10 has bits outside 0xf");
        }));
        assertEquals("section uart: ier: 0x10 has bits outside 0xf", e.getMessage());
        assertEquals("ok", r.build(() -> "ok"));
    }

    @Test
    void refusalsNameTheSectionAndField() {
        var e = assertThrows(SnapshotException.class, () -> new Section("serial", new byte[] {0, 0, 0}).reader().i32("lcr"));
        assertEquals("section serial: field lcr: truncated", e.getMessage());
        e = assertThrows(SnapshotException.class, () -> new Section("serial", new byte[] {2}).reader().bool("loopback"));
        assertEquals("section serial: field loopback: boolean byte 2 is not 0 or 1", e.getMessage());
        e = assertThrows(SnapshotException.class, () -> new Section("serial", new byte[] {(byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xF0})
                .reader().bytes("fifo", 16));
        assertEquals("section serial: field fifo: length 4294967280 is more than 16", e.getMessage());
        e = assertThrows(SnapshotException.class, () -> new Section("serial", new byte[] {0, 0, 0, 5, 1}).reader().bytes("fifo", 16));
        assertEquals("section serial: field fifo: truncated", e.getMessage());
        e = assertThrows(SnapshotException.class, () -> {
            StateReader r = new Section("serial", new byte[] {1, 2}).reader();
            r.u8("ier");
            r.end();
        });
        assertEquals("section serial: 1 bytes after the last field", e.getMessage());
        assertFalse(e.getMessage().isEmpty());
    }
}
