package io.aether.arch.acpi;

/**
 * A Generic Address Structure (ACPI 6.5 section 5.2.3.2): where a register lives.
 *
 * @param spaceId address space: {@link #SYSTEM_MEMORY} or {@link #SYSTEM_IO}
 * @param bitWidth register width in bits
 * @param bitOffset offset of the register in the address
 * @param accessSize 0 undefined, 1 byte, 2 word, 3 dword, 4 qword access
 * @param address the register's address in its space
 */
public record GenericAddress(int spaceId, int bitWidth, int bitOffset, int accessSize, long address) {

    public static final int SYSTEM_MEMORY = 0;
    public static final int SYSTEM_IO = 1;
    public static final int ACCESS_BYTE = 1;
    /** Encoded size in bytes. */
    public static final int SIZE = 12;

    public GenericAddress {
        for (int v : new int[] {spaceId, bitWidth, bitOffset}) {
            if (v < 0 || v > 0xFF) throw new IllegalArgumentException("generic address field " + v + " does not fit a byte");
        }
        if (accessSize < 0 || accessSize > 4) throw new IllegalArgumentException("generic address access size " + accessSize + " is not in 0..4");
    }

    /** An 8-bit register in I/O port space, accessed a byte at a time. */
    public static GenericAddress ioPort8(int port) {
        if (port < 0 || port > 0xFFFF) throw new IllegalArgumentException("I/O port 0x" + Integer.toHexString(port) + " is not 16-bit");
        return new GenericAddress(SYSTEM_IO, 8, 0, ACCESS_BYTE, port);
    }

    /** The 12 encoded bytes. */
    public byte[] encode() {
        byte[] out = new byte[SIZE];
        out[0] = (byte) spaceId;
        out[1] = (byte) bitWidth;
        out[2] = (byte) bitOffset;
        out[3] = (byte) accessSize;
        for (int i = 0; i < 8; i++) out[4 + i] = (byte) (address >>> (8 * i));
        return out;
    }
}
