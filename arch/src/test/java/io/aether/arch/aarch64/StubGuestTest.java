package io.aether.arch.aarch64;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The A64 encoder and the arm64 stub guest against instruction words derived by hand from the
 * Arm ARM's encoding diagrams (field by field, in the comments), not from the encoder.
 */
@Timeout(10)
class StubGuestTest {

    private static int word(A64 a) {
        return ByteBuffer.wrap(a.assemble()).order(ByteOrder.LITTLE_ENDIAN).getInt(0);
    }

    @Test
    void eachInstructionEncodesAsTheArmArmSays() {
        // MOVZ (64-bit): sf=1 opc=10 100101 hw imm16 Rd: 0xd2800000 | hw=1 << 21 | 0x900 << 5 | 1.
        assertEquals(0xD2A1_2001, word(new A64().movz(1, 0x900, 16)));
        // MOVK (64-bit): 0xf2800000 | hw=1 << 21 | 0x8400 << 5 | 0.
        assertEquals(0xF2B0_8000, word(new A64().movk(0, 0x8400, 16)));
        // HVC: 11010100 000 imm16 000 10.
        assertEquals(0xD400_0002, word(new A64().hvc(0)));
        // LDRB (post-index): 00111000 010 imm9 01 Rn Rt, imm9 = 1 << 12, Rn = 2 << 5, Rt = 3.
        assertEquals(0x3840_1443, word(new A64().ldrbPostIndex(3, 2, 1)));
        // LDRB (unsigned offset): 00111001 01 imm12 Rn Rt: 5 << 10 | 1 << 5 | 3.
        assertEquals(0x3940_1423, word(new A64().ldrb(3, 1, 5)));
        // STRB (unsigned offset): 00111001 00 imm12 Rn Rt: 0 | 1 << 5 | 3.
        assertEquals(0x3900_0023, word(new A64().strb(3, 1, 0)));
        // CMP (SUBS WZR, 32-bit immediate): 0x7100001f | 4 << 10 | 3 << 5.
        assertEquals(0x7100_107F, word(new A64().cmp(3, 4)));
        // B to itself: imm26 = 0.
        assertEquals(0x1400_0000, word(new A64().label("here").b("here")));
        // B.EQ two instructions on: 01010100 imm19=2 0 cond=0000.
        assertEquals(0x5400_0040, word(new A64().beq("on").label("x").b("x").label("on").b("on")));
        // TBZ W3, #0 to the instruction before: b5=0 011011 0 b40=0 imm14=-1 (0x3fff) Rt=3.
        int[] back = words(new A64().label("poll").b("poll").tbz(3, 0, "poll"));
        assertEquals(0x3607_FFE3, back[1]);
        // ADR X2 to 48 bytes on: immlo = 0, immhi = 12 << 5, Rd = 2.
        var adr = new A64().adr(2, "data");
        for (int i = 0; i < 11; i++) adr.hvc(0);
        adr.bytes("data", new byte[] {1});
        assertEquals(0x1000_0182, words(adr)[0]);
    }

    private static int[] words(A64 a) {
        byte[] code = a.assemble();
        int[] out = new int[code.length / 4];
        ByteBuffer.wrap(code).order(ByteOrder.LITTLE_ENDIAN).asIntBuffer().get(out);
        return out;
    }

