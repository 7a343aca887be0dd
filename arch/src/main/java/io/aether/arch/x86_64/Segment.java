package io.aether.arch.x86_64;

/**
 * A segment register's hidden state (what KVM's {@code struct kvm_segment} holds): the fields of
 * a GDT descriptor decoded, with the limit in bytes (already scaled when {@code g} is set).
 *
 * @param base linear base address
 * @param limit byte-granular limit, as an unsigned 32-bit value
 * @param selector the visible selector, GDT index times 8
 * @param type the 4-bit descriptor type (e.g. 0xB execute/read accessed, 3 read/write accessed)
 * @param present the P bit
 * @param dpl descriptor privilege level 0-3
 * @param db default operation size (32-bit) bit
 * @param s code/data (true) or system (false) descriptor
 * @param l 64-bit code segment bit
 * @param g granularity: the descriptor's limit counts 4 KiB units
 * @param avl the bit available to software
 * @param unusable the register holds no usable segment (VMX's "unusable" bit)
 */
public record Segment(long base, int limit, int selector, int type, boolean present, int dpl,
                      boolean db, boolean s, boolean l, boolean g, boolean avl, boolean unusable) {

    public Segment {
        if (selector < 0 || selector > 0xFFFF) throw new IllegalArgumentException("segment selector " + selector + " is not 16-bit");
        if (type < 0 || type > 0xF) throw new IllegalArgumentException("segment type " + type + " is not 4-bit");
        if (dpl < 0 || dpl > 3) throw new IllegalArgumentException("segment dpl " + dpl + " is not in 0..3");
    }

    /**
     * Decodes an 8-byte GDT descriptor (Intel SDM Vol. 3A 3.4.5) loaded with {@code selector}.
     * For a 16-byte system descriptor pass its low half; its high half holds base bits 63:32,
     * which are zero for everything this monitor builds.
     */
    public static Segment fromDescriptor(long descriptor, int selector) {
        long base = ((descriptor >>> 16) & 0xFF_FFFFL) | (((descriptor >>> 56) & 0xFF) << 24);
        int rawLimit = (int) ((descriptor & 0xFFFF) | (((descriptor >>> 48) & 0xF) << 16));
        int access = (int) ((descriptor >>> 40) & 0xFF);
        int flags = (int) ((descriptor >>> 52) & 0xF);
        boolean g = (flags & 0x8) != 0;
        int limit = g ? (rawLimit << 12) | 0xFFF : rawLimit;
        return new Segment(base, limit, selector, access & 0xF, (access & 0x80) != 0, (access >>> 5) & 3,
                (flags & 0x4) != 0, (access & 0x10) != 0, (flags & 0x2) != 0, g, (flags & 0x1) != 0, false);
    }
}
