package io.aether.arch.fdt;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes a flattened device tree blob, DTB format version 17 (Devicetree Specification v0.4,
 * chapter 5): a header, the memory reservation block, the structure block and the strings block,
 * all big-endian. Nodes and properties are written in the order they are given:
 *
 * <pre>{@code
 * FdtWriter w = new FdtWriter();
 * w.beginNode("");
 * int gic = w.newPhandle();
 * w.propertyU32("#address-cells", 2);
 * w.propertyPhandle("interrupt-parent", gic);
 * w.beginNode("memory@40000000");
 * w.propertyString("device_type", "memory");
 * w.propertyU64s("reg", 0x4000_0000L, 128L << 20);
 * w.endNode();
 * w.beginNode("intc@8000000");
 * w.phandle(gic);
 * w.endNode();
 * w.endNode();
 * byte[] dtb = w.finish(0);
 * }</pre>
 *
 * Misuse is refused where it happens, naming the node's path: a name outside the specification's
 * character set, a property after a child node (the format wants properties first), a repeated
 * property or child name, unbalanced nodes, a phandle referenced but never defined.
 */
public final class FdtWriter {

    static final int MAGIC = 0xD00D_FEED;
    static final int VERSION = 17;
    /** Version 17 blobs are readable by version 16 readers. */
    static final int LAST_COMPATIBLE_VERSION = 16;
    static final int HEADER_SIZE = 40;
    static final int RESERVATION_ENTRY_SIZE = 16;

    static final int FDT_BEGIN_NODE = 0x1;
    static final int FDT_END_NODE = 0x2;
    static final int FDT_PROP = 0x3;
    static final int FDT_END = 0x9;

    /** Node names (before the {@code @}) and property names are at most 31 characters (spec 2.2.1, 2.2.4). */
    static final int MAX_NAME_LENGTH = 31;
    private static final String NODE_NAME_CHARS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ,._+-";
    private static final String PROPERTY_NAME_CHARS = NODE_NAME_CHARS + "?#";

    /** A node being written: its path for messages, what it already holds. */
    private static final class OpenNode {
        final String path;
        final Set<String> properties = new HashSet<>();
        final Set<String> children = new HashSet<>();

        OpenNode(String path) {
            this.path = path;
        }
    }

    private final ByteArrayOutputStream structure = new ByteArrayOutputStream();
    private final ByteArrayOutputStream strings = new ByteArrayOutputStream();
    private final Map<String, Integer> stringOffsets = new HashMap<>();
    private record Reservation(long address, long size) {
    }

    private final List<Reservation> reservations = new ArrayList<>();
    private final Deque<OpenNode> open = new ArrayDeque<>();
    /** phandle → path of the node that defines it. */
    private final Map<Integer, String> phandles = new HashMap<>();
    /** phandle → "path:property" of its first reference. */
    private final Map<Integer, String> references = new LinkedHashMap<>();
    private int nextPhandle = 1;
    private boolean rootWritten;
    private boolean finished;

    /**
     * Adds an entry to the memory reservation block: memory the client program must not use.
     *
     * @throws IllegalArgumentException if the size is 0 or the range wraps past 2^64
     */
    public FdtWriter reserveMemory(long address, long size) {
        checkNotFinished();
        if (size == 0 || Long.compareUnsigned(address + size - 1, address) < 0) {
            throw new IllegalArgumentException("memory reservation 0x" + Long.toHexString(address) + " + 0x" + Long.toHexString(size)
                    + " is empty or wraps past 2^64");
        }
        reservations.add(new Reservation(address, size));
        return this;
    }

    /**
     * Opens a node. The first node is the root and its name is empty; every other node is named
     * {@code node-name} or {@code node-name@unit-address}.
     */
    public FdtWriter beginNode(String name) {
        checkNotFinished();
        if (open.isEmpty()) {
            if (rootWritten) throw new IllegalStateException("node \"" + name + "\" after the root node was closed: a tree has one root");
            if (!name.isEmpty()) throw new IllegalArgumentException("the root node's name must be empty, not \"" + name + "\"");
            rootWritten = true;
            open.push(new OpenNode("/"));
        } else {
            OpenNode parent = open.peek();
            checkNodeName(parent.path, name);
            if (!parent.children.add(name)) throw new IllegalArgumentException(parent.path + " already has a child node \"" + name + "\"");
            open.push(new OpenNode((parent.path.equals("/") ? "/" : parent.path + "/") + name));
        }
        writeU32(structure, FDT_BEGIN_NODE);
        writeNulTerminated(structure, name.getBytes(StandardCharsets.US_ASCII));
        pad(structure);
        return this;
    }

