package io.aether.vmm;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.vmspec.VmSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Recognising a PVM-backed /dev/kvm from fake /sys and /proc trees. */
@Timeout(30)
class KvmHostTest {

    @TempDir
    Path root;

    private void host(boolean pvmModule, String flags) throws IOException {
        if (pvmModule) Files.createDirectories(root.resolve("sys/module/kvm_pvm/parameters"));
        Files.createDirectories(root.resolve("proc"));
        if (flags != null) {
            Files.writeString(root.resolve("proc/cpuinfo"), """
                    processor\t: 0
                    vendor_id\t: AuthenticAMD
                    flags\t\t: %s
                    bugs\t\t: sysret_ss_attrs

                    processor\t: 1
                    flags\t\t: %s
                    """.formatted(flags, flags));
        }
    }

    @Test
    void aPvmModuleOnACpuWithoutVmxOrSvmCannotBootLinux() throws IOException {
        host(true, "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov lm nx hypervisor");
        Optional<String> why = KvmHost.whyNoLinux(root);
        assertTrue(why.isPresent());
        assertTrue(why.get().startsWith("this host's /dev/kvm is PVM-backed (kvm_pvm, no VMX or SVM in the CPU)"), why.get());
        assertTrue(why.get().contains("'aether demo'"), why.get());
        assertEquals(1, why.get().lines().count());
    }

    @Test
    void hardwareVirtualizationOrNoPvmModuleCanBootLinux() throws IOException {
        host(true, "fpu vme de pse tsc msr pae svm lm");
        assertEquals(Optional.empty(), KvmHost.whyNoLinux(root), "svm beside kvm_pvm: the kvm_amd path works");
        Files.writeString(root.resolve("proc/cpuinfo"), "flags\t\t: fpu vmx lm\n");
        assertEquals(Optional.empty(), KvmHost.whyNoLinux(root), "vmx");
        Path plain = root.resolve("plain");
        Files.createDirectories(plain.resolve("sys/module/kvm_amd"));
        Files.createDirectories(plain.resolve("proc"));
        Files.writeString(plain.resolve("proc/cpuinfo"), "flags\t\t: fpu lm\n");
        assertEquals(Optional.empty(), KvmHost.whyNoLinux(plain), "no kvm_pvm: whatever KVM this is, it is not PVM");
    }

    @Test
    void aFlagThatOnlyContainsTheLettersIsNotHardwareVirtualization() throws IOException {
        // "svm_lock" and "vmx_ept" style names must not count as the svm and vmx flags themselves.
        host(true, "fpu svm_lock avx512vmxabc lm");
        assertTrue(KvmHost.whyNoLinux(root).isPresent());
    }

    @Test
    void anUnreadableCpuinfoOnAPvmHostCountsAsNoHardwareVirtualization() throws IOException {
        host(true, null);
        assertTrue(KvmHost.whyNoLinux(root).isPresent());
    }

    @Test
    void onlyLinuxBootsAreRefused() throws IOException {
        host(true, "fpu lm");
        Path kernel = Files.writeString(root.resolve("vmlinuz"), "not really");
        VmSpec linux = VmSpec.linux(kernel);
        VmCreationException e = assertThrows(VmCreationException.class, () -> KvmHost.requireLinuxBootable(linux, root));
        assertEquals(KvmHost.whyNoLinux(root).orElseThrow(), e.getMessage());
        assertDoesNotThrow(() -> KvmHost.requireLinuxBootable(VmSpec.stub(VmSpec.StubProgram.COUNT), root));
    }
}
