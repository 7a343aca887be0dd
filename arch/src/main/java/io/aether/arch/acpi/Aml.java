package io.aether.arch.acpi;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * An encoder for the subset of ACPI Machine Language that describes a virtual machine's devices
 * (ACPI 6.5 section 20, "ACPI Machine Language Specification"; resource descriptors from section
 * 6.4). Each method returns the encoded bytes of one term, so a table is built by nesting calls:
 *
 * <pre>{@code
 * Aml.scope("\\_SB_", Aml.device("COM1",
 *         Aml.name("_HID", Aml.eisaId("PNP0501")),
 *         Aml.name("_UID", Aml.integer(0))))
 * }</pre>
 */
public final class Aml {

    static final int ZERO_OP = 0x00;
    static final int ONE_OP = 0x01;
    static final int NAME_OP = 0x08;
    static final int BYTE_PREFIX = 0x0A;
    static final int WORD_PREFIX = 0x0B;
    static final int DWORD_PREFIX = 0x0C;
    static final int STRING_PREFIX = 0x0D;
    static final int QWORD_PREFIX = 0x0E;
    static final int SCOPE_OP = 0x10;
    static final int BUFFER_OP = 0x11;
    static final int PACKAGE_OP = 0x12;
    static final int DUAL_NAME_PREFIX = 0x2E;
    static final int MULTI_NAME_PREFIX = 0x2F;
    static final int EXT_OP_PREFIX = 0x5B;
    static final int DEVICE_OP = 0x82;
    static final int ROOT_CHAR = '\\';
    static final int PARENT_PREFIX_CHAR = '^';
    static final int ONES_OP = 0xFF;

    /** The largest length a PkgLength can encode (28 bits). */
    static final int MAX_PKG_LENGTH = 0x0FFF_FFFF;

    /** Interrupt trigger mode of an Extended Interrupt descriptor. */
    public enum Trigger { LEVEL, EDGE }

    /** Interrupt polarity of an Extended Interrupt descriptor. */
    public enum Polarity { ACTIVE_HIGH, ACTIVE_LOW }

    private Aml() {
    }

    /**
     * The PkgLength encoding (20.2.4) of a package whose content after the PkgLength is
     * {@code contentLength} bytes. The encoded length counts the PkgLength bytes themselves: one
     * byte holds up to 63, otherwise the lead byte's bits 7:6 give the count of following bytes
     * and its low nibble the length's low 4 bits.
     */
    public static byte[] pkgLength(int contentLength) {
        if (contentLength < 0) throw new IllegalArgumentException("negative AML package length " + contentLength);
        if (contentLength + 1 <= 0x3F) return new byte[] {(byte) (contentLength + 1)};
        for (int follow = 1; follow <= 3; follow++) {
            long total = (long) contentLength + 1 + follow;
            if (total < (1L << (4 + 8 * follow))) {
                byte[] out = new byte[1 + follow];
                out[0] = (byte) ((follow << 6) | (total & 0xF));
                for (int i = 1; i <= follow; i++) out[i] = (byte) (total >>> (4 + 8 * (i - 1)));
                return out;
            }
        }
        throw new IllegalArgumentException("AML package of " + contentLength + " bytes exceeds the 28-bit PkgLength");
    }

