package io.aether.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class PrivateAptTest {

    private static final String KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg";

    /** A Debian 12 machine's /etc/apt/sources.list.d/debian.sources, as installed by its images. */
    private static final String DEB822 = """
            Types: deb
            # http://snapshot.debian.org/archive/debian/20250520T000000Z
            URIs: http://deb.debian.org/debian
            Suites: bookworm bookworm-updates
            Components: main
            Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

            Types: deb-src
            URIs: http://deb.debian.org/debian
            Suites: bookworm
            Components: main

            Types: deb
            URIs: http://deb.debian.org/debian-security
            Suites: bookworm-security
            Components: main
            Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

            Types: deb
            URIs: http://mirror.example/debian
            Suites: bookworm
            Enabled: no
            """;

    @Test
    void readsTheEnabledBinaryArchivesOfADeb822File() {
        assertEquals(List.of(
                        new PrivateApt.Source("http://deb.debian.org/debian", List.of("bookworm", "bookworm-updates"),
                                Optional.of(KEYRING)),
                        new PrivateApt.Source("http://deb.debian.org/debian-security", List.of("bookworm-security"),
                                Optional.of(KEYRING))),
                PrivateApt.parseDeb822(DEB822));
    }

    @Test
    void readsDebLinesOfAOneLineFile() throws IOException {
        String text = """
                # comment
                deb [arch=amd64 signed-by=/etc/apt/keyrings/debian.gpg] http://ftp.example/debian bookworm main contrib
                deb-src http://ftp.example/debian bookworm main
                deb http://security.example/debian-security bookworm-security main
                """;
        assertEquals(List.of(
                        new PrivateApt.Source("http://ftp.example/debian", List.of("bookworm"), Optional.of("/etc/apt/keyrings/debian.gpg")),
                        new PrivateApt.Source("http://security.example/debian-security", List.of("bookworm-security"),
                                Optional.empty())),
                PrivateApt.parseOneLine(text));
        assertEquals("""
                deb [arch=amd64 signed-by=/etc/apt/keyrings/debian.gpg] http://ftp.example/debian trixie main
                deb [arch=amd64] http://security.example/debian-security trixie-security main
                """, PrivateApt.sourcesList(PrivateApt.parseOneLine(text), "trixie", "amd64"));
    }

    @Test
    void deb822StanzasThatAreSourceOnlyOrCarryAnInlineKey() throws IOException {
        List<PrivateApt.Source> sources = PrivateApt.parseDeb822("""
                Types: deb-src
                URIs: http://src.example/debian
                Suites: bookworm

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
                new PrivateApt.Source("http://a.example/debian", List.of("stable", "stable-backports"), Optional.empty()),
                new PrivateApt.Source("http://b.example/debian", List.of("stable", "stable-backports"), Optional.empty())), sources);
        assertEquals("""
                deb [arch=amd64] http://a.example/debian trixie main
                deb [arch=amd64] http://b.example/debian trixie main
                """, PrivateApt.sourcesList(sources, "trixie", "amd64"), "backports left out; an inline key cannot be passed on");
    }

    @Test
    void theSuiteReplacesTheMachinesOnItsMirrorsForOneArchitecture() throws IOException {
        String expected = """
                deb [arch=arm64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main
                deb [arch=arm64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie-updates main
                deb [arch=arm64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security trixie-security main
                """;
        assertEquals(expected, PrivateApt.sourcesList(PrivateApt.parseDeb822(DEB822), "trixie", "arm64"));
        // Backports and suites given as paths are not a release's: left out.
        assertEquals("deb [arch=arm64] http://x/debian trixie main\n", PrivateApt.sourcesList(
                List.of(new PrivateApt.Source("http://x/debian", List.of("bookworm", "bookworm-backports", "stable/updates"),
                        Optional.empty())), "trixie", "arm64"));
    }

    @Test
    void aMachineWithoutADebianReleaseIsRefusedWithTheReason() {
        var e = assertThrows(GuestFetchException.class, () -> PrivateApt.sourcesList(
                List.of(new PrivateApt.Source("http://x/debian", List.of("bookworm-backports"), Optional.empty())),
                "trixie", "arm64"));
        assertTrue(e.getMessage().contains("no Debian release archive"), e.getMessage());
    }

    @Test
    void createWritesAPrivateStateAndLeavesTheMachinesAlone(@TempDir Path tmp) throws IOException {
        Path etc = Files.createDirectories(tmp.resolve("etc-apt/sources.list.d"));
        Files.writeString(etc.resolve("debian.sources"), DEB822);
        byte[] before = Files.readAllBytes(etc.resolve("debian.sources"));
        PrivateApt apt = PrivateApt.create(tmp.resolve("state"), "trixie", "arm64", tmp.resolve("etc-apt"));

        Path state = tmp.resolve("state").toAbsolutePath();
        assertEquals(state, apt.directory());
        assertTrue(Files.readString(state.resolve("sources.list")).startsWith("deb [arch=arm64 "));
        assertEquals("", Files.readString(state.resolve("status")), "an empty dpkg status: nothing counts as installed");
        assertTrue(Files.isDirectory(state.resolve("lists/partial")));
        assertTrue(Files.isDirectory(state.resolve("cache/archives/partial")));
        assertEquals(List.of("debian.sources"), List.of(etc.toFile().list()));
        assertEquals(new String(before), Files.readString(etc.resolve("debian.sources")));

        List<String> options = PrivateApt.options(state, state.resolve("empty.d"), "arm64");
        assertTrue(options.contains("Dir::Etc::SourceList=" + state.resolve("sources.list")), options.toString());
        assertTrue(options.contains("Dir::State::status=" + state.resolve("status")), options.toString());
        assertTrue(options.contains("APT::Architectures::=arm64"), options.toString());
        assertTrue(options.stream().noneMatch(o -> o.contains("/etc/apt") || o.contains("/var/lib")), options.toString());
    }

    @Test
    void namesThatWouldReachTheCommandLineAreChecked(@TempDir Path tmp) {
        assertThrows(IllegalArgumentException.class, () -> PrivateApt.create(tmp, "trixie main", "arm64", tmp));
        assertThrows(IllegalArgumentException.class, () -> PrivateApt.create(tmp, "trixie", "arm64,amd64", tmp));
    }

    @Test
    void withoutAnySourcesTheMirrorCannotBeFound(@TempDir Path tmp) {
        var e = assertThrows(GuestFetchException.class, () -> PrivateApt.create(tmp.resolve("s"), "trixie", "arm64", tmp));
        assertTrue(e.getMessage().startsWith("finding a Debian mirror"), e.getMessage());
    }
}
