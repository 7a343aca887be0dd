package io.aether.arch.acpi;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A test-side decoder for the AML subset {@link Aml} writes, written from the ACPI spec's grammar
 * (20.2) independently of the encoder, so tests can read a DSDT back as a tree.
 */
public final class AmlDecoder {

    /** A Name(): its path as written and its decoded value. */
    public record Named(String name, Object value) {
    }

    /** A Scope() or Device() with its children. */
    public record Block(String kind, String name, List<Object> children) {
        /** The value of the child Name() called {@code name}. */
        public Object value(String name) {
            for (Object c : children) {
                if (c instanceof Named n && n.name().equals(name)) return n.value();
            }
            throw new AssertionError("no Name(" + name + ") in " + kind + "(" + this.name + ")");
        }

        public List<Block> blocks(String kind) {
            return children.stream().filter(c -> c instanceof Block b && b.kind().equals(kind)).map(c -> (Block) c).toList();
        }
    }

    /** A decoded Buffer. */
    public record Buf(byte[] bytes) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Buf b && Arrays.equals(bytes, b.bytes);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(bytes);
        }
    }

    private final byte[] aml;
    private int pos;

    private AmlDecoder(byte[] aml, int pos) {
        this.aml = aml;
        this.pos = pos;
    }

    /** Decodes a TermList filling all of {@code aml}. */
    public static List<Object> decode(byte[] aml) {
        AmlDecoder d = new AmlDecoder(aml, 0);
        return d.terms(aml.length);
    }

    /** Decodes a PkgLength at {@code at}: {length, encodedBytes}. */
    public static int[] pkgLength(byte[] aml, int at) {
        int lead = aml[at] & 0xFF;
        int follow = lead >>> 6;
        if (follow == 0) return new int[] {lead & 0x3F, 1};
        int len = lead & 0x0F;
        for (int i = 0; i < follow; i++) len |= (aml[at + 1 + i] & 0xFF) << (4 + 8 * i);
        return new int[] {len, 1 + follow};
    }

    private List<Object> terms(int end) {
        List<Object> out = new ArrayList<>();
        while (pos < end) out.add(term());
        if (pos != end) throw new AssertionError("term list overran its package at " + pos);
        return out;
    }

    private Object term() {
        int op = aml[pos++] & 0xFF;
        switch (op) {
            case 0x08 -> {
                String name = nameString();
                return new Named(name, data());
            }
            case 0x10 -> {
                int end = packageEnd();
                String name = nameString();
                return new Block("Scope", name, terms(end));
            }
            case 0x5B -> {
                int ext = aml[pos++] & 0xFF;
                if (ext != 0x82) throw new AssertionError("unexpected extended opcode 0x" + Integer.toHexString(ext));
                int end = packageEnd();
                String name = nameString();
                return new Block("Device", name, terms(end));
            }
            default -> throw new AssertionError("unexpected opcode 0x" + Integer.toHexString(op) + " at " + (pos - 1));
        }
    }

    private int packageEnd() {
        int start = pos;
        int[] pl = pkgLength(aml, pos);
        pos += pl[1];
        return start + pl[0];
    }

    private Object data() {
        int op = aml[pos++] & 0xFF;
        return switch (op) {
            case 0x00 -> 0L;
            case 0x01 -> 1L;
            case 0xFF -> -1L;
            case 0x0A -> le(1);
            case 0x0B -> le(2);
            case 0x0C -> le(4);
            case 0x0E -> le(8);
            case 0x0D -> {
                int start = pos;
                while (aml[pos] != 0) pos++;
                String s = new String(aml, start, pos - start, StandardCharsets.US_ASCII);
                pos++;
                yield s;
            }
            case 0x12 -> {
                int end = packageEnd();
                int count = aml[pos++] & 0xFF;
                List<Object> elements = new ArrayList<>();
                while (pos < end) elements.add(data());
                if (elements.size() != count) throw new AssertionError("package says " + count + " elements, holds " + elements.size());
                yield elements;
            }
            case 0x11 -> {
                int end = packageEnd();
                long size = (Long) data();
                if (size != end - pos) throw new AssertionError("buffer says " + size + " bytes, holds " + (end - pos));
                byte[] b = Arrays.copyOfRange(aml, pos, end);
                pos = end;
                yield new Buf(b);
            }
            default -> throw new AssertionError("unexpected data opcode 0x" + Integer.toHexString(op) + " at " + (pos - 1));
        };
    }

    private long le(int size) {
        long v = 0;
        for (int i = 0; i < size; i++) v |= (aml[pos + i] & 0xFFL) << (8 * i);
        pos += size;
        return v;
    }

    private String nameString() {
        StringBuilder sb = new StringBuilder();
        while (aml[pos] == '\\' || aml[pos] == '^') sb.append((char) aml[pos++]);
        int segs;
        if (aml[pos] == 0x2E) {
            pos++;
            segs = 2;
        } else if (aml[pos] == 0x2F) {
            pos++;
            segs = aml[pos++] & 0xFF;
        } else if (aml[pos] == 0) {
            pos++;
            segs = 0;
        } else {
            segs = 1;
        }
        for (int i = 0; i < segs; i++) {
            if (i > 0) sb.append('.');
            sb.append(new String(aml, pos, 4, StandardCharsets.US_ASCII));
            pos += 4;
        }
        return sb.toString();
    }
}
