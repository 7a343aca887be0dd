package io.aether.testhost;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.testkit.Prerequisites;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 10, unit = TimeUnit.MINUTES)
class TrixieQemuTest {

    private static final String KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg";

    /** Debian bookworm's /etc/apt/sources.list.d/debian.sources as a cloud image ships it. */
    private static final String BOOKWORM_SOURCES = """
            Types: deb
            # http://snapshot.debian.org/archive/debian/20250520T000000Z
            URIs: http://deb.debian.org/debian
            Suites: bookworm bookworm-updates
            Components: main
            Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

            Types: deb
            # http://snapshot.debian.org/archive/debian-security/20250520T000000Z
            URIs: http://deb.debian.org/debian-security
            Suites: bookworm-security
            Components: main
            Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
            """;

    @Test
    void theMachinesMirrorsServeTrixieUnderTheSameKeys() throws IOException {
        List<TrixieQemu.Source> sources = TrixieQemu.deb822Sources(BOOKWORM_SOURCES);
        assertEquals(List.of(
                new TrixieQemu.Source("http://deb.debian.org/debian", List.of("bookworm", "bookworm-updates"), Optional.of(KEYRING)),
                new TrixieQemu.Source("http://deb.debian.org/debian-security", List.of("bookworm-security"), Optional.of(KEYRING))),
                sources);
        assertEquals("""
                deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main
                deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie-updates main
                deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security trixie-security main
                """, TrixieQemu.privateSources(sources));
    }

    @Test
    void deb822StanzasThatAreDisabledSourceOnlyOrCarryAnInlineKey() throws IOException {
        List<TrixieQemu.Source> sources = TrixieQemu.deb822Sources("""
                Types: deb-src
                URIs: http://src.example/debian
                Suites: bookworm

                Types: deb
                URIs: http://off.example/debian
                Suites: bookworm
                Enabled: no

                Types: deb deb-src
                URIs: http://a.example/debian http://b.example/debian
                Suites: stable stable-backports
                Signed-By:
                 -----BEGIN PGP PUBLIC KEY BLOCK-----
                 .
                 mQINBGPL0BUBEADmW5NdOOHwPIJlgPu6JDcKw/NZJPJwEzhS
                 -----END PGP PUBLIC KEY BLOCK-----
                """);
        assertEquals(List.of(
                new TrixieQemu.Source("http://a.example/debian", List.of("stable", "stable-backports"), Optional.empty()),
                new TrixieQemu.Source("http://b.example/debian", List.of("stable", "stable-backports"), Optional.empty())), sources);
        assertEquals("""
                deb [arch=amd64] http://a.example/debian trixie main
                deb [arch=amd64] http://b.example/debian trixie main
                """, TrixieQemu.privateSources(sources), "backports left out; an inline key cannot be passed on");
    }

    @Test
    void aOneLineSourcesListServesAsWell() throws IOException {
        List<TrixieQemu.Source> sources = TrixieQemu.oneLineSources("""
                # deb http://commented.example/debian bookworm main
                deb [arch=amd64 signed-by=/etc/apt/keyrings/debian.gpg] http://mirror.example/debian bookworm main contrib
                deb-src http://mirror.example/debian bookworm main
                deb http://security.debian.org/debian-security bookworm-security main
                """);
        assertEquals(List.of(
                new TrixieQemu.Source("http://mirror.example/debian", List.of("bookworm"), Optional.of("/etc/apt/keyrings/debian.gpg")),
                new TrixieQemu.Source("http://security.debian.org/debian-security", List.of("bookworm-security"), Optional.empty())),
                sources);
        assertEquals("""
                deb [arch=amd64 signed-by=/etc/apt/keyrings/debian.gpg] http://mirror.example/debian trixie main
                deb [arch=amd64] http://security.debian.org/debian-security trixie-security main
                """, TrixieQemu.privateSources(sources));
    }

    @Test
    void sourcesWithoutAReleaseSuiteAreRefused() {
        var e = assertThrows(IOException.class, () -> TrixieQemu.privateSources(List.of(
                new TrixieQemu.Source("http://deb.debian.org/debian-security", List.of("bookworm-security"), Optional.empty()))));
        assertTrue(e.getMessage().startsWith("the machine's apt sources name no Debian release"), e.getMessage());
    }

    @Test
    void theClosureIsEveryPackageTheSimulationWouldInstallAtItsVersion() {
        String simulation = """
                Reading package lists...
                The following additional packages will be installed:
                  adduser base-passwd
                Inst gcc-14-base (14.2.0-19 Debian:13.8/stable [amd64])
                Inst libc6 (2.41-12+deb13u5 Debian:13.8/stable [amd64]) []
                Inst libpcre2-8-0 (10.46-1~deb13u3 Debian:13.8/stable, Debian-Security:13/stable-security [amd64])
                Inst libfoo [1.0-1] (1.0-2 Debian:13.8/stable [amd64])
                Inst qemu-system-x86 (1:10.0.13+ds-0+deb13u1 Debian:13.8/stable [amd64])
                Conf qemu-system-x86 (1:10.0.13+ds-0+deb13u1 Debian:13.8/stable [amd64])
                """;
        assertEquals(List.of("gcc-14-base=14.2.0-19", "libc6=2.41-12+deb13u5", "libpcre2-8-0=10.46-1~deb13u3",
                "libfoo=1.0-2", "qemu-system-x86=1:10.0.13+ds-0+deb13u1"), TrixieQemu.closure(simulation));
    }

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