    /** Closes the node opened last. */
    public FdtWriter endNode() {
        checkNotFinished();
        if (open.isEmpty()) throw new IllegalStateException("endNode without an open node");
        open.pop();
        writeU32(structure, FDT_END_NODE);
        return this;
    }

    /** A property without a value, such as {@code interrupt-controller}. */
    public FdtWriter propertyEmpty(String name) {
        return property(name, new byte[0]);
    }

    /** A property of one 32-bit cell. */
    public FdtWriter propertyU32(String name, int value) {
        return propertyU32s(name, value);
    }

    /** A property of one or more 32-bit cells. */
    public FdtWriter propertyU32s(String name, int... values) {
        if (values.length == 0) throw new IllegalArgumentException("property \"" + name + "\" has no cells: write it with propertyEmpty");
        ByteBuffer b = ByteBuffer.allocate(values.length * 4);
        for (int v : values) b.putInt(v);
        return property(name, b.array());
    }

    /** A property of one 64-bit number (two cells, the high one first). */
    public FdtWriter propertyU64(String name, long value) {
        return propertyU64s(name, value);
    }

    /** A property of one or more 64-bit numbers, such as {@code reg} with two address and two size cells. */
    public FdtWriter propertyU64s(String name, long... values) {
        if (values.length == 0) throw new IllegalArgumentException("property \"" + name + "\" has no cells: write it with propertyEmpty");
        ByteBuffer b = ByteBuffer.allocate(values.length * 8);
        for (long v : values) b.putLong(v);
        return property(name, b.array());
    }

    /** A property holding one NUL-terminated string. */
    public FdtWriter propertyString(String name, String value) {
        return propertyStrings(name, value);
    }

    /** A property holding a list of NUL-terminated strings, such as {@code compatible}. */
    public FdtWriter propertyStrings(String name, String... values) {
        if (values.length == 0) throw new IllegalArgumentException("property \"" + name + "\" has no strings: write it with propertyEmpty");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (String v : values) {
            if (v.indexOf('\0') >= 0) {
                throw new IllegalArgumentException("property \"" + name + "\" value \"" + v.replace("\0", "\\0") + "\" contains a NUL character");
            }
            out.writeBytes(v.getBytes(StandardCharsets.UTF_8));
            out.write(0);
        }
        return property(name, out.toByteArray());
    }

    /** A fresh phandle, for a node to define with {@link #phandle} and others to reference, before or after. */
    public int newPhandle() {
        checkNotFinished();
        return nextPhandle++;
    }

    /** Makes {@code handle}, from {@link #newPhandle}, the open node's phandle. */
    public FdtWriter phandle(int handle) {
        if (handle < 1 || handle >= nextPhandle) throw new IllegalArgumentException("phandle " + handle + " was not handed out by newPhandle");
        String holder = phandles.get(handle);
        if (holder != null) throw new IllegalArgumentException("phandle " + handle + " is already the phandle of " + holder);
        propertyU32("phandle", handle);
        phandles.put(handle, open.peek().path);
        return this;
    }

    /** A property referencing a node by its phandle, such as {@code interrupt-parent}; checked in {@link #finish}. */
    public FdtWriter propertyPhandle(String name, int phandle) {
        if (phandle == 0 || phandle == -1) throw new IllegalArgumentException("property \"" + name + "\": phandle 0x" + Integer.toHexString(phandle) + " is reserved");
        propertyU32(name, phandle);
        references.putIfAbsent(phandle, open.peek().path + ":" + name);
        return this;
    }

