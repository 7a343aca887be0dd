package io.aether.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.aether.testkit.Gen;
import io.aether.testkit.Property;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModInfoTest {

    @Test
    void readsNameAndDepends(@TempDir Path dir) throws IOException {
        Path ko = TestModules.write(dir, "virtio_net.ko", "virtio_net", List.of("virtio_ring", "virtio", "net_failover"));
        assertEquals(new ModInfo("virtio_net", List.of("virtio_ring", "virtio", "net_failover")), ModInfo.read(ko));
    }

    @Test
    void emptyDependsIsNoDependency() throws IOException {
        assertEquals(List.of(), ModInfo.parse(ByteBuffer.wrap(TestModules.module("tun", List.of()))).depends());
    }

    @Test
    void namesWhatIsWrong() {
        assertEquals("not an ELF file (bad magic)", fault(new byte[64]));
        assertEquals("too short for an ELF header (10 bytes)", fault(new byte[10]));

        byte[] elf = TestModules.module("tun", List.of());
        byte[] noModinfo = TestModules.elf(List.of(".text"), List.of(new byte[4]));
        assertEquals("no .modinfo section", fault(noModinfo));

        byte[] exec = elf.clone();
        exec[16] = 2;
        assertEquals("not a relocatable object (e_type 2), so not a kernel module", fault(exec));

        byte[] bigEndian = elf.clone();
        bigEndian[5] = 2;
        assertEquals("not a little-endian ELF file (EI_DATA 2)", fault(bigEndian));

        byte[] truncated = java.util.Arrays.copyOf(elf, elf.length - 1);
        assertEquals("section header table (offset " + (elf.length - 5 * 64) + ", 5 x 64 bytes) lies outside the file ("
                + (elf.length - 1) + " bytes)", fault(truncated));

        byte[] badSection = elf.clone();
        ByteBuffer b = ByteBuffer.wrap(badSection).order(ByteOrder.LITTLE_ENDIAN);
        long shoff = b.getLong(0x28);
        b.putLong((int) shoff + 2 * 64 + 0x20, 1L << 40);   // .modinfo's size
        assertEquals("section 2 (offset 65, size 1099511627776) lies outside the file (" + elf.length + " bytes)",
                fault(badSection));

        byte[] noName = TestModules.elf(List.of(".modinfo"), List.of("depends=\0".getBytes()));
        assertEquals(".modinfo has no name= entry", fault(noName));

        byte[] badDep = TestModules.elf(List.of(".modinfo"), List.of("name=a\0depends=b,,c\0".getBytes()));
        assertEquals(".modinfo: module a has a bad dependency name: ''", fault(badDep));
    }

    @Test
    void readNamesTheFile(@TempDir Path dir) throws IOException {
        Path bad = java.nio.file.Files.write(dir.resolve("bad.ko"), new byte[100]);
        var e = assertThrows(ModuleFormatException.class, () -> ModInfo.read(bad));
        assertEquals(bad + ": not an ELF file (bad magic)", e.getMessage());
    }

    /** Corrupting any bytes of a module gives a parse or a ModuleFormatException, never another failure. */
    @Test
    void corruptFilesFailCleanly() {
        Gen<Byte> anyByte = Gen.ints(Byte.MIN_VALUE, Byte.MAX_VALUE).map(Integer::byteValue);
        Property.forAll(Gen.ints(0, 400), anyByte, Gen.ints(0, 400)).tries(2000).check((at, value, cut) -> {
            byte[] elf = TestModules.module("virtio_blk", List.of("virtio", "virtio_ring"));
            elf[at % elf.length] = value;
            byte[] data = java.util.Arrays.copyOf(elf, Math.max(0, elf.length - cut));
            try {
                ModInfo info = ModInfo.parse(ByteBuffer.wrap(data));
                assertEquals(info.name().isEmpty(), false);
            } catch (ModuleFormatException expected) {
                // a clean refusal
            }
        });
    }

    private static String fault(byte[] data) {
        return assertThrows(ModuleFormatException.class, () -> ModInfo.parse(ByteBuffer.wrap(data))).getMessage();
    }
}