    /**
     * A NameString (20.2.2): an optional root ({@code \}) or parent ({@code ^}) prefix, then
     * dot-separated name segments of up to four characters, each padded with {@code _}.
     */
    public static byte[] nameString(String path) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int i = 0;
        if (path.startsWith("\\")) {
            out.write(ROOT_CHAR);
            i = 1;
        } else {
            while (i < path.length() && path.charAt(i) == '^') {
                out.write(PARENT_PREFIX_CHAR);
                i++;
            }
        }
        String rest = path.substring(i);
        String[] segs = rest.isEmpty() ? new String[0] : rest.split("\\.", -1);
        if (segs.length == 0) {
            out.write(ZERO_OP); // NullName
        } else if (segs.length == 1) {
            out.writeBytes(nameSeg(segs[0]));
        } else if (segs.length == 2) {
            out.write(DUAL_NAME_PREFIX);
            out.writeBytes(nameSeg(segs[0]));
            out.writeBytes(nameSeg(segs[1]));
        } else {
            if (segs.length > 255) throw new IllegalArgumentException("AML name path has more than 255 segments: " + path);
            out.write(MULTI_NAME_PREFIX);
            out.write(segs.length);
            for (String seg : segs) out.writeBytes(nameSeg(seg));
        }
        return out.toByteArray();
    }

    static byte[] nameSeg(String seg) {
        if (seg.isEmpty() || seg.length() > 4) throw new IllegalArgumentException("AML name segment '" + seg + "' is not 1-4 characters");
        byte[] out = {'_', '_', '_', '_'};
        for (int i = 0; i < seg.length(); i++) {
            char c = seg.charAt(i);
            boolean ok = c == '_' || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9');
            if (!ok) throw new IllegalArgumentException("AML name segment '" + seg + "' has an invalid character '" + c + "'");
            out[i] = (byte) c;
        }
        return out;
    }

    /**
     * An integer constant in its shortest encoding (20.2.3): ZeroOp, OneOp, OnesOp for all bits
     * set, else BytePrefix/WordPrefix/DWordPrefix/QWordPrefix with the value little-endian.
     */
    public static byte[] integer(long value) {
        if (value == 0) return new byte[] {ZERO_OP};
        if (value == 1) return new byte[] {ONE_OP};
        if (value == -1) return new byte[] {(byte) ONES_OP};
        if ((value & ~0xFFL) == 0) return prefixed(BYTE_PREFIX, value, 1);
        if ((value & ~0xFFFFL) == 0) return prefixed(WORD_PREFIX, value, 2);
        if ((value & ~0xFFFF_FFFFL) == 0) return prefixed(DWORD_PREFIX, value, 4);
        return prefixed(QWORD_PREFIX, value, 8);
    }

    private static byte[] prefixed(int prefix, long value, int size) {
        byte[] out = new byte[1 + size];
        out[0] = (byte) prefix;
        for (int i = 0; i < size; i++) out[1 + i] = (byte) (value >>> (8 * i));
        return out;
    }

    /** A String constant: StringPrefix, ASCII characters 0x01-0x7F, a NUL. */
    public static byte[] string(String ascii) {
        for (int i = 0; i < ascii.length(); i++) {
            char c = ascii.charAt(i);
            if (c == 0 || c > 0x7F) throw new IllegalArgumentException("AML string \"" + ascii + "\" is not NUL-free ASCII");
        }
        byte[] chars = ascii.getBytes(StandardCharsets.US_ASCII);
        byte[] out = new byte[chars.length + 2];
        out[0] = STRING_PREFIX;
        System.arraycopy(chars, 0, out, 1, chars.length);
        return out;
    }

    /**
     * A compressed EISA id such as {@code PNP0501} as the DWord integer ASL's EisaId() produces:
     * three letters in 5 bits each (A = 1) and four hex digits, stored big-endian in the DWord.
     */
    public static byte[] eisaId(String id) {
        if (id.length() != 7) throw new IllegalArgumentException("EISA id '" + id + "' is not 3 letters and 4 hex digits");
        int letters = 0;
        for (int i = 0; i < 3; i++) {
            char c = id.charAt(i);
            if (c < 'A' || c > 'Z') throw new IllegalArgumentException("EISA id '" + id + "' does not start with 3 capital letters");
            letters = (letters << 5) | (c - 'A' + 1);
        }
        int product = 0;
        for (int i = 3; i < 7; i++) {
            int digit = Character.digit(id.charAt(i), 16);
            if (digit < 0) throw new IllegalArgumentException("EISA id '" + id + "' does not end with 4 hex digits");
            product = (product << 4) | digit;
        }
        int bigEndian = (letters << 16) | product;
        return prefixed(DWORD_PREFIX, Integer.reverseBytes(bigEndian) & 0xFFFF_FFFFL, 4);
    }

    /** DefName (20.2.5.1): {@code Name(path, object)}. */
    public static byte[] name(String path, byte[] dataObject) {
        return concat(new byte[] {NAME_OP}, nameString(path), dataObject);
    }

    /** DefScope (20.2.5.1): {@code Scope(path) { terms }}. */
    public static byte[] scope(String path, byte[]... terms) {
        byte[] body = concat(nameString(path), concat(terms));
        return concat(new byte[] {SCOPE_OP}, pkgLength(body.length), body);
    }

    /** DefDevice (20.2.5.2): {@code Device(name) { terms }}, an extended opcode. */
    public static byte[] device(String path, byte[]... terms) {
        byte[] body = concat(nameString(path), concat(terms));
        return concat(new byte[] {EXT_OP_PREFIX, (byte) DEVICE_OP}, pkgLength(body.length), body);
    }

    /** DefPackage (20.2.5.4): {@code Package() { elements }}, at most 255 elements. */
    public static byte[] pkg(byte[]... elements) {
        if (elements.length > 255) throw new IllegalArgumentException("AML package of " + elements.length + " elements exceeds 255");
        byte[] body = concat(new byte[] {(byte) elements.length}, concat(elements));
        return concat(new byte[] {PACKAGE_OP}, pkgLength(body.length), body);
    }

    /** DefBuffer (20.2.5.4): {@code Buffer(size) { bytes }} with the size as an integer term. */
    public static byte[] buffer(byte[] bytes) {
        byte[] body = concat(integer(bytes.length), bytes);
        return concat(new byte[] {BUFFER_OP}, pkgLength(body.length), body);
    }

    /** ASL's ResourceTemplate(): a buffer of resource descriptors closed by an End Tag (6.4.2.9). */
    public static byte[] resourceTemplate(byte[]... descriptors) {
        // End Tag: small item 0xF, length 1; checksum 0 means "treat as correct".
        return buffer(concat(concat(descriptors), new byte[] {0x79, 0x00}));
    }

    /**
     * A 32-bit Fixed Memory Range descriptor (6.4.3.4), large item 0x86:
     * ASL {@code Memory32Fixed(ReadWrite|ReadOnly, base, length)}.
     */
    public static byte[] memory32Fixed(boolean writable, long base, long length) {
        checkU32("Memory32Fixed base", base);
        checkU32("Memory32Fixed length", length);
        byte[] out = new byte[12];
        out[0] = (byte) 0x86;
        out[1] = 9; // length of the data that follows, little-endian 16-bit
        out[2] = 0;
        out[3] = (byte) (writable ? 1 : 0);
        putU32(out, 4, base);
        putU32(out, 8, length);
        return out;
    }

    /**
     * An Extended Interrupt descriptor (6.4.3.6), large item 0x89, for a resource consumer with
     * one interrupt: ASL {@code Interrupt(ResourceConsumer, trigger, polarity, Exclusive|Shared) {gsi}}.
     */
    public static byte[] extendedInterrupt(Trigger trigger, Polarity polarity, boolean shared, long gsi) {
        checkU32("Interrupt number", gsi);
        byte[] out = new byte[9];
        out[0] = (byte) 0x89;
        out[1] = 6; // flags + table length + one DWord
        out[2] = 0;
        int flags = 0x01; // bit 0: resource consumer
        if (trigger == Trigger.EDGE) flags |= 0x02;
        if (polarity == Polarity.ACTIVE_LOW) flags |= 0x04;
        if (shared) flags |= 0x08;
        out[3] = (byte) flags;
        out[4] = 1;
        putU32(out, 5, gsi);
        return out;
    }

    /**
     * An I/O Port descriptor (6.4.2.5), small item 0x8 of length 7, decoding 16 address bits:
     * ASL {@code IO(Decode16, min, max, alignment, length)}.
     */
    public static byte[] io16(int min, int max, int alignment, int length) {
        if (min < 0 || min > 0xFFFF || max < 0 || max > 0xFFFF || min > max) {
            throw new IllegalArgumentException("IO descriptor range 0x" + Integer.toHexString(min) + "..0x" + Integer.toHexString(max) + " is not a 16-bit range");
        }
        if (alignment < 0 || alignment > 0xFF || length < 0 || length > 0xFF) {
            throw new IllegalArgumentException("IO descriptor alignment " + alignment + " / length " + length + " do not fit a byte");
        }
        return new byte[] {0x47, 0x01, (byte) min, (byte) (min >>> 8), (byte) max, (byte) (max >>> 8), (byte) alignment, (byte) length};
    }

    /**
     * An IRQ descriptor without the flags byte (6.4.2.1), small item 0x4 of length 2: one ISA
     * interrupt 0-15, edge-triggered, active-high: ASL {@code IRQNoFlags() {irq}}.
     */
    public static byte[] irqNoFlags(int irq) {
        if (irq < 0 || irq > 15) throw new IllegalArgumentException("ISA IRQ " + irq + " is not in 0..15");
        int mask = 1 << irq;
        return new byte[] {0x22, (byte) mask, (byte) (mask >>> 8)};
    }

    /** Concatenates byte arrays. */
    public static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) out.writeBytes(p);
        return out.toByteArray();
    }

    private static void checkU32(String what, long value) {
        if (value < 0 || value > 0xFFFF_FFFFL) throw new IllegalArgumentException(what + " 0x" + Long.toHexString(value) + " does not fit 32 bits");
    }

    private static void putU32(byte[] out, int at, long value) {
        for (int i = 0; i < 4; i++) out[at + i] = (byte) (value >>> (8 * i));
    }
}
