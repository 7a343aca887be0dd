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
 * The node agent runs Debian's kernel as a user would drive it, through {@code aether node} and
 * {@code aether vm ...} in the nested test host: create and boot, pause and resume, the agent
 * killed with SIGKILL and restarted (the VM keeps running under the same monitor, re-adopted), a
 * graceful stop (Ctrl-Alt-Del reaches the kernel), a second boot of the same VM, and its removal.
 */
@Timeout(value = 40, unit = TimeUnit.MINUTES)
class AgentRunsLinuxTest {

    private static final Duration BOOT = Duration.ofMinutes(8);
    private static final Duration STEP = Duration.ofMinutes(3);

    @Test
    void aLinuxVmLivesThroughTheAgentsWholeLifecycle() throws Exception {
        String script = AgentScript.START_AGENT + """
                printf '{"boot": {"kernel": "%%s", "initrd": "%%s", "cmdline": "console=ttyS0 quiet panic=-1"}, "memory": "256M", "vcpus": 2}\\n' \\
                    "$GUEST_KERNEL" "$GUEST_INITRD" > linux.json
                # Waits until the VM's console log (in the agent's data directory) shows the ready marker $1 times.
                ready() {
                    waited=0
                    until [ "$(grep -c %s node/vms/linux/console.log 2> /dev/null)" -ge "$1" ]; do
                        sleep 2; waited=$((waited + 2))
                        # A line now and then, so that the test sees progress while the emulated guest boots.
                        [ $((waited %% 30)) -ne 0 ] || echo "agent: waiting for the guest, ${waited} s"
                        [ $waited -lt 480 ] || { sed 's/^/console: /' node/vms/linux/console.log; return 1; }
                    done
                }
                state() {
                    aether vm ls $N | awk '$1 == "linux" { print $2 }'
                }
                pid() {
                    aether vm ls $N | awk '$1 == "linux" { print $3 }'
                }
                start_agent
                aether vm create $N --spec linux.json --id linux > /dev/null || exit 12
                ready 1 || exit 13
                echo "agent: booted, $(state)"
                aether vm pause $N linux > /dev/null && echo "agent: after pause, $(state)"
                aether vm resume $N linux > /dev/null && echo "agent: after resume, $(state)"
                before=$(pid)
                kill -9 $agent
                wait $agent 2> /dev/null
                kill -0 "$before" && echo "agent: the monitor outlived the agent"
                start_agent
                [ "$(pid)" = "$before" ] && echo "agent: re-adopted the same monitor, $(state)"
                aether vm stop $N --timeout 120000 linux > /dev/null && echo "agent: after a graceful stop, $(state)"
                aether vm start $N linux > /dev/null || exit 14
                ready 2 || exit 15
                echo "agent: booted again, $(state)"
                aether vm rm $N --force linux > /dev/null && echo "agent: VMs left: $(aether vm ls $N --json | grep -c '"id"')"
                kill $agent
                wait $agent
                echo "agent: exited $?"
                """.formatted(GuestInit.READY_MARKER);
        GuestHost.get().retryingStalls(testHost -> {
            try (GuestRun run = testHost.start(Scenario.script(script).timeout(Duration.ofMinutes(30)).build())) {
                GuestConsole console = run.console();
                console.expectLine(Pattern.compile("agent: booted, running"), BOOT);
                console.expectLine(Pattern.compile("agent: after pause, paused"), STEP);
                console.expectLine(Pattern.compile("agent: after resume, running"), STEP);
                console.expectLine(Pattern.compile("agent: the monitor outlived the agent"), STEP);
                console.expectLine(Pattern.compile("agent: re-adopted the same monitor, running"), STEP);
                console.expectLine(Pattern.compile("agent: after a graceful stop, stopped"), STEP);
                console.expectLine(Pattern.compile("agent: booted again, running"), BOOT);
                console.expectLine(Pattern.compile("agent: VMs left: 0"), STEP);
                console.expectLine(Pattern.compile("agent: exited 0"), STEP);
                assertEquals(0, run.awaitExit(STEP));
            }
        });
    }
}
