package io.aether.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InitramfsTest {

    @Test
    void addsMissingParentsBeforeTheirContent() {
        Initramfs image = new Initramfs().text("/usr/lib/x/hello.txt", 0644, "hi");
        assertEquals(List.of("usr", "usr/lib", "usr/lib/x", "usr/lib/x/hello.txt"), List.copyOf(image.entries().keySet()));
        assertEquals(new Initramfs.Directory(0755), image.get("usr/lib"));
    }

    @Test
    void refusesToOverwriteOrToNestUnderAFile() {
        Initramfs image = new Initramfs().text("init", 0755, "x").directory("bin").directory("bin");
        var e = assertThrows(IllegalArgumentException.class, () -> image.text("/init", 0755, "y"));
        assertEquals("initramfs path /init is already taken", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> image.text("init/x", 0644, "y"));
        assertEquals("cannot add /init/x: /init is not a directory", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> image.file("f", 0644, Path.of("/no/such/file")));
    }

    @Test
    void copiesATreeWithModesAndSymlinks(@TempDir Path dir) throws IOException {
        Path src = Files.createDirectories(dir.resolve("jdk/bin"));
        Files.writeString(src.resolve("java"), "ELF");
        Files.setPosixFilePermissions(src.resolve("java"), PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.writeString(dir.resolve("jdk/release"), "JAVA_VERSION=25");
        Files.setPosixFilePermissions(dir.resolve("jdk/release"), PosixFilePermissions.fromString("rw-r--r--"));
        Files.createSymbolicLink(dir.resolve("jdk/bin/j"), Path.of("java"));

        Initramfs image = new Initramfs().tree("opt/jdk", dir.resolve("jdk"));
        assertEquals(List.of("opt", "opt/jdk", "opt/jdk/bin", "opt/jdk/bin/j", "opt/jdk/bin/java", "opt/jdk/release"),
                List.copyOf(image.entries().keySet()));
        assertEquals(new Initramfs.Symlink("java"), image.get("opt/jdk/bin/j"));
        var java = assertInstanceOf(Initramfs.RegularFile.class, image.get("opt/jdk/bin/java"));
        assertEquals(0755, java.permissions());
        assertEquals(0644, assertInstanceOf(Initramfs.RegularFile.class, image.get("opt/jdk/release")).permissions());
        assertEquals(3 + 15, image.contentSize());

        ByteArrayOutputStream out = new ByteArrayOutputStream();
        image.write(out, true);
        List<CpioReader.Entry> back = CpioReader.read(out.toByteArray(), true);
        assertEquals(List.copyOf(image.entries().keySet()), back.stream().map(CpioReader.Entry::name).toList());
        assertEquals("ELF", back.get(4).text());
        assertEquals(CpioWriter.S_IFLNK, back.get(3).type());
        assertEquals("java", back.get(3).text());
    }
}
