package io.aether.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.arch.aarch64.Layout;
import io.aether.kvm.Kvm;
import io.aether.memory.GuestMemory;
import io.aether.sys.Libc;
import io.aether.testhost.Arm64Program;
import io.aether.testhost.Arm64TestHost;
import io.aether.testhost.GuestConsole;
import io.aether.testhost.GuestRun;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The project's arm64 KVM bindings on a real arm64 KVM: the arm64 test host boots Debian's
 * arm64 kernel at EL2 under QEMU, and inside it {@link Arm64KvmProbe} runs on the arm64 Java
 * runtime, built from the {@code kvm}, {@code memory} and {@code arch} modules as they are. The
 * exits it prints are checked against values derived by hand from the guest's code, the
 * ARM architecture and the KVM uapi headers.
 */
class Arm64HostRunsKvmTest {

    /** Booting L1 with a 190 MiB initramfs under emulation: 3 s on an idle machine, several times that under load. */
    private static final Duration L1_BOOT = Duration.ofSeconds(90);
    private static final Duration PROGRAM = Duration.ofSeconds(90);
    private static final Pattern PROBE_LINE = Pattern.compile("probe: (.*)");
    private static final Pattern EXIT_LINE = Pattern.compile("exit (\\d+): (.*)");

    private static Arm64TestHost host;

    /** The first run fetches the arm64 packages (about 85 MB) once; later runs find them in the cache. */
    @BeforeAll
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    static void prepare() {
        host = Arm64Hosts.shared();
    }

    @Test
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void theKvmModuleRunsAnArm64GuestToItsPsciPowerOff() throws IOException {
        Arm64Program program = new Arm64Program(Arm64KvmProbe.class.getName(),
                Arm64Program.classpathOf(Arm64KvmProbe.class, Kvm.class, GuestMemory.class, Libc.class, Layout.class),
                List.of(), Duration.ofMinutes(3));
        List<String> facts = new ArrayList<>();
        try (GuestRun run = host.start(program)) {
            GuestConsole console = run.console();
            console.expectLine(Pattern.compile(Arm64TestHost.KVM_PRESENT), L1_BOOT);
            console.expectLine(Pattern.compile(Pattern.quote(Arm64KvmProbe.DONE)), PROGRAM);
            assertEquals(0, run.awaitExit(Duration.ofSeconds(60)), "the probe's exit status");
            System.err.println("testhost: arm64: L1 boot, the probe and the power-off took " + run.elapsed());
            for (String line : run.transcript().lines().toList()) {
                Matcher m = PROBE_LINE.matcher(line.strip());
                if (m.matches()) {
                    facts.add(m.group(1));
                }
            }
        }

        String platform = facts.getFirst();
        assertTrue(platform.startsWith("arch=aarch64 api=12 ipa_limit_bits="), platform);
        int ipaBits = Integer.parseInt(platform.substring(platform.lastIndexOf('=') + 1));
        // The arm64 layout's RAM and devices sit below 1 << 40, KVM's default IPA size; the host must offer that much.
        assertTrue(ipaBits >= 40, "IPA limit " + ipaBits + " bits");
        // KVM_ARM_VCPU_INIT leaves PSTATE at EL1h (M = 0b0101) with D, A, I, F masked (bits 9..6): 0x3c5.
        assertTrue(facts.stream().anyMatch(f -> f.matches("target=\\d+ pstate_after_init=0x3c5")), facts.toString());
        assertTrue(facts.contains("pc=0x40000000"), "PC reads back as set: " + facts);

        List<String> exits = new ArrayList<>();
        for (String fact : facts) {
            Matcher m = EXIT_LINE.matcher(fact);
            if (m.matches() && !m.group(2).equals("INTERRUPTED")) {
                exits.add(m.group(2));
            }
        }
        List<String> expected = new ArrayList<>();
        // "Hello from EL1\n" in ASCII, one strb each: H e l l o ' ' f r o m ' ' E L 1 '\n'.
        for (String hex : List.of("48", "65", "6c", "6c", "6f", "20", "66", "72", "6f", "6d", "20", "45", "4c", "31", "0a")) {
            expected.add("MMIO_WRITE addr=0x9000000 len=1 data=" + hex);
        }
        expected.add("MMIO_READ  addr=0x9000004 len=4");
        // The probe answered 0x12345678; the guest wrote back 0x12345679, little-endian.
        expected.add("MMIO_WRITE addr=0x9000008 len=4 data=79563412");
        // GICD_ISPENDR1 bit 5 = interrupt id 37 = SPI 5, raised by KVM_IRQ_LINE before the run; nothing else pending.
        expected.add("MMIO_WRITE addr=0x900000c len=4 data=20000000");
        expected.add("SYSTEM_EVENT type=shutdown");
        assertEquals(expected, exits);

        // The HVC at 0x38 returned to 0x3c; x12 holds the word read plus one.
        assertTrue(facts.contains("after pc=0x4000003c x12=0x12345679"), facts.toString());
        // MPIDR_EL1 from the vCPU id (Aff0), with bit 31 RES1; the boot vCPU runnable (KVM_MP_STATE_RUNNABLE 0),
        // the secondary powered off until a PSCI CPU_ON (KVM_MP_STATE_STOPPED 5).
        assertTrue(facts.contains("vcpu0 mpidr=0x80000000 mp_state=0; vcpu1 mpidr=0x80000001 mp_state=5"), facts.toString());
    }
}
