package io.aether.it;

import io.aether.testhost.GuestConsole;
import io.aether.testhost.GuestRun;
import io.aether.testhost.HostProbe;
import io.aether.testhost.Scenario;
import io.aether.testhost.TestHost;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.guest.GuestInit;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Proves the test host end to end with QEMU's microvm as the monitor (until Aether's own
 * monitor boots Linux): the Java runtime and the product's jars work where the monitor runs,
 * /dev/kvm is there (in the nested mode: kvm-amd loaded with nested=1), and the stock guest
 * boots to its shell, which answers over the console. Skipped with the reason where no test
 * host can run; fails in CI.
 */
// The scenario ends itself within 6 minutes; this only catches a hang outside it, such as waiting for another
// process's run of the nested host (up to 20 minutes).
@Timeout(value = 30, unit = TimeUnit.MINUTES)
class TestHostBootsLinuxTest {

    private static final Duration STEP = Duration.ofMinutes(2);
    /** Emulation on a busy machine can stretch a boot several times over; waits only cost time when they fail. */
    private static final Duration BOOT = Duration.ofMinutes(4);

    @Test
    void qemuMicrovmBootsTheGuestToAShellThatAnswers() throws Exception {
        TestHost host = GuestHost.get();
        String script = """
                aether --version
                if [ -c /dev/kvm ]; then echo "kvm: present"; fi
                if [ -d /sys/module/kvm_amd ]; then echo "kvm_amd nested: $(cat /sys/module/kvm_amd/parameters/nested)"; fi
                exec %s
                """.formatted(Scenario.qemuMicrovmCommand(Scenario.GUEST_CMDLINE));
        host.retryingStalls(testHost -> {
            try (GuestRun run = testHost.start(Scenario.script(script).withQemu().timeout(Duration.ofMinutes(6)).build())) {
                GuestConsole console = run.console();
                console.expectLine(Pattern.compile("aether .+"), STEP);
                console.expectLine(Pattern.compile("kvm: present"), STEP);
                if (host.mode() == HostProbe.Mode.NESTED) {
                    console.expectLine(Pattern.compile("kvm_amd nested: (1|Y)"), STEP);
                }
                console.expectLine(Pattern.compile(GuestInit.READY_MARKER), BOOT);

                GuestConsole.ShellResult hello = console.exec("echo hello", STEP);
                assertEquals(List.of("hello"), hello.lines());
                assertEquals(0, hello.status());
                assertEquals(List.of("2"), console.exec("nproc", STEP).lines());
                GuestConsole.ShellResult drivers = console.exec("ls /sys/bus/virtio/drivers", STEP);
                assertTrue(drivers.output().contains("virtio_blk"), drivers.output());

                console.exitShell(STEP);
                assertEquals(0, run.awaitExit(STEP), "leaving the guest's shell powers it off and QEMU exits with 0");
                System.err.println("testhost: nested boot-to-shell run took " + run.elapsed());
            }
        });
    }
}
