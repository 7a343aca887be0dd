package io.aether.guest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.testkit.Gen;
import io.aether.testkit.Property;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CpioWriterTest {

    private static byte[] sample(boolean gzip) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (CpioWriter w = gzip ? CpioWriter.gzip(bytes) : CpioWriter.plain(bytes)) {
            w.directory("bin", 0755);
            w.file("/bin/hello", 0755, "#!/bin/sh\necho hi\n".getBytes(StandardCharsets.UTF_8));
            w.symlink("bin/sh", "/bin/busybox");
            w.directory("dev", 0755);
            w.charDevice("dev/console", 0600, 5, 1);
            w.file("odd", 0644, 5, new ByteArrayInputStream("12345xyz".getBytes(StandardCharsets.US_ASCII)));
        }
        return bytes.toByteArray();
    }

    @Test
    void writesEveryKindOfEntryAndTheTrailer() throws IOException {
        List<CpioReader.Entry> entries = CpioReader.read(sample(false), false);
        assertEquals(List.of("bin", "bin/hello", "bin/sh", "dev", "dev/console", "odd"),
                entries.stream().map(CpioReader.Entry::name).toList());

        CpioReader.Entry dir = entries.get(0);
        assertEquals(CpioWriter.S_IFDIR, dir.type());
        assertEquals(0755, dir.permissions());
        assertEquals(2, dir.nlink());

        CpioReader.Entry file = entries.get(1);
        assertEquals(CpioWriter.S_IFREG, file.type());
        assertEquals(0755, file.permissions());
        assertEquals("#!/bin/sh\necho hi\n", file.text());
        assertEquals(0, file.uid());
        assertEquals(0, file.gid());
        assertEquals(0, file.mtime());

        CpioReader.Entry link = entries.get(2);
        assertEquals(CpioWriter.S_IFLNK, link.type());
        assertEquals(0777, link.permissions());
        assertEquals("/bin/busybox", link.text());

        CpioReader.Entry console = entries.get(4);
        assertEquals(CpioWriter.S_IFCHR, console.type());
        assertEquals(0600, console.permissions());
        assertEquals(5, console.rdevMajor());
        assertEquals(1, console.rdevMinor());
        assertEquals(0, console.data().length);

        assertEquals("12345", entries.get(5).text(), "streams exactly the declared size");
        assertEquals(List.of(1, 2, 3, 4, 5, 6), entries.stream().map(CpioReader.Entry::inode).toList());
    }

    @Test
    void gzipHoldsTheSameArchive() throws IOException {
        byte[] plain = sample(false);
        byte[] gz = sample(true);
        assertEquals(0x1f, gz[0] & 0xff);
        assertEquals(0x8b, gz[1] & 0xff);
        List<CpioReader.Entry> a = CpioReader.read(plain, false);
        List<CpioReader.Entry> b = CpioReader.read(gz, true);
        assertEquals(a.size(), b.size());
        for (int i = 0; i < a.size(); i++) {
            assertEquals(a.get(i).name(), b.get(i).name());
            assertEquals(a.get(i).mode(), b.get(i).mode());
            assertArrayEquals(a.get(i).data(), b.get(i).data());
        }
    }

    @Test
    void refusesBadPathsModesAndShortContent() throws IOException {
        try (CpioWriter w = CpioWriter.plain(new ByteArrayOutputStream())) {
            assertThrows(IllegalArgumentException.class, () -> w.directory("a/../b", 0755));
            assertThrows(IllegalArgumentException.class, () -> w.directory("", 0755));
            assertThrows(IllegalArgumentException.class, () -> w.directory("a//b", 0755));
            assertThrows(IllegalArgumentException.class, () -> w.directory("a/", 0755));
            assertThrows(IllegalArgumentException.class, () -> w.file("TRAILER!!!", 0644, new byte[0]));
            assertThrows(IllegalArgumentException.class, () -> w.file("x", 0100644, new byte[0]));
            assertThrows(IllegalArgumentException.class, () -> w.symlink("x", ""));
            assertThrows(IllegalArgumentException.class, () -> w.charDevice("x", 0600, -1, 0));
            IOException e = assertThrows(IOException.class,
                    () -> w.file("short", 0644, 10, new ByteArrayInputStream(new byte[3])));
            assertEquals("content of short ended 7 bytes short of its size 10", e.getMessage());
        }
    }

    @Test
    void noEntryAfterTheTrailer() throws IOException {
        CpioWriter w = CpioWriter.plain(new ByteArrayOutputStream());
        w.finish();
        assertThrows(IllegalStateException.class, () -> w.directory("late", 0755));
        w.close();
    }

    /** The system's cpio (or busybox's) must list the archive as we wrote it. */
    @Test
    void systemCpioListsTheArchive(@TempDir Path dir) throws Exception {
        Optional<List<String>> tool = Stream.of(List.of("cpio", "-t"), List.of("busybox", "cpio", "-t"))
                .filter(cmd -> onPath(cmd.getFirst()))
                .findFirst();
        Assumptions.assumeTrue(tool.isPresent(), "neither cpio nor busybox is on PATH: cannot cross-check the archive");
        Path archive = dir.resolve("a.cpio");
        Files.write(archive, sample(false));
        Process p = new ProcessBuilder(tool.get()).redirectInput(archive.toFile())
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String listing = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue());
        assertEquals(List.of("bin", "bin/hello", "bin/sh", "dev", "dev/console", "odd"), listing.lines().toList());
    }

    private static boolean onPath(String tool) {
        return Stream.of(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator))
                .anyMatch(d -> !d.isEmpty() && Files.isExecutable(Path.of(d, tool)));
    }

    @Test
    void anyEntriesRoundTrip() {
        Property.forAll(files()).tries(200).check(files -> {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            try (CpioWriter w = CpioWriter.plain(bytes)) {
                for (Map.Entry<String, byte[]> f : files.entrySet()) {
                    w.file(f.getKey(), 0644, f.getValue());
                }
            }
            assertEquals(0, bytes.size() % 4);
            List<CpioReader.Entry> back = CpioReader.read(bytes.toByteArray(), false);
            assertEquals(new ArrayList<>(files.keySet()), back.stream().map(CpioReader.Entry::name).toList());
            int i = 0;
            for (byte[] data : files.values()) {
                assertArrayEquals(data, back.get(i++).data());
            }
        });
    }

    /** Up to 8 files with distinct names of 1 to 13 letters, each of up to 70 bytes, in insertion order. */
    private static Gen<Map<String, byte[]>> files() {
        Gen<Integer> sizes = Gen.ints(0, 8);
        Gen<String> names = Gen.strings(1, 13, 'a', 'z');
        Gen<byte[]> contents = Gen.bytes(0, 70);
        return random -> {
            int size = sizes.next(random);
            Map<String, byte[]> files = new LinkedHashMap<>();
            while (files.size() < size) {
                // A name drawn twice is drawn again, so the map has the size drawn.
                files.putIfAbsent(names.next(random), contents.next(random));
            }
            return files;
        };
    }
}
