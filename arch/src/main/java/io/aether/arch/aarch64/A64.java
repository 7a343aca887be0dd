package io.aether.arch.aarch64;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A small A64 assembler: the few instructions the stub guest needs, encoded from the Arm
 * Architecture Reference Manual's encoding diagrams (A64 base instructions), with labels resolved
 * when {@link #assemble} is called. Registers are numbered 0..30; instructions are little-endian words.
 */
final class A64 {

    /** A branch or address whose offset is known only once its label is placed. */
    private record Fixup(int at, String label, Kind kind) {
    }

    private enum Kind { B, CBZ_OR_BCOND, TBZ, ADR }

    private final List<Integer> words = new ArrayList<>();
    private final Map<String, Integer> labels = new HashMap<>();
    private final List<Fixup> fixups = new ArrayList<>();
    private final ByteArrayOutputStream data = new ByteArrayOutputStream();
    private final Map<String, Integer> dataLabels = new HashMap<>();

    /** Marks the next instruction as {@code label}. */
    A64 label(String label) {
        if (labels.put(label, words.size() * 4) != null) throw new IllegalArgumentException("label " + label + " placed twice");
        return this;
    }

    /** MOVZ Xd, #imm16, LSL #shift: Xd = imm16 << shift, the rest zero. */
    A64 movz(int rd, int imm16, int shift) {
        return emit(0xD280_0000 | wide(imm16, shift) | reg(rd));
    }

    /** MOVK Xd, #imm16, LSL #shift: replaces 16 bits of Xd. */
    A64 movk(int rd, int imm16, int shift) {
        return emit(0xF280_0000 | wide(imm16, shift) | reg(rd));
    }

    /** ADR Xd, label: Xd = the label's address (PC-relative, within 1 MiB). */
    A64 adr(int rd, String label) {
        fixups.add(new Fixup(words.size(), label, Kind.ADR));
        return emit(0x1000_0000 | reg(rd));
    }

    /** LDRB Wt, [Xn], #imm9: loads a byte, then adds imm9 to Xn (post-index). */
    A64 ldrbPostIndex(int rt, int rn, int imm9) {
        if (imm9 < -256 || imm9 > 255) throw new IllegalArgumentException("post-index " + imm9 + " is not in -256..255");
        return emit(0x3840_0400 | (imm9 & 0x1FF) << 12 | reg(rn) << 5 | reg(rt));
    }

    /** LDRB Wt, [Xn, #offset], offset 0..4095. */
    A64 ldrb(int rt, int rn, int offset) {
        return emit(0x3940_0000 | unsigned12(offset) << 10 | reg(rn) << 5 | reg(rt));
    }

    /** STRB Wt, [Xn, #offset], offset 0..4095. */
    A64 strb(int rt, int rn, int offset) {
        return emit(0x3900_0000 | unsigned12(offset) << 10 | reg(rn) << 5 | reg(rt));
    }

    /** CMP Wn, #imm12 (SUBS WZR, Wn, #imm12). */
    A64 cmp(int rn, int imm12) {
        return emit(0x7100_001F | unsigned12(imm12) << 10 | reg(rn) << 5);
    }

    /** CBZ Wt, label: branches if Wt is zero. */
    A64 cbz(int rt, String label) {
        fixups.add(new Fixup(words.size(), label, Kind.CBZ_OR_BCOND));
        return emit(0x3400_0000 | reg(rt));
    }

    /** B.EQ label. */
    A64 beq(String label) {
        fixups.add(new Fixup(words.size(), label, Kind.CBZ_OR_BCOND));
        return emit(0x5400_0000);
    }

    /** TBZ Wt, #bit, label: branches if bit {@code bit} (0..31) of Wt is zero. */
    A64 tbz(int rt, int bit, String label) {
        if (bit < 0 || bit > 31) throw new IllegalArgumentException("bit " + bit + " of a W register is not in 0..31");
        fixups.add(new Fixup(words.size(), label, Kind.TBZ));
        return emit(0x3600_0000 | bit << 19 | reg(rt));
    }

    /** B label. */
    A64 b(String label) {
        fixups.add(new Fixup(words.size(), label, Kind.B));
        return emit(0x1400_0000);
    }

    /** HVC #imm16: a hypervisor call (SMCCC function id in w0). */
    A64 hvc(int imm16) {
        return emit(0xD400_0002 | (imm16 & 0xFFFF) << 5);
    }

    /** Bytes after the code, at {@code label} (for ADR). */
    A64 bytes(String label, byte[] bytes) {
        if (dataLabels.put(label, data.size()) != null) throw new IllegalArgumentException("label " + label + " placed twice");
        data.writeBytes(bytes);
        return this;
    }

    /** The code, then the data; every label resolved. */
    byte[] assemble() {
        int codeSize = words.size() * 4;
        int[] code = words.stream().mapToInt(Integer::intValue).toArray();
        for (Fixup f : fixups) {
            Integer target = labels.get(f.label());
            if (target == null && dataLabels.containsKey(f.label())) target = codeSize + dataLabels.get(f.label());
            if (target == null) throw new IllegalArgumentException("label " + f.label() + " is never placed");
            int offset = target - f.at() * 4;
            code[f.at()] |= switch (f.kind()) {
                case B -> (offset >> 2) & 0x3FF_FFFF;
                case CBZ_OR_BCOND -> ((offset >> 2) & 0x7_FFFF) << 5;
                case TBZ -> ((offset >> 2) & 0x3FFF) << 5;
                case ADR -> (offset & 3) << 29 | ((offset >> 2) & 0x7_FFFF) << 5;
            };
        }
        byte[] out = new byte[codeSize + data.size()];
        for (int i = 0; i < code.length; i++) {
            int w = code[i];
            out[i * 4] = (byte) w;
            out[i * 4 + 1] = (byte) (w >>> 8);
            out[i * 4 + 2] = (byte) (w >>> 16);
            out[i * 4 + 3] = (byte) (w >>> 24);
        }
        System.arraycopy(data.toByteArray(), 0, out, codeSize, data.size());
        return out;
    }

    private A64 emit(int word) {
        words.add(word);
        return this;
    }

    private static int reg(int r) {
        if (r < 0 || r > 30) throw new IllegalArgumentException("register x" + r + " is not in x0..x30");
        return r;
    }

    private static int unsigned12(int value) {
        if (value < 0 || value > 4095) throw new IllegalArgumentException("immediate " + value + " is not in 0..4095");
        return value;
    }

    /** The hw (shift / 16) and imm16 fields of MOVZ and MOVK. */
    private static int wide(int imm16, int shift) {
        if (imm16 < 0 || imm16 > 0xFFFF) throw new IllegalArgumentException("immediate 0x" + Integer.toHexString(imm16) + " is not 16 bits");
        if (shift % 16 != 0 || shift < 0 || shift > 48) throw new IllegalArgumentException("shift " + shift + " is not 0, 16, 32 or 48");
        return shift / 16 << 21 | imm16 << 5;
    }
}
