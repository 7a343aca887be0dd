package io.aether.vmm;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A tiny ELF "kernel" with a PVH entry, so that tests build the Linux machine (interrupt
 * controller, PIT, legacy devices, virtio, ACPI tables, PVH boot) without a real kernel: in
 * 32-bit protected mode it writes '!' to COM1 for ever, waiting for the transmitter each time.
 */
final class PvhTestKernel {

    /** Where its one segment loads and where it starts. */
    static final int ENTRY = 0x100_0000;

    /** Hand-assembled (32-bit): poll LSR.THRE, write '!', again. */
    private static final byte[] CODE = {
        0x66, (byte) 0xBA, (byte) 0xFD, 0x03,   // 0:  mov dx, 0x3FD (COM1 LSR)
        (byte) 0xEC,                            // 4:  in al, dx
        (byte) 0xA8, 0x20,                      // 5:  test al, 0x20 (THR empty)
        0x74, (byte) 0xFB,                      // 7:  jz 4
        0x66, (byte) 0xBA, (byte) 0xF8, 0x03,   // 9:  mov dx, 0x3F8 (COM1 THR)
        (byte) 0xB0, '!',                       // 13: mov al, '!'
        (byte) 0xEE,                            // 15: out dx, al
        (byte) 0xEB, (byte) 0xEE,               // 16: jmp 0
    };

    private PvhTestKernel() {
    }

    /** Writes the ELF file into {@code dir}: one PT_LOAD of the code, one PT_NOTE with XEN_ELFNOTE_PHYS32_ENTRY. */
    static Path write(Path dir) throws IOException {
        byte[] note = ByteBuffer.allocate(20).order(ByteOrder.LITTLE_ENDIAN)
                .putInt(4).putInt(4).putInt(18).put(new byte[] {'X', 'e', 'n', 0}).putInt(ENTRY).array();
        int noteOffset = 64 + 2 * 56;
        int codeOffset = 0x200;
        ByteBuffer elf = ByteBuffer.allocate(codeOffset + CODE.length).order(ByteOrder.LITTLE_ENDIAN);
        elf.put(new byte[] {0x7F, 'E', 'L', 'F', 2, 1, 1});  // ELFCLASS64, little-endian, version 1
        elf.putShort(16, (short) 2);                         // ET_EXEC
        elf.putShort(18, (short) 62);                        // EM_X86_64
        elf.putInt(20, 1);
        elf.putLong(24, ENTRY);
        elf.putLong(32, 64);                                 // program headers right after this header
        elf.putShort(52, (short) 64);
        elf.putShort(54, (short) 56);
        elf.putShort(56, (short) 2);
        elf.putInt(64, 1).putInt(68, 5);                     // PT_LOAD, read + execute
        elf.putLong(72, codeOffset).putLong(80, ENTRY).putLong(88, ENTRY);
        elf.putLong(96, CODE.length).putLong(104, CODE.length).putLong(112, 0x1000);
        elf.putInt(120, 4);                                  // PT_NOTE
        elf.putLong(128, noteOffset).putLong(152, note.length).putLong(160, note.length);
        elf.put(noteOffset, note);
        elf.put(codeOffset, CODE);
        return Files.write(dir.resolve("pvh-test-kernel"), elf.array());
    }
}
