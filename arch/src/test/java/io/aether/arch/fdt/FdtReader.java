package io.aether.arch.fdt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A test-side DTB reader written from the Devicetree Specification v0.4, chapter 5, independent
 * of {@link FdtWriter}: it checks the header's invariants while it reads, and gives the tree as
 * nodes with raw property values.
 */
public final class FdtReader {

    /** One node: its full path, its properties in order, its children in order. */
    public record Node(String path, Map<String, byte[]> properties, List<Node> children) {

        /** The child named {@code name}, failing the test when there is none. */
        public Node child(String name) {
            for (Node c : children) {
                if (c.path.endsWith("/" + name)) return c;
            }
            throw new AssertionError(path + " has no child " + name + "; it has " + children.stream().map(Node::path).toList());
        }

        public byte[] property(String name) {
            byte[] v = properties.get(name);
            if (v == null) throw new AssertionError(path + " has no property " + name + "; it has " + properties.keySet());
            return v;
        }

        /** A property as big-endian 32-bit cells. */
        public int[] cells(String name) {
            ByteBuffer b = ByteBuffer.wrap(property(name));
            assertEquals(0, b.remaining() % 4, path + ":" + name + " is not a whole number of cells");
            int[] cells = new int[b.remaining() / 4];
            for (int i = 0; i < cells.length; i++) cells[i] = b.getInt();
            return cells;
        }

        /** A property as a list of NUL-terminated strings. */
        public List<String> strings(String name) {
            byte[] v = property(name);
            assertTrue(v.length > 0 && v[v.length - 1] == 0, path + ":" + name + " is not NUL-terminated");
            return Arrays.asList(new String(v, 0, v.length - 1, StandardCharsets.UTF_8).split("\0", -1));
        }
    }

    private FdtReader() {
    }

    /** Reads {@code dtb}, asserting the header and block layout the format prescribes. */
    public static Node read(byte[] dtb) {
        ByteBuffer b = ByteBuffer.wrap(dtb);
        assertEquals(0xD00DFEED, b.getInt(0), "magic");
        assertEquals(dtb.length, b.getInt(4), "totalsize");
        int structOffset = b.getInt(8);
        int stringsOffset = b.getInt(12);
        int reservationOffset = b.getInt(16);
        assertEquals(17, b.getInt(20), "version");
        assertEquals(16, b.getInt(24), "last_comp_version");
        int stringsSize = b.getInt(32);
        int structSize = b.getInt(36);
        assertEquals(0, reservationOffset % 8, "the reservation block is 8-byte aligned");
        assertEquals(0, structOffset % 4, "the structure block is 4-byte aligned");
        assertTrue(reservationOffset >= 40 && structOffset >= reservationOffset + 16, "blocks after the header, in order");
        assertTrue(stringsOffset >= structOffset + structSize && stringsOffset + stringsSize <= dtb.length, "strings block inside the blob");
        byte[] strings = Arrays.copyOfRange(dtb, stringsOffset, stringsOffset + stringsSize);

        b.position(structOffset);
        assertEquals(1, b.getInt(), "the structure block starts with FDT_BEGIN_NODE");
        assertEquals("", name(b), "the root node's name");
        Node root = node(b, "/", strings);
        assertEquals(9, b.getInt(), "FDT_END after the root node");
        assertEquals(structOffset + structSize, b.position(), "size_dt_struct ends at FDT_END");
        return root;
    }

    /** Reads a node's body after its FDT_BEGIN_NODE and name, up to and including its FDT_END_NODE. */
    private static Node node(ByteBuffer b, String path, byte[] strings) {
        Map<String, byte[]> properties = new LinkedHashMap<>();
        List<Node> children = new ArrayList<>();
        while (true) {
            int token = b.getInt();
            switch (token) {
                case 3 -> {
                    assertTrue(children.isEmpty(), path + ": a property after a child node");
                    int len = b.getInt();
                    int nameOffset = b.getInt();
                    byte[] value = new byte[len];
                    b.get(value);
                    align(b);
                    String name = cString(strings, nameOffset);
                    assertTrue(properties.put(name, value) == null, path + ": property " + name + " twice");
                }
                case 1 -> {
                    String name = name(b);
                    children.add(node(b, (path.equals("/") ? "/" : path + "/") + name, strings));
                }
                case 2 -> {
                    return new Node(path, properties, children);
                }
                case 4 -> { }
                default -> throw new AssertionError(path + ": unexpected token 0x" + Integer.toHexString(token) + " at " + (b.position() - 4));
            }
        }
    }

    private static String name(ByteBuffer b) {
        int start = b.position();
        while (b.get() != 0) { }
        String name = new String(b.array(), start, b.position() - start - 1, StandardCharsets.US_ASCII);
        align(b);
        return name;
    }

    private static void align(ByteBuffer b) {
        while (b.position() % 4 != 0) assertEquals(0, b.get(), "padding is zero");
    }

    private static String cString(byte[] strings, int offset) {
        int end = offset;
        while (strings[end] != 0) end++;
        return new String(strings, offset, end - offset, StandardCharsets.US_ASCII);
    }
}
