package io.aether.arch.acpi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.testkit.Gen;
import io.aether.testkit.Property;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

class AmlTest {

    private static byte[] hex(String s) {
        return HexFormat.of().parseHex(s.replace(" ", ""));
    }

    @Test
    void pkgLengthUsesOneByteUpTo63() {
        assertArrayEquals(hex("01"), Aml.pkgLength(0));
        assertArrayEquals(hex("3F"), Aml.pkgLength(62), "62 bytes of content + the length byte = 0x3F");
    }

    @Test
    void pkgLengthUsesTwoBytesUpTo4095() {
        // 63 bytes of content + 2 length bytes = 65 = 0x41: low nibble 1 in the lead byte, 0x04 next.
        assertArrayEquals(hex("41 04"), Aml.pkgLength(63));
        assertArrayEquals(hex("4F FF"), Aml.pkgLength(0xFFD), "0xFFD + 2 = 0xFFF, the largest 2-byte length");
    }

    @Test
    void pkgLengthUsesThreeAndFourBytesBeyond() {
        assertArrayEquals(hex("81 00 01"), Aml.pkgLength(0xFFE), "0xFFE + 3 = 0x1001");
        assertArrayEquals(hex("8F FF FF"), Aml.pkgLength(0xFFFFC), "0xFFFFC + 3 = 0xFFFFF");
        assertArrayEquals(hex("C1 00 00 01"), Aml.pkgLength(0xFFFFD), "0xFFFFD + 4 = 0x100001");
        assertArrayEquals(hex("CF FF FF FF"), Aml.pkgLength(0x0FFF_FFFB));
        assertThrows(IllegalArgumentException.class, () -> Aml.pkgLength(0x0FFF_FFFC));
        assertThrows(IllegalArgumentException.class, () -> Aml.pkgLength(-1));
    }

    @Test
    void pkgLengthDecodesToContentPlusItself() {
        Property.forAll(Gen.ints(0, 0x0FFF_FFFB)).tries(500).check(content -> {
            byte[] enc = Aml.pkgLength(content);
            int[] decoded = AmlDecoder.pkgLength(enc, 0);
            assertEquals(enc.length, decoded[1]);
            assertEquals(content + enc.length, decoded[0]);
            int minimal = content + 1 <= 0x3F ? 1 : content + 2 < 0x1000 ? 2 : content + 3 < 0x10_0000 ? 3 : 4;
            assertEquals(minimal, enc.length, "the shortest encoding is used");
        });
    }

    @Test
    void integersTakeTheirShortestForm() {
        assertArrayEquals(hex("00"), Aml.integer(0));
        assertArrayEquals(hex("01"), Aml.integer(1));
        assertArrayEquals(hex("FF"), Aml.integer(-1));
        assertArrayEquals(hex("0A 02"), Aml.integer(2));
        assertArrayEquals(hex("0A FF"), Aml.integer(0xFF));
        assertArrayEquals(hex("0B 00 01"), Aml.integer(0x100));
        assertArrayEquals(hex("0C 00 00 01 00"), Aml.integer(0x1_0000));
        assertArrayEquals(hex("0C 00 00 00 D0"), Aml.integer(0xD000_0000L));
        assertArrayEquals(hex("0E 00 00 00 00 01 00 00 00"), Aml.integer(1L << 32));
    }

    @Test
    void integersDecodeBack() {
        Property.forAll(Gen.longs(0, Long.MAX_VALUE)).check(value -> {
            List<Object> terms = AmlDecoder.decode(Aml.name("X", Aml.integer(value)));
            assertEquals(value, ((AmlDecoder.Named) terms.getFirst()).value());
        });
    }

    @Test
    void nameStringsPadSegmentsAndUsePrefixes() {
        assertArrayEquals("_SB_".getBytes(), Aml.nameString("_SB_"));
        assertArrayEquals("_SB_".getBytes(), Aml.nameString("_SB"), "short segments are padded with _");
        assertArrayEquals(hex("5C 5F 53 42 5F"), Aml.nameString("\\_SB_"));
        assertArrayEquals(hex("2E 5F 53 42 5F 50 43 49 30"), Aml.nameString("_SB.PCI0"));
        assertArrayEquals(hex("5C 2F 03 5F 53 42 5F 50 43 49 30 49 53 41 5F"), Aml.nameString("\\_SB.PCI0.ISA"));
        assertArrayEquals(hex("5E 5E 46 4F 4F 5F"), Aml.nameString("^^FOO"));
        assertArrayEquals(hex("5C 00"), Aml.nameString("\\"), "the root alone ends with a NullName");
    }

