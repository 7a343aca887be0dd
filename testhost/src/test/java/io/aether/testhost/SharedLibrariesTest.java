package io.aether.testhost;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SharedLibrariesTest {

    /** What ldd says for a jlink'ed runtime's libnet.so on Debian bookworm. */
    private static final String LDD = """
            \tlinux-vdso.so.1 (0x00007fc3935c1000)
            \tlibjava.so => /opt/rt/lib/libjava.so (0x00007fc393586000)
            \tlibjvm.so => not found
            \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007fc393393000)
            \t/lib64/ld-linux-x86-64.so.2 (0x00007fc3935c3000)
            """;

    @Test
    void parsesEveryKindOfLine() {
        assertEquals(List.of(
                new SharedLibraries.Needed("linux-vdso.so.1", Optional.empty()),
                new SharedLibraries.Needed("libjava.so", Optional.of(Path.of("/opt/rt/lib/libjava.so"))),
                new SharedLibraries.Needed("libjvm.so", Optional.empty()),
                new SharedLibraries.Needed("libc.so.6", Optional.of(Path.of("/lib/x86_64-linux-gnu/libc.so.6"))),
                new SharedLibraries.Needed("/lib64/ld-linux-x86-64.so.2", Optional.of(Path.of("/lib64/ld-linux-x86-64.so.2")))),
                SharedLibraries.parse(LDD));
        assertEquals(List.of(), SharedLibraries.parse("\tstatically linked\n"));
    }

    @Test
    void keepsWhatTheImageLacksAndRefusesWhatNobodyHas() throws IOException {
        Path libnet = Path.of("/opt/rt/lib/libnet.so");
        assertEquals(Set.of(Path.of("/lib/x86_64-linux-gnu/libc.so.6"), Path.of("/lib64/ld-linux-x86-64.so.2")),
                SharedLibraries.select(libnet, SharedLibraries.parse(LDD), Path.of("/opt/rt"), Set.of("libjvm.so")));
        var e = assertThrows(IOException.class,
                () -> SharedLibraries.select(libnet, SharedLibraries.parse(LDD), Path.of("/opt/rt"), Set.of()));
        assertEquals("ldd /opt/rt/lib/libnet.so: libjvm.so not found", e.getMessage());
    }

    /** The host's own /bin/sh needs libc and the dynamic loader; ldd is part of every glibc system. */
    @Test
    void resolvesARealProgram() throws IOException {
        Path sh = Path.of("/bin/sh").toRealPath();
        Set<Path> libs = SharedLibraries.resolve(List.of(sh), Path.of("/nonexistent"), Set.of());
        assertTrue(libs.stream().anyMatch(p -> p.getFileName().toString().startsWith("libc.so")), libs.toString());
        assertTrue(libs.stream().anyMatch(p -> p.getFileName().toString().startsWith("ld-linux")), libs.toString());
        assertTrue(libs.stream().allMatch(Path::isAbsolute));
    }

    @Test
    void namesTheBinaryWhenLddFails(@TempDir Path dir) throws IOException {
        Path notElf = Files.writeString(dir.resolve("script"), "#!/bin/sh\n");
        var e = assertThrows(IOException.class, () -> SharedLibraries.resolve(List.of(notElf), dir, Set.of()));
        assertTrue(e.getMessage().startsWith("finding the libraries of " + notElf + ": `ldd " + notElf + "` exited with status"),
                e.getMessage());
        assertFalse(SharedLibraries.isElf(notElf));
        assertTrue(SharedLibraries.isElf(Path.of("/bin/sh").toRealPath()));
    }
}
