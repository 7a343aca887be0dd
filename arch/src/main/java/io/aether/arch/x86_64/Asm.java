package io.aether.arch.x86_64;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A small x86 machine-code emitter: exactly the instructions the built-in stub guest needs, in
 * 16-, 32- and 64-bit code, with labels resolved when the code is finished. Encodings follow the
 * Intel SDM, volume 2; 32-bit operands in 16-bit code get the operand-size prefix 0x66.
 */
final class Asm {

    private record Fixup(int at, String label, int width, boolean relative) {
    }

    private final long origin;
    private final ByteArrayOutputStream code = new ByteArrayOutputStream();
    private final Map<String, Integer> labels = new HashMap<>();
    private final List<Fixup> fixups = new ArrayList<>();
    private int bits = 16;

    /** @param origin the guest-physical address the first byte will be loaded at */
    Asm(long origin) {
        this.origin = origin;
    }

    /** The default operand size of the code that follows: 16, 32 or 64. */
    Asm bits(int bits) {
        if (bits != 16 && bits != 32 && bits != 64) throw new IllegalArgumentException("bits must be 16, 32 or 64");
        this.bits = bits;
        return this;
    }

    Asm label(String name) {
        if (labels.putIfAbsent(name, code.size()) != null) throw new IllegalStateException("label defined twice: " + name);
        return this;
    }

    Asm bytes(int... values) {
        for (int v : values) code.write(v);
        return this;
    }

    Asm bytes(byte[] values) {
        code.writeBytes(values);
        return this;
    }

    private Asm imm16(int v) {
        return bytes(v & 0xFF, (v >>> 8) & 0xFF);
    }

    private Asm imm32(long v) {
        return bytes((int) v & 0xFF, (int) (v >>> 8) & 0xFF, (int) (v >>> 16) & 0xFF, (int) (v >>> 24) & 0xFF);
    }

    private Asm absolute32(String label) {
        fixups.add(new Fixup(code.size(), label, 4, false));
        return imm32(0);
    }

    private Asm relative8(String label) {
        fixups.add(new Fixup(code.size(), label, 1, true));
        return bytes(0);
    }

    /** Operand-size prefix for a 32-bit operation in 16-bit code. */
    private Asm op32() {
        return bits == 16 ? bytes(0x66) : this;
    }

    /** Operand-size prefix for a 16-bit operation in 32/64-bit code. */
    private Asm op16() {
        return bits == 16 ? this : bytes(0x66);
    }

    Asm cli() {
        return bytes(0xFA);
    }

    Asm hlt() {
        return bytes(0xF4);
    }

    /**
     * {@code lgdt [address]}, loading a 32-bit base; in 16-bit code {@code address} is the offset
     * in DS and must be below 64 KiB.
     */
    Asm lgdt(int address) {
        if (address < 0 || address > 0xFFFF) throw new IllegalArgumentException("lgdt operand beyond 64 KiB");
        if (bits == 16) return bytes(0x66, 0x0F, 0x01, 0x16).imm16(address);
        return bytes(0x0F, 0x01, 0x14, 0x25).imm32(address); // [disp32] via SIB, no base
    }

    /** {@code mov r32, imm32}; reg 0..7 = eax, ecx, edx, ebx, esp, ebp, esi, edi. */
    Asm movImm(int reg, long value) {
        return op32().bytes(0xB8 + reg).imm32(value);
    }

    /** {@code mov r32, label} with the label's absolute address. */
    Asm movLabel(int reg, String label) {
        op32().bytes(0xB8 + reg);
        return absolute32(label);
    }

    /** {@code or eax, imm32}. */
    Asm orEax(long value) {
        return op32().bytes(0x0D).imm32(value);
    }

    /** {@code mov eax, crN}. */
    Asm movEaxFromCr(int cr) {
        return bytes(0x0F, 0x20, 0xC0 | (cr << 3));
    }

    /** {@code mov crN, eax}. */
    Asm movCrFromEax(int cr) {
        return bytes(0x0F, 0x22, 0xC0 | (cr << 3));
    }

    /** {@code mov sreg, ax}; sreg 0..5 = es, cs, ss, ds, fs, gs. */
    Asm movSregFromAx(int sreg) {
        return bytes(0x8E, 0xC0 | (sreg << 3));
    }

    Asm rdmsr() {
        return bytes(0x0F, 0x32);
    }

    Asm wrmsr() {
        return bytes(0x0F, 0x30);
    }

    /** {@code jmp far selector:label} into a 32- or 64-bit code segment. */
    Asm jmpFar(int selector, String label) {
        op32().bytes(0xEA);
        absolute32(label);
        return imm16(selector);
    }

    /** {@code mov dx, imm16}. */
    Asm movDx(int value) {
        return op16().bytes(0xBA).imm16(value);
    }

    Asm lodsb() {
        return bytes(0xAC);
    }

    /** {@code out dx, al}. */
    Asm outDxAl() {
        return bytes(0xEE);
    }

    /** {@code in al, dx}. */
    Asm inAlDx() {
        return bytes(0xEC);
    }

    /** {@code test al, imm8}. */
    Asm testAl(int value) {
        return bytes(0xA8, value);
    }

    /** {@code mov ax, imm16} in 16-bit code. */
    Asm movAx16(int value) {
        if (bits != 16) throw new IllegalStateException("mov ax, imm16 is emitted for 16-bit code only");
        return bytes(0xB8).imm16(value);
    }

    /** {@code out imm8, al}. */
    Asm outImmAl(int port) {
        return bytes(0xE6, port);
    }

    /** {@code jmp far segment:offset} with a 16-bit offset, from 16-bit code (the reset vector's jump). */
    Asm jmpFar16(int segment, int offset) {
        return bytes(0xEA).imm16(offset).imm16(segment);
    }

    /** {@code mov al, imm8}. */
    Asm movAl(int value) {
        return bytes(0xB0, value);
    }

    /** {@code cmp al, imm8}. */
    Asm cmpAl(int value) {
        return bytes(0x3C, value);
    }

    /** {@code jnz rel8}. */
    Asm jnz(String label) {
        bytes(0x75);
        return relative8(label);
    }

    /** {@code ud2}: the undefined-instruction exception on purpose. */
    Asm ud2() {
        return bytes(0x0F, 0x0B);
    }

    /** {@code jz rel8}. */
    Asm jz(String label) {
        bytes(0x74);
        return relative8(label);
    }

    /** {@code loop rel8} (counts down ecx/rcx). */
    Asm loop(String label) {
        bytes(0xE2);
        return relative8(label);
    }

    /** {@code jmp rel8}. */
    Asm jmp(String label) {
        bytes(0xEB);
        return relative8(label);
    }

    /** Resolves labels and returns the machine code. */
    byte[] assemble() {
        byte[] out = code.toByteArray();
        for (Fixup f : fixups) {
            Integer target = labels.get(f.label());
            if (target == null) throw new IllegalStateException("undefined label: " + f.label());
            long value;
            if (f.relative()) {
                value = target - (f.at() + f.width());
                if (value < -128 || value > 127) throw new IllegalStateException("short jump to " + f.label() + " out of range: " + value);
            } else {
                value = origin + target;
            }
            for (int i = 0; i < f.width(); i++) out[f.at() + i] = (byte) (value >>> (8 * i));
        }
        return out;
    }
}