    /**
     * The blob. The writer is spent afterwards.
     *
     * @param bootCpuidPhys the header's {@code boot_cpuid_phys}: the {@code reg} of the boot CPU's node
     * @throws IllegalStateException if no root was written, a node is still open, or a phandle is
     *     referenced but no node defines it
     */
    public byte[] finish(int bootCpuidPhys) {
        checkNotFinished();
        if (!rootWritten) throw new IllegalStateException("no root node was written");
        if (!open.isEmpty()) throw new IllegalStateException("node " + open.peek().path + " is still open: every beginNode needs an endNode");
        for (Map.Entry<Integer, String> ref : references.entrySet()) {
            if (!phandles.containsKey(ref.getKey())) {
                throw new IllegalStateException(ref.getValue() + " references phandle " + ref.getKey() + ", which no node defines");
            }
        }
        finished = true;
        writeU32(structure, FDT_END);

        int reservationOffset = HEADER_SIZE; // 8-byte aligned, as the format requires
        int structOffset = reservationOffset + (reservations.size() + 1) * RESERVATION_ENTRY_SIZE;
        int stringsOffset = structOffset + structure.size();
        int total = stringsOffset + strings.size();
        ByteBuffer b = ByteBuffer.allocate(total); // big-endian
        b.putInt(MAGIC).putInt(total).putInt(structOffset).putInt(stringsOffset).putInt(reservationOffset)
                .putInt(VERSION).putInt(LAST_COMPATIBLE_VERSION).putInt(bootCpuidPhys)
                .putInt(strings.size()).putInt(structure.size());
        for (Reservation r : reservations) b.putLong(r.address()).putLong(r.size());
        b.putLong(0).putLong(0);
        b.put(structure.toByteArray()).put(strings.toByteArray());
        return b.array();
    }

    private FdtWriter property(String name, byte[] value) {
        checkNotFinished();
        OpenNode node = open.peek();
        if (node == null) throw new IllegalStateException("property \"" + name + "\" outside any node");
        checkPropertyName(node.path, name);
        if (!node.children.isEmpty()) {
            throw new IllegalStateException("property \"" + name + "\" in " + node.path + " after its child nodes: the DTB format wants properties first");
        }
        if (!node.properties.add(name)) throw new IllegalArgumentException(node.path + " already has a property \"" + name + "\"");
        writeU32(structure, FDT_PROP);
        writeU32(structure, value.length);
        writeU32(structure, stringOffset(name));
        structure.writeBytes(value);
        pad(structure);
        return this;
    }

    /** Offset of {@code name} in the strings block, each name stored once. */
    private int stringOffset(String name) {
        return stringOffsets.computeIfAbsent(name, n -> {
            int offset = strings.size();
            writeNulTerminated(strings, n.getBytes(StandardCharsets.US_ASCII));
            return offset;
        });
    }

    private void checkNotFinished() {
        if (finished) throw new IllegalStateException("the device tree was already finished");
    }

    private static void checkNodeName(String parent, String name) {
        int at = name.indexOf('@');
        String base = at < 0 ? name : name.substring(0, at);
        String unit = at < 0 ? "" : name.substring(at + 1);
        if (base.isEmpty() || base.length() > MAX_NAME_LENGTH || !isLetter(base.charAt(0))) {
            throw new IllegalArgumentException("node name \"" + name + "\" under " + parent + " must start with a letter and be 1.."
                    + MAX_NAME_LENGTH + " characters before any '@'");
        }
        if (at >= 0 && unit.isEmpty()) throw new IllegalArgumentException("node name \"" + name + "\" under " + parent + " has an empty unit address");
        checkChars("node name", parent, name, base + unit, NODE_NAME_CHARS);
    }

    private static void checkPropertyName(String node, String name) {
        if (name.isEmpty() || name.length() > MAX_NAME_LENGTH) {
            throw new IllegalArgumentException("property name \"" + name + "\" in " + node + " is not 1.." + MAX_NAME_LENGTH + " characters");
        }
        checkChars("property name", node, name, name, PROPERTY_NAME_CHARS);
    }

    private static void checkChars(String what, String where, String name, String chars, String allowed) {
        for (int i = 0; i < chars.length(); i++) {
            if (allowed.indexOf(chars.charAt(i)) < 0) {
                throw new IllegalArgumentException(what + " \"" + name + "\" in " + where + " has a character outside [" + allowed + "]");
            }
        }
    }

    private static boolean isLetter(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    }

    private static void writeU32(ByteArrayOutputStream out, int v) {
        out.write(v >>> 24);
        out.write(v >>> 16);
        out.write(v >>> 8);
        out.write(v);
    }

    private static void writeNulTerminated(ByteArrayOutputStream out, byte[] text) {
        out.writeBytes(text);
        out.write(0);
    }

    /** Pads to the next 4-byte boundary: every token starts aligned. */
    private static void pad(ByteArrayOutputStream out) {
        while (out.size() % 4 != 0) out.write(0);
    }
}
