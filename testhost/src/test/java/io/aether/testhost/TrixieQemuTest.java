package io.aether.testhost;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.testkit.Prerequisites;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 10, unit = TimeUnit.MINUTES)
class TrixieQemuTest {

    /** A real fetch from Debian's mirror into an empty cache; the machine's apt state stays as it was. */
    @Test
    void fetchesRunsAndReusesWithoutTouchingTheMachinesApt(@TempDir Path cache) throws IOException {
        Prerequisites.require(HostProbe.onPath("apt-get", System.getenv("PATH")).isPresent()
                && HostProbe.onPath("dpkg-deb", System.getenv("PATH")).isPresent(),
                "fetching trixie's QEMU needs apt-get and dpkg-deb (a Debian-based host)");
        String aptBefore = aptState();
        List<String> progress = new ArrayList<>();
        TrixieQemu trixie = new TrixieQemu(cache, Path.of("/etc/apt"), progress::add);
        QemuCommand qemu;
        try {
            qemu = trixie.ensure();
        } catch (IOException e) {
            throw Prerequisites.missing("cannot fetch trixie's QEMU from Debian's mirror: " + e.getMessage());
        }
        assertTrue(qemu.version().startsWith("QEMU emulator version 10."), qemu.version());
        Path root = cache.resolve("root");
        assertEquals(root.resolve("usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2").toString(), qemu.prefix().getFirst(),
                "started through the private root's own loader");
        assertTrue(Files.isRegularFile(root.resolve("usr/share/seabios/bios-256k.bin")), "q35's firmware is in the root");
        assertTrue(progress.getFirst().startsWith("fetching Debian trixie's QEMU 10"), progress.toString());
        assertTrue(Files.isRegularFile(cache.resolve("manifest.properties")));
        try (var left = Files.list(cache)) {
            assertEquals(List.of("fetch.lock", "manifest.properties", "root"),
                    left.map(p -> p.getFileName().toString()).sorted().toList(), "no work directories are left behind");
        }
        assertEquals("", HostCommand.require("finding set-ID files", List.of("find", root.toString(), "-perm", "/6000"),
                null, java.time.Duration.ofMinutes(1)));
        assertEquals(aptBefore, aptState(), "the machine's apt sources, lists and architectures are unchanged");

        progress.clear();
        assertEquals(qemu, new TrixieQemu(cache, Path.of("/etc/apt"), progress::add).ensure());
        assertEquals(List.of(), progress, "the second use finds the cache");
    }

    /** The machine's apt sources and lists (names, sizes, times) and dpkg's architectures. */
    private static String aptState() throws IOException {
        return HostCommand.require("listing apt's state", List.of("/bin/sh", "-c",
                "ls -lR --time-style=+%s /etc/apt /var/lib/apt/lists 2>&1; dpkg --print-architecture;"
                        + " dpkg --print-foreign-architectures"), null, java.time.Duration.ofMinutes(1));
    }
}
