package io.aether.arch.fdt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class FdtWriterTest {

    @TempDir
    Path dir;

    /**
     * Every byte written out by hand from the Devicetree Specification v0.4, chapter 5: header
     * (5.2), reservation block at offset 40 (5.3), structure tokens (5.4), strings block (5.5).
     */
    @Test
    void aTinyTreeIsTheBytesTheSpecificationPrescribes() {
        FdtWriter w = new FdtWriter().reserveMemory(0x1000, 0x2000);
        w.beginNode("").propertyU32("a", 1);
        w.beginNode("c@1").propertyU32("a", 2).propertyEmpty("bb").endNode();
        w.endNode();
        byte[] dtb = w.finish(0);

        String expected = ""
                // magic, totalsize 149, off_dt_struct 72, off_dt_strings 144, off_mem_rsvmap 40,
                // version 17, last_comp_version 16, boot_cpuid_phys 0, size_dt_strings 5, size_dt_struct 72
                + "d00dfeed 00000095 00000048 00000090 00000028 00000011 00000010 00000000 00000005 00000048"
                // reservation {0x1000, 0x2000}, then the {0, 0} terminator
                + "0000000000001000 0000000000002000 0000000000000000 0000000000000000"
                // FDT_BEGIN_NODE, root name "" padded to 4 bytes
                + "00000001 00000000"
                // FDT_PROP len 4 nameoff 0 ("a"), value 1
                + "00000003 00000004 00000000 00000001"
                // FDT_BEGIN_NODE "c@1\0"
                + "00000001 63403100"
                // FDT_PROP len 4 nameoff 0 ("a" again: stored once), value 2
                + "00000003 00000004 00000000 00000002"
                // FDT_PROP len 0 nameoff 2 ("bb"), no value
                + "00000003 00000000 00000002"
                // FDT_END_NODE x2, FDT_END
                + "00000002 00000002 00000009"
                // strings: "a\0bb\0"
                + "61 00 62 62 00";
        assertEquals(expected.replace(" ", ""), HexFormat.of().formatHex(dtb));
    }

    @Test
    void valuesArePaddedSoEveryTokenStaysFourByteAligned() {
        FdtWriter w = new FdtWriter();
        w.beginNode("").propertyString("s", "abcde").beginNode("node").endNode().endNode();
        byte[] dtb = w.finish(0);
        // struct at 40 + 16 (only the terminator entry): BEGIN_NODE "", then PROP (len 6 = "abcde\0")
        // whose value is padded to 8, then BEGIN_NODE "node\0" padded to 8.
        String structure = HexFormat.of().formatHex(dtb, 56, 56 + 8 + 12 + 8 + 4 + 8);
        assertEquals(("00000001 00000000" + "00000003 00000006 00000000" + "6162636465000000" + "00000001" + "6e6f646500000000")
                .replace(" ", ""), structure);
    }

    @Test
    void dtcReadsEveryKindOfPropertyBack() throws Exception {
        FdtWriter w = new FdtWriter().reserveMemory(0x4800_0000L, 0x1000).reserveMemory(0x1_0000_0000L, 0x20_0000);
        w.beginNode("");
        w.propertyU32("#address-cells", 2).propertyU32("#size-cells", 2);
        w.propertyStrings("compatible", "vendor,board", "generic-board");
        w.propertyString("model", "test board");
        int intc = w.newPhandle();
        w.beginNode("intc");
        w.propertyEmpty("interrupt-controller");
        w.propertyU32("#interrupt-cells", 3);
        w.phandle(intc);
        w.endNode();
        w.beginNode("device@9000000");
        w.propertyU64s("reg", 0x0900_0000L, 0x1000);
        w.propertyU64("big", 0x1_2345_6789L);
        w.propertyU32s("interrupts", 0, 1, 4);
        w.propertyPhandle("interrupt-parent", intc);
        w.propertyU32("minus-one", -1);
        w.endNode();
        w.endNode();
        byte[] dtb = w.finish(0);

        Dtc.Decompiled d = Dtc.decompile(dtb, dir);
        assertEquals("""
                /dts-v1/;

                /memreserve/	0x0000000048000000 0x0000000000001000;
                /memreserve/	0x0000000100000000 0x0000000000200000;
                / {
                	#address-cells = <0x02>;
                	#size-cells = <0x02>;
                	compatible = "vendor,board\\0generic-board";
                	model = "test board";

                	intc {
                		interrupt-controller;
                		#interrupt-cells = <0x03>;
                		phandle = <0x01>;
                	};

                	device@9000000 {
                		reg = <0x00 0x9000000 0x00 0x1000>;
                		big = <0x01 0x23456789>;
                		interrupts = <0x00 0x01 0x04>;
                		interrupt-parent = <0x01>;
                		minus-one = <0xffffffff>;
                	};
                };
                """, d.source());
    }

    @Test
    void phandlesCountUpFromOneAndMayBeReferencedBeforeTheyAreDefined() throws Exception {
        FdtWriter w = new FdtWriter().beginNode("");
        int first = w.newPhandle();
        int second = w.newPhandle();
        assertEquals(1, first);
        assertEquals(2, second);
        w.propertyPhandle("interrupt-parent", second);
        w.beginNode("a").phandle(second).endNode();
        w.beginNode("b").phandle(first).propertyPhandle("next", second).endNode();
        w.endNode();
        assertEquals("""
                /dts-v1/;

                / {
                	interrupt-parent = <0x02>;

                	a {
                		phandle = <0x02>;
                	};

                	b {
                		phandle = <0x01>;
                		next = <0x02>;
                	};
                };
                """, Dtc.decompile(w.finish(0), dir).source());
    }

    @Test
    void unbalancedNodesAreRefused() {
        assertStateError("node /a2 is still open", w -> w.beginNode("").beginNode("a").endNode().beginNode("a2").finish(0));
        assertStateError("node / is still open", w -> w.beginNode("").finish(0));
        assertStateError("endNode without an open node", w -> w.beginNode("").endNode().endNode());
        assertStateError("no root node was written", w -> w.finish(0));
        assertStateError("after the root node was closed", w -> w.beginNode("").endNode().beginNode(""));
        assertStateError("outside any node", w -> w.propertyU32("a", 1));
        assertStateError("outside any node", w -> w.phandle(w.newPhandle()));
    }

    @Test
    void aPropertyAfterAChildNodeIsRefused() {
        assertStateError("property \"late\" in /a after its child nodes", w -> w.beginNode("").beginNode("a").beginNode("b").endNode().propertyEmpty("late"));
    }

    @Test
    void badNamesAreRefused() {
        assertArgumentError("root node's name must be empty", w -> w.beginNode("root"));
        assertArgumentError("must start with a letter", w -> w.beginNode("").beginNode(""));
        assertArgumentError("must start with a letter", w -> w.beginNode("").beginNode("1abc"));
        assertArgumentError("must start with a letter", w -> w.beginNode("").beginNode("@10"));
        assertArgumentError("must start with a letter", w -> w.beginNode("").beginNode("a".repeat(32)));
        w().beginNode("").beginNode("a".repeat(31) + "@1234"); // 31 before the '@' is the limit
        assertArgumentError("empty unit address", w -> w.beginNode("").beginNode("serial@"));
        assertArgumentError("character outside", w -> w.beginNode("").beginNode("my node"));
        assertArgumentError("character outside", w -> w.beginNode("").beginNode("a/b"));
        assertArgumentError("character outside", w -> w.beginNode("").beginNode("a@1@2"));
        assertArgumentError("property name \"\" in /", w -> w.beginNode("").propertyEmpty(""));
        assertArgumentError("is not 1..31 characters", w -> w.beginNode("").propertyEmpty("p".repeat(32)));
        assertArgumentError("character outside", w -> w.beginNode("").propertyEmpty("a b"));
        assertArgumentError("character outside", w -> w.beginNode("").propertyEmpty("é"));
    }

    @Test
    void repeatedNamesAreRefused() {
        assertArgumentError("/ already has a property \"a\"", w -> w.beginNode("").propertyU32("a", 1).propertyEmpty("a"));
        assertArgumentError("/x already has a child node \"y\"", w -> w.beginNode("").beginNode("x").beginNode("y").endNode().beginNode("y"));
        assertArgumentError("phandle 1 is already the phandle of /a", w -> {
            int handle = w.newPhandle();
            w.beginNode("").beginNode("a").phandle(handle).endNode().beginNode("b").phandle(handle);
        });
        assertArgumentError("already has a property \"phandle\"", w -> w.beginNode("").phandle(w.newPhandle()).phandle(w.newPhandle()));
        assertArgumentError("phandle 1 was not handed out by newPhandle", w -> w.beginNode("").phandle(1));
    }

    @Test
    void badValuesAreRefused() {
        assertArgumentError("contains a NUL character", w -> w.beginNode("").propertyString("bootargs", "a\0b"));
        assertArgumentError("has no strings", w -> w.beginNode("").propertyStrings("compatible"));
        assertArgumentError("has no cells", w -> w.beginNode("").propertyU32s("reg"));
        assertArgumentError("has no cells", w -> w.beginNode("").propertyU64s("reg"));
        assertArgumentError("phandle 0x0 is reserved", w -> w.beginNode("").propertyPhandle("interrupt-parent", 0));
        assertArgumentError("phandle 0xffffffff is reserved", w -> w.beginNode("").propertyPhandle("interrupt-parent", -1));
        assertArgumentError("is empty or wraps", w -> w.reserveMemory(0x1000, 0));
        assertArgumentError("is empty or wraps", w -> w.reserveMemory(-0x1000L, 0x2000));
        w().reserveMemory(-0x1000L, 0x1000); // ends exactly at 2^64
    }

    @Test
    void aReferenceToAnUndefinedPhandleIsRefused() {
        assertStateError("/:interrupt-parent references phandle 7, which no node defines",
                w -> w.beginNode("").propertyPhandle("interrupt-parent", 7).endNode().finish(0));
    }

    @Test
    void aFinishedWriterTakesNothingMore() {
        FdtWriter w = new FdtWriter().beginNode("").endNode();
        byte[] first = w.finish(0);
        assertThrows(IllegalStateException.class, () -> w.finish(0));
        assertThrows(IllegalStateException.class, () -> w.reserveMemory(0, 1));
        assertThrows(IllegalStateException.class, () -> w.beginNode(""));
        assertArrayEquals(first, HexFormat.of().parseHex("d00dfeed" + "00000048" + "00000038" + "00000048" + "00000028"
                + "00000011" + "00000010" + "00000000" + "00000000" + "00000010"
                + "00000000000000000000000000000000" + "00000001000000000000000200000009"));
    }

    private static FdtWriter w() {
        return new FdtWriter();
    }

    private static void assertStateError(String expected, Consumer<FdtWriter> misuse) {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> misuse.accept(new FdtWriter()));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    private static void assertArgumentError(String expected, Consumer<FdtWriter> misuse) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> misuse.accept(new FdtWriter()));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }
}
