package io.aether.testhost;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The choice of L1's QEMU, with stand-ins for the system's QEMU (scripts that print a version) and for the fetch. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class QemuChoiceTest {

    @TempDir
    Path dir;
    private final List<String> progress = new ArrayList<>();
    private final QemuCommand fetched = new QemuCommand(List.of("/cache/ld.so", "/cache/qemu"), Map.of(),
            "QEMU emulator version 10.0.13 (Debian 1:10.0.13+ds-0+deb13u1)", "the cache");
    private int fetches;

    private Path systemQemu(String version) throws IOException {
        Path script = dir.resolve("qemu-system-x86_64");
        Files.writeString(script, "#!/bin/sh\necho 'QEMU emulator version " + version + "'\necho 'Copyright (c) 2003-2022'\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        return script;
    }

    private QemuCommand fetch() {
        fetches++;
        return fetched;
    }

    private QemuCommand failingFetch() throws IOException {
        fetches++;
        throw new IOException("reading trixie's package lists: `apt-get update` exited with status 100");
    }

    @Test
    void theVariableNamesAChoice() throws IOException {
        assertEquals(QemuChoice.AUTO, QemuChoice.parse(Optional.empty()));
        assertEquals(QemuChoice.AUTO, QemuChoice.parse(Optional.of(" ")));
        assertEquals(QemuChoice.TRIXIE, QemuChoice.parse(Optional.of("trixie")));
        assertEquals(QemuChoice.SYSTEM, QemuChoice.parse(Optional.of("System")));
        var e = assertThrows(IOException.class, () -> QemuChoice.parse(Optional.of("qemu-9")));
        assertEquals("AETHER_TESTHOST_QEMU='qemu-9' is none of auto, trixie, system", e.getMessage());
    }

    @Test
    void byDefaultTrixiesQemuReplacesAnOlderSystemQemu() throws IOException {
        assertSame(fetched, QemuChoice.AUTO.resolve(systemQemu("7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)"), this::fetch, progress::add));
        assertEquals(1, fetches);
        assertEquals(List.of(), progress);
    }

    @Test
    void byDefaultASystemQemuOfVersionTenOrNewerIsUsedAsItIs() throws IOException {
        Path system = systemQemu("10.1.0");
        QemuCommand chosen = QemuChoice.AUTO.resolve(system, this::fetch, progress::add);
        assertEquals(List.of(system.toString()), chosen.prefix());
        assertEquals("QEMU emulator version 10.1.0", chosen.version());
        assertEquals(0, fetches);
    }

    @Test
    void byDefaultAFailedFetchFallsBackToTheSystemQemuLoudly() throws IOException {
        Path system = systemQemu("7.2.22");
        QemuCommand chosen = QemuChoice.AUTO.resolve(system, this::failingFetch, progress::add);
        assertEquals(List.of(system.toString()), chosen.prefix());
        assertEquals(2, progress.size(), progress.toString());
        assertEquals("WARNING: cannot fetch Debian trixie's QEMU 10: reading trixie's package lists: `apt-get update` exited"
                + " with status 100", progress.get(0));
        assertTrue(progress.get(1).startsWith("WARNING: the nested host runs on QEMU emulator version 7.2.22 from the system's "
                + system + " instead;"), progress.get(1));
        assertTrue(progress.get(1).contains("AETHER_TESTHOST_QEMU=trixie to make this an error"), progress.get(1));
    }

    @Test
    void askedForTrixieAFailedFetchIsAnError() throws IOException {
        Path system = systemQemu("7.2.22");
        var e = assertThrows(IOException.class, () -> QemuChoice.TRIXIE.resolve(system, this::failingFetch, progress::add));
        assertEquals("cannot fetch Debian trixie's QEMU 10 (AETHER_TESTHOST_QEMU=trixie): reading trixie's package lists:"
                + " `apt-get update` exited with status 100", e.getMessage());
        assertSame(fetched, QemuChoice.TRIXIE.resolve(systemQemu("10.1.0"), this::fetch, progress::add),
                "trixie's even where the system's is new");
    }

    @Test
    void askedForTheSystemsNothingIsFetched() throws IOException {
        Path system = systemQemu("7.2.22");
        assertEquals(List.of(system.toString()), QemuChoice.SYSTEM.resolve(system, this::fetch, progress::add).prefix());
        assertEquals(0, fetches);
    }

    @Test
    void aSystemQemuThatPrintsNoVersionIsNamed() throws IOException {
        Path broken = dir.resolve("broken");
        Files.writeString(broken, "#!/bin/sh\necho 'error while loading shared libraries' >&2\nexit 127\n");
        Files.setPosixFilePermissions(broken, PosixFilePermissions.fromString("rwxr-xr-x"));
        var e = assertThrows(IOException.class, () -> QemuChoice.SYSTEM.resolve(broken, this::fetch, progress::add));
        assertEquals("`" + broken + " --version` exited with status 127 and printed no QEMU version: error while loading"
                + " shared libraries", e.getMessage());
    }
}
