package io.aether.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class AptTest {

    private static final String SHOW = """
            Package: linux-image-cloud-amd64
            Source: linux-signed-amd64 (6.1.192+2)
            Version: 6.1.192-2
            Installed-Size: 13
            Provides: linux-latest-modules-6.1.0-56-cloud-amd64, wireguard-modules (= 1.0.0)
            Depends: linux-image-6.1.0-56-cloud-amd64 (= 6.1.192-2)
            Description: Linux for x86-64 cloud (meta-package)
            Size: 1504

            Package: linux-image-cloud-amd64
            Version: 6.1.176-1
            Depends: linux-image-6.1.0-50-cloud-amd64 (= 6.1.176-1)
            """;

    @Test
    void readsTheFirstStanza() {
        Apt.Package p = Apt.parseShow(SHOW).orElseThrow();
        assertEquals(new Apt.Package("linux-image-cloud-amd64", "6.1.192-2",
                "linux-image-6.1.0-56-cloud-amd64 (= 6.1.192-2)", 1504), p);
    }

    @Test
    void nothingWithoutPackageAndVersion() {
        assertEquals(Optional.empty(), Apt.parseShow(""));
        assertEquals(Optional.empty(), Apt.parseShow("N: Unable to locate package x\n"));
    }

    @Test
    void continuationLinesExtendDepends() {
        Apt.Package p = Apt.parseShow("Package: a\nVersion: 1\nDepends: b,\n c (>= 2)\nSize: x\n").orElseThrow();
        assertEquals("b, c (>= 2)", p.depends());
        assertEquals(-1, p.size());
    }

    @Test
    void findsTheVersionedImage() {
        assertEquals(Optional.of("linux-image-6.1.0-56-cloud-amd64"),
                Apt.dependencyStartingWith("linux-image-6.1.0-56-cloud-amd64 (= 6.1.192-2)", "linux-image-"));
        assertEquals(Optional.of("linux-image-6.12.9-cloud-amd64"), Apt.dependencyStartingWith(
                "initramfs-tools | linux-initramfs-tool, linux-image-6.12.9-cloud-amd64:amd64 (= 6.12.9-1)", "linux-image-"));
        assertEquals(Optional.empty(), Apt.dependencyStartingWith("kmod, linux-base (>= 4.3~)", "linux-image-"));
        assertEquals(Optional.empty(), Apt.dependencyStartingWith("", "linux-image-"));
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
                "libfoo=1.0-2", "qemu-system-x86=1:10.0.13+ds-0+deb13u1"),
                Apt.parseSimulation(simulation).stream().map(p -> p.name() + "=" + p.version()).toList());
    }
}