    @Test
    void badNameSegmentsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> Aml.nameString("1ABC"), "digits cannot lead");
        assertThrows(IllegalArgumentException.class, () -> Aml.nameString("abcd"), "lower case is not AML");
        assertThrows(IllegalArgumentException.class, () -> Aml.nameString("TOOLONG"));
        assertThrows(IllegalArgumentException.class, () -> Aml.nameString("A..B"));
    }

    @Test
    void stringsAreNulTerminatedAscii() {
        assertArrayEquals(hex("0D 4C 4E 52 4F 30 30 30 35 00"), Aml.string("LNRO0005"));
        assertThrows(IllegalArgumentException.class, () -> Aml.string("a\0b"));
        assertThrows(IllegalArgumentException.class, () -> Aml.string("caf\u00e9"));
    }

    @Test
    void eisaIdsCompressAsAslDoes() {
        // PNP0501: P=0x10, N=0x0E, P=0x10 -> 0b0_10000_01110_10000 = 0x41D0, then 0x05 0x01.
        assertArrayEquals(hex("0C 41 D0 05 01"), Aml.eisaId("PNP0501"));
        assertArrayEquals(hex("0C 41 D0 0A 03"), Aml.eisaId("PNP0A03"));
        assertThrows(IllegalArgumentException.class, () -> Aml.eisaId("PNP050"));
        assertThrows(IllegalArgumentException.class, () -> Aml.eisaId("pnp0501"));
        assertThrows(IllegalArgumentException.class, () -> Aml.eisaId("PNP05G1"));
        assertThrows(IllegalArgumentException.class, () -> Aml.eisaId("PNP+501"));
    }

    @Test
    void s5PackageMatchesHandEncoding() {
        // NameOp "_S5_" PackageOp PkgLength(7) NumElements(4) BytePrefix 5, Zero, Zero, Zero
        byte[] expected = hex("08 5F 53 35 5F 12 07 04 0A 05 00 00 00");
        assertArrayEquals(expected, Aml.name("_S5_", Aml.pkg(Aml.integer(5), Aml.integer(0), Aml.integer(0), Aml.integer(0))));
    }

    @Test
    void resourceDescriptorsMatchTheSpecLayouts() {
        assertArrayEquals(hex("86 09 00 01 00 10 00 D0 00 02 00 00"), Aml.memory32Fixed(true, 0xD000_1000L, 0x200));
        assertArrayEquals(hex("86 09 00 00 00 00 00 00 00 10 00 00"), Aml.memory32Fixed(false, 0, 0x1000));
        assertArrayEquals(hex("89 06 00 01 01 05 00 00 00"),
                Aml.extendedInterrupt(Aml.Trigger.LEVEL, Aml.Polarity.ACTIVE_HIGH, false, 5));
        assertArrayEquals(hex("89 06 00 0F 01 17 00 00 00"),
                Aml.extendedInterrupt(Aml.Trigger.EDGE, Aml.Polarity.ACTIVE_LOW, true, 23));
        assertArrayEquals(hex("47 01 F8 03 F8 03 00 08"), Aml.io16(0x3F8, 0x3F8, 0, 8));
        assertArrayEquals(hex("22 10 00"), Aml.irqNoFlags(4));
        assertArrayEquals(hex("22 00 80"), Aml.irqNoFlags(15));
        assertThrows(IllegalArgumentException.class, () -> Aml.irqNoFlags(16));
        assertThrows(IllegalArgumentException.class, () -> Aml.memory32Fixed(true, 1L << 32, 1));
        assertThrows(IllegalArgumentException.class, () -> Aml.io16(0x400, 0x3F8, 0, 8));
    }

    @Test
    void resourceTemplateIsABufferEndingWithEndTag() {
        byte[] rt = Aml.resourceTemplate(Aml.irqNoFlags(4));
        // BufferOp PkgLength(8: itself + 2-byte size + 5 bytes) BytePrefix 5 | 22 10 00 | 79 00
        assertArrayEquals(hex("11 08 0A 05 22 10 00 79 00"), rt);
    }

    @Test
    void devicesAndScopesNestAndDecode() {
        byte[] aml = Aml.scope("\\_SB_",
                Aml.device("COM1", Aml.name("_HID", Aml.eisaId("PNP0501")), Aml.name("_UID", Aml.integer(0))),
                Aml.device("V001", Aml.name("_HID", Aml.string("LNRO0005")), Aml.name("_UID", Aml.integer(1))));
        assertEquals(0x10, aml[0]);
        List<Object> top = AmlDecoder.decode(aml);
        assertEquals(1, top.size());
        AmlDecoder.Block sb = (AmlDecoder.Block) top.getFirst();
        assertEquals("\\_SB_", sb.name());
        List<AmlDecoder.Block> devices = sb.blocks("Device");
        assertEquals(List.of("COM1", "V001"), devices.stream().map(AmlDecoder.Block::name).toList());
        assertEquals(0x0105_D041L, devices.get(0).value("_HID"));
        assertEquals("LNRO0005", devices.get(1).value("_HID"));
        assertEquals(1L, devices.get(1).value("_UID"));
    }

    @Test
    void largeScopesUseMultiBytePkgLengths() {
        byte[][] names = new byte[40][];
        for (int i = 0; i < names.length; i++) names[i] = Aml.name(String.format("N%03d", i), Aml.integer(0x1234_5678L + i));
        byte[] aml = Aml.scope("\\_SB_", names);
        int[] pl = AmlDecoder.pkgLength(aml, 1);
        assertEquals(2, pl[1], "40 names of 10 bytes need a 2-byte PkgLength");
        assertEquals(aml.length - 1, pl[0]);
        AmlDecoder.Block sb = (AmlDecoder.Block) AmlDecoder.decode(aml).getFirst();
        assertEquals(40, sb.children().size());
        assertEquals(0x1234_5678L + 39, sb.value("N039"));
    }

    @Test
    void packagesAreLimitedTo255Elements() {
        byte[][] many = new byte[256][];
        java.util.Arrays.fill(many, Aml.integer(0));
        assertThrows(IllegalArgumentException.class, () -> Aml.pkg(many));
        byte[] max = Aml.pkg(java.util.Arrays.copyOf(many, 255));
        assertTrue(max.length > 255);
        assertEquals(255, max[3] & 0xFF, "NumElements follows a 2-byte PkgLength");
    }
}
