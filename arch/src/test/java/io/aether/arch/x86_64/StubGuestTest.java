package io.aether.arch.x86_64;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class StubGuestTest {

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) if (haystack[i + j] != needle[j]) continue outer;
            return i;
        }
        return -1;
    }

    @Test
    void theRamImageStartsInRealModeAndCarriesTheMessage() {
        var image = StubGuest.image(StubGuest.Program.HELLO);
        assertEquals(3, image.size());
        byte[] code = image.get(2).bytes();
        assertEquals(StubGuest.ENTRY, image.get(2).address());
        assertEquals((byte) 0xFA, code[0], "cli first");
        assertTrue(indexOf(code, StubGuest.MESSAGE.getBytes(StandardCharsets.US_ASCII)) > 0);
        byte[] gdtr = java.util.Arrays.copyOfRange(image.get(0).bytes(), 32, 38);
        assertArrayEquals(new byte[] {31, 0, 0x00, 0x05, 0, 0}, gdtr, "limit 31, base 0x500");
    }

    @Test
    void eachProgramEndsTheWayItSays() {
        byte[] hello = StubGuest.image(StubGuest.Program.HELLO).get(2).bytes();
        byte[] echo = StubGuest.image(StubGuest.Program.ECHO).get(2).bytes();
        byte[] crash = StubGuest.image(StubGuest.Program.CRASH).get(2).bytes();
        byte[] haltLoop = {(byte) 0xF4, (byte) 0xEB, (byte) 0xFD}; // hlt; jmp back to it
        assertTrue(indexOf(hello, haltLoop) > 0);
        assertTrue(indexOf(crash, new byte[] {0x0F, 0x0B, (byte) 0xF4, (byte) 0xEB, (byte) 0xFD}) > 0, "ud2 before the halt");
        assertTrue(indexOf(echo, new byte[] {0x3C, StubGuest.END_OF_ECHO}) > 0, "cmp al, Ctrl-D");
        assertEquals(-1, indexOf(hello, new byte[] {0x0F, 0x0B}));
        byte[] count = StubGuest.image(StubGuest.Program.COUNT).get(2).bytes();
        assertTrue(indexOf(count, "0123456789\r\n".getBytes(StandardCharsets.US_ASCII)) > 0, "the line it repeats");
        assertEquals(-1, indexOf(hello, "0123456789".getBytes(StandardCharsets.US_ASCII)));
    }

    @Test
    void theFirmwareImageHasAResetVectorTablesInRomAndTheSameMessage() {
        byte[] rom = StubGuest.firmware();
        assertEquals(64 * 1024, rom.length);
        // F000:FFF0: jmp far F000:0000
        assertArrayEquals(new byte[] {(byte) 0xEA, 0, 0, 0, (byte) 0xF0}, java.util.Arrays.copyOfRange(rom, 0xFFF0, 0xFFF5));
        ByteBuffer b = ByteBuffer.wrap(rom).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(0xF2000L | 0x23, b.getLong(0x1000), "PML4 -> PDPT in ROM, accessed bit preset");
        assertEquals(0xE3L, b.getLong(0x3000), "first 2 MiB page: present, writable, large, accessed, dirty");
        assertEquals(0xF4000, b.getInt(0x4022), "GDTR base: the GDT in ROM");
        assertTrue(indexOf(rom, StubGuest.MESSAGE.getBytes(StandardCharsets.US_ASCII)) > 0);
        // mov al, 0; out 0xf4, al: QEMU's isa-debug-exit
        assertTrue(indexOf(rom, new byte[] {(byte) 0xB0, 0, (byte) 0xE6, (byte) StubGuest.QEMU_DEBUG_EXIT_PORT}) > 0);
    }
}
