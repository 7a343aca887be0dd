package io.aether.testhost;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HostProbeTest {

    private static final Optional<Path> QEMU = Optional.of(Path.of("/usr/bin/qemu-system-x86_64"));

    @Test
    void readsVirtualizationFromTheFlagsLine() {
        String amd = "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu vme de pse svm extapic\nbugs\t\t: sysret_ss_attrs\n";
        String intel = "flags\t\t: fpu vmx ept\n";
        String pvmGuest = "flags\t\t: fpu vme de pse tsc msr hypervisor\nvmx flags\t: vnmi\n";
        assertTrue(HostProbe.cpuHasVirtualization(amd));
        assertTrue(HostProbe.cpuHasVirtualization(intel));
        assertFalse(HostProbe.cpuHasVirtualization(pvmGuest), "a 'vmx flags' line is not the flags line");
        assertFalse(HostProbe.cpuHasVirtualization("flags\t\t: fpu svmx\n"), "whole words only");
        assertFalse(HostProbe.cpuHasVirtualization(""));
    }

    @Test
    void choosesDirectOnlyOnHardwareKvmThatIsNotPvm() {
        assertEquals(Optional.of(HostProbe.Mode.DIRECT), new HostProbe(true, false, true, QEMU, Optional.empty()).mode());
        assertEquals(Optional.of(HostProbe.Mode.NESTED), new HostProbe(true, true, true, QEMU, Optional.empty()).mode());
        assertEquals(Optional.of(HostProbe.Mode.NESTED), new HostProbe(false, true, true, QEMU, Optional.empty()).mode());
        assertEquals(Optional.of(HostProbe.Mode.NESTED), new HostProbe(true, false, false, QEMU, Optional.empty()).mode());
        assertEquals(Optional.of(HostProbe.Mode.DIRECT),
                new HostProbe(true, false, true, Optional.empty(), Optional.empty()).mode());
        HostProbe nothing = new HostProbe(false, true, true, Optional.empty(), Optional.empty());
        assertEquals(Optional.empty(), nothing.mode());
        assertTrue(nothing.unavailableReason().startsWith("no way to boot a Linux guest here"), nothing.unavailableReason());
        assertTrue(nothing.unavailableReason().contains("PVM: yes, qemu-system-x86_64: not on PATH"), nothing.unavailableReason());
    }

    @Test
    void theOverrideForcesAModeOrExplainsWhyNot() {
        HostProbe hardware = new HostProbe(true, false, true, QEMU, Optional.of("nested"));
        assertEquals(Optional.of(HostProbe.Mode.NESTED), hardware.mode());
        HostProbe pvm = new HostProbe(false, true, true, QEMU, Optional.of("DIRECT"));
        assertEquals(Optional.empty(), pvm.mode());
        assertTrue(pvm.unavailableReason().startsWith("AETHER_TESTHOST=direct asks for what this host lacks"),
                pvm.unavailableReason());
        HostProbe typo = new HostProbe(true, false, true, QEMU, Optional.of("nestd"));
        assertEquals(Optional.empty(), typo.mode());
        assertEquals("AETHER_TESTHOST='nestd' is neither 'direct' nor 'nested'", typo.unavailableReason());
    }

    @Test
    void findsProgramsOnPath(@TempDir Path dir) throws IOException {
        Path bin = Files.createDirectories(dir.resolve("bin"));
        Path tool = Files.writeString(bin.resolve("tool"), "#!/bin/sh\n");
        Files.writeString(dir.resolve("tool"), "not executable");
        Files.setPosixFilePermissions(tool, PosixFilePermissions.fromString("rwxr-xr-x"));
        assertEquals(Optional.of(tool), HostProbe.onPath("tool", dir + ":" + bin));
        assertEquals(Optional.empty(), HostProbe.onPath("tool", dir.toString()));
        assertEquals(Optional.empty(), HostProbe.onPath("tool", null));
    }
}
