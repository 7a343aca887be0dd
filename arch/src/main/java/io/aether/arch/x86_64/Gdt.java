package io.aether.arch.x86_64;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The boot GDT. Linux's 64-bit boot protocol asks for flat segments at selectors 0x10 (code)
 * and 0x18 (data); the PVH entry takes the same layout with a 32-bit code segment. The TSS entry
 * exists so the TR register describes a real descriptor, as VM entry requires.
 */
final class Gdt {

    static final int CODE_SELECTOR = 0x10;
    static final int DATA_SELECTOR = 0x18;
    static final int TSS_SELECTOR = 0x20;

    /** Flat 64-bit code: P, S, type 0xB (execute/read, accessed), G, L. */
    static final long CODE64 = 0x00AF_9B00_0000_FFFFL;
    /** Flat 32-bit code: P, S, type 0xB, G, D/B. */
    static final long CODE32 = 0x00CF_9B00_0000_FFFFL;
    /** Flat data: P, S, type 3 (read/write, accessed), G, D/B. */
    static final long DATA = 0x00CF_9300_0000_FFFFL;
    /** A busy TSS of 0x68 bytes at 0: P, type 0xB; in long mode the next 8 bytes (base 63:32) are 0. */
    static final long TSS = 0x0000_8B00_0000_0067L;

    /** Null, unused, code, data, TSS low and high halves. */
    static final int ENTRIES = 6;

    private Gdt() {
    }

    static long code(boolean longMode) {
        return longMode ? CODE64 : CODE32;
    }

    static byte[] bytes(boolean longMode) {
        ByteBuffer b = ByteBuffer.allocate(ENTRIES * 8).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(CODE_SELECTOR, code(longMode));
        b.putLong(DATA_SELECTOR, DATA);
        b.putLong(TSS_SELECTOR, TSS);
        return b.array();
    }
}
