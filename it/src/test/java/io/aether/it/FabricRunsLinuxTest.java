package io.aether.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.aether.guest.GuestInit;
import io.aether.testhost.GuestConsole;
import io.aether.testhost.GuestRun;
import io.aether.testhost.Scenario;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The fabric runs Debian's kernel as a user would drive it in the nested test host: {@code aether
 * up} (a controller and a node agent), a job whose workload is a Linux microVM submitted with
 * {@code aether job run}, the replica placed, booted to its ready marker (read back through
 * {@code aether job logs}, from the node that runs it), reported running to the controller, then
 * stopped by {@code aether job stop}, which removes its VM from the node.
 */
@Timeout(value = 40, unit = TimeUnit.MINUTES)
class FabricRunsLinuxTest {

    private static final Duration BOOT = Duration.ofMinutes(10);
    private static final Duration STEP = Duration.ofMinutes(4);

    @Test
    void aLinuxJobIsPlacedBootedReportedAndStopped() throws Exception {
        String script = """
                C="--controller up/controller/controller.sock"
                aether up --data up --name l1 --no-discovery > up.log 2>&1 &
                up=$!
                waited=0
                until aether job ls $C > /dev/null 2>&1; do
                    sleep 1; waited=$((waited + 1))
                    [ $((waited %% 30)) -ne 0 ] || echo "fabric: starting, ${waited} s"
                    [ $waited -lt 300 ] || { sed 's/^/up.log: /' up.log; exit 11; }
                done
                echo "fabric: serving after ${waited} s"
                printf '{"name": "linux", "workload": {"vm": {"boot": {"kernel": "%%s", "initrd": "%%s", "cmdline": "console=ttyS0 quiet panic=-1"}, "memory": "256M", "vcpus": 2}}, "replicas": 1, "restart": "never"}\\n' \\
                    "$GUEST_KERNEL" "$GUEST_INITRD" > linux-job.json
                aether job run $C linux-job.json || { sed 's/^/up.log: /' up.log; exit 12; }
                # The replica's state as the controller has it (from the node's reports).
                state() {
                    aether job status $C linux | awk '$1 == "linux.0" { print $3 }'
                }
                waited=0
                until aether job logs $C --node up/node/node.sock linux 2> /dev/null | grep -q %s; do
                    sleep 2; waited=$((waited + 2))
                    # A line now and then, so that the test sees progress while the emulated guest boots.
                    [ $((waited %% 30)) -ne 0 ] || echo "fabric: waiting for the guest, ${waited} s, replica $(state)"
                    [ $waited -lt 540 ] || { aether job status $C linux; sed 's/^/up.log: /' up.log; exit 13; }
                done
                echo "fabric: the guest printed its ready marker"
                waited=0
                until [ "$(state)" = running ]; do
                    sleep 1; waited=$((waited + 1))
                    [ $waited -lt 120 ] || { aether job status $C linux; exit 14; }
                done
                echo "fabric: the controller has the replica $(state) on $(aether job status $C linux | awk '$1 == "linux.0" { print $2 }')"
                aether job stop $C linux > /dev/null || exit 15
                waited=0
                until [ "$(aether vm ls --node up/node/node.sock --json | grep -c '"id"')" = 0 ]; do
                    sleep 1; waited=$((waited + 1))
                    [ $waited -lt 180 ] || { aether vm ls --node up/node/node.sock; exit 16; }
                done
                echo "fabric: VMs left on the node after job stop: 0"
                kill $up
                wait $up
                echo "fabric: aether up exited $?"
                """.formatted(GuestInit.READY_MARKER);
        GuestHost.get().retryingStalls(testHost -> {
            try (GuestRun run = testHost.start(Scenario.script(script).timeout(Duration.ofMinutes(30)).build())) {
                GuestConsole console = run.console();
                console.expectLine(Pattern.compile("fabric: serving after \\d+ s"), STEP);
                console.expectLine(Pattern.compile("fabric: the guest printed its ready marker"), BOOT);
                console.expectLine(Pattern.compile("fabric: the controller has the replica running on l1"), STEP);
                console.expectLine(Pattern.compile("fabric: VMs left on the node after job stop: 0"), STEP);
                console.expectLine(Pattern.compile("fabric: aether up exited 0"), STEP);
                assertEquals(0, run.awaitExit(STEP));
            }
        });
    }
}