    @Test
    void operandsOutOfRangeAndUnplacedLabelsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new A64().movz(31, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new A64().movz(0, 0x1_0000, 0));
        assertThrows(IllegalArgumentException.class, () -> new A64().movk(0, 1, 8));
        assertThrows(IllegalArgumentException.class, () -> new A64().ldrbPostIndex(0, 1, 256));
        assertThrows(IllegalArgumentException.class, () -> new A64().strb(0, 1, 4096));
        assertThrows(IllegalArgumentException.class, () -> new A64().tbz(0, 32, "x"));
        assertThrows(IllegalArgumentException.class, () -> new A64().b("nowhere").assemble());
        assertThrows(IllegalArgumentException.class, () -> new A64().label("a").label("a"));
    }

    @Test
    void helloPrintsItsMessageOnTheUartThenCallsPsciSystemOff() {
        byte[] image = StubGuest.image(StubGuest.Program.HELLO);
        int[] code = new int[10];
        ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN).asIntBuffer().get(code);
        assertArrayEquals(new int[] {
            0xD2A1_2001, // movz x1, #0x900, lsl #16: the UART at 0x0900_0000
            0x1000_0122, // adr x2, message (36 bytes on: immhi = 9)
            0x3840_1443, // ldrb w3, [x2], #1
            0x3400_0063, // cbz w3, +12
            0x3900_0023, // strb w3, [x1]
            0x17FF_FFFD, // b -12
            0xD280_0100, // movz x0, #0x0008
            0xF2B0_8000, // movk x0, #0x8400, lsl #16: PSCI SYSTEM_OFF 0x84000008
            0xD400_0002, // hvc #0
            0x17FF_FFFD, // b -12, back to the call should it return
        }, code);
        byte[] message = (StubGuest.MESSAGE + "\0").getBytes(StandardCharsets.US_ASCII);
        assertArrayEquals(message, Arrays.copyOfRange(image, 40, image.length));
    }

    @Test
    void smcccFunctionIdsPackFastCallOwnerAndFunction() {
        // DEN 0028: bit 31 fast call, bit 30 SMC64 (clear: SMC32), bits 29:24 owner, bits 15:0 function.
        assertEquals(0x8400_0008, Smccc.fastCall32(4, 8)); // PSCI SYSTEM_OFF, as Linux's psci.h numbers it
        assertEquals(0x8600_AE00, Smccc.AETHER_NEXT); // 0x8000_0000 | 6 << 24 | 0xAE00
        assertEquals(0x8600_AE00, Smccc.fastCall32(Smccc.OWNER_VENDOR_HYPERVISOR, 0xAE00));
        assertThrows(IllegalArgumentException.class, () -> Smccc.fastCall32(64, 0));
        assertThrows(IllegalArgumentException.class, () -> Smccc.fastCall32(6, 0x1_0000));
    }

    @Test
    void hypercallPassesItsArgumentInX1ThroughHvcAndPrintsTheAnswerThroughAnotherUartRegister() {
        byte[] image = StubGuest.image(StubGuest.Program.HYPERCALL);
        int[] words = new int[image.length / 4];
        ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN).asIntBuffer().get(words);
        int call = -1;
        for (int i = 0; i < words.length && call < 0; i++) {
            if (words[i] == 0xD295_C000) call = i; // movz x0, #0xAE00 (0xD2800000 | 0xAE00 << 5 | 0)
        }
        assertTrue(call > 0, "the call's function id is loaded");
        assertArrayEquals(new int[] {
            0xD295_C000, // movz x0, #0xae00
            0xF2B0_C000, // movk x0, #0x8600, lsl #16 (0xF2800000 | hw 1 << 21 | 0x8600 << 5): x0 = 0x8600ae00
            0xD280_0821, // movz x1, #0x41 ('A')
            0xD400_0002, // hvc #0
            0xD2A1_2004, // movz x4, #0x900, lsl #16: the UART, x1 being the answer
        }, Arrays.copyOfRange(words, call, call + 5));
        assertEquals(0x3400_0000, words[call + 5] & 0xFF00_001F, "cbz w0: SUCCESS (0) goes to the answer");
        int answered = call + 5 + (words[call + 5] >> 5 & 0x7FFFF);
        assertEquals(0x3900_0081, words[answered], "strb w1, [x4]: the answer's low byte on the UART");
        String text = new String(image, StandardCharsets.US_ASCII);
        assertTrue(text.contains("hypercall: \0refused\r\n\0\r\n\0"), "the strings after the code");
    }
}
