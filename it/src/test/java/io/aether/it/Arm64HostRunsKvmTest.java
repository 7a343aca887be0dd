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

    /** The probe's {@code probe: } lines, from one L1 boot that both tests read. */
    private static final List<String> facts = new ArrayList<>();

    /** The first run fetches the arm64 packages (about 85 MB) once; later runs find them in the cache. */
    @BeforeAll
    @Timeout(value = 14, unit = TimeUnit.MINUTES)
    static void runTheProbeInTheArm64Host() throws IOException {
        Arm64TestHost host = Arm64Hosts.shared();
        Arm64Program program = new Arm64Program(Arm64KvmProbe.class.getName(),
                Arm64Program.classpathOf(Arm64KvmProbe.class, Kvm.class, GuestMemory.class, Libc.class, Layout.class),
                List.of(), Duration.ofMinutes(3));
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
    }

    @Test
    @Timeout(value = 1, unit = TimeUnit.MINUTES)
    void theKvmModuleRunsAnArm64GuestToItsPsciPowerOff() {
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

    /**
     * Item 4 of issue 8 on a real arm64 KVM: the second VM's RAM slot logs dirty pages and its
     * read-only slot turns the guest's store into an MMIO exit. The expected pages and words
     * follow from {@link Arm64KvmProbe#STAGE2_CODE}'s stores, read by hand.
     */
    @Test
    @Timeout(value = 1, unit = TimeUnit.MINUTES)
    void readOnlySlotsAndDirtyLoggingWorkOnArm64Kvm() {
        List<String> stage2 = facts.stream().filter(f -> f.startsWith("stage2 ")).map(f -> f.substring(7)).toList();
        assertEquals(List.of(
                // The monitor's own writes (the code, the ROM word) are not the guest's: nothing logged yet.
                "dirty before=none",
                // The guest reads the read-only slot: 0xc0def00d, little-endian.
                "exit: MMIO_WRITE addr=0x9000000 len=4 data=0df0dec0",
                // Pages 3, 200 and 1023 written; page 0 (code, fetched only) and page 9 (read only) are clean.
                "exit: MMIO_WRITE addr=0x9000004 len=4 data=00000000",
                "dirty at 0x9000004=3,200,1023",
                // Reading the log cleared it and KVM protected the pages again: page 200 counts anew, page 7 is new.
                "exit: MMIO_WRITE addr=0x9000008 len=4 data=00000000",
                "dirty at 0x9000008=7,200",
                // The store into the read-only slot: an MMIO exit with the stored 0xd1e7...
                "exit: MMIO_WRITE addr=0x40400000 len=4 data=e7d10000",
                // ... and the guest reads the slot's word unchanged afterwards.
                "exit: MMIO_WRITE addr=0x900000c len=4 data=0df0dec0",
                "exit: SYSTEM_EVENT type=shutdown",
                // The host sees the same: the read-only slot kept its word, the RAM stores landed.
                "rom after=0xc0def00d page3=0xd1e7 page7=0xd1e7"), stage2);
    }
}
