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
 * A graceful stop reaches Debian's kernel as Ctrl-Alt-Del on the i8042 keyboard: the guest's
 * {@code /init} is a shell script that leaves Ctrl-Alt-Del to the kernel, which restarts at
 * once, and the restart ends the VM with status 0 although the spec says to restart it.
 */
@Timeout(value = 30, unit = TimeUnit.MINUTES)
class AetherStopsLinuxGracefullyTest {

    private static final Duration BOOT = Duration.ofMinutes(4);
    private static final Duration STEP = Duration.ofMinutes(2);

    @Test
    void ctrlAltDelFromAGracefulStopRestartsTheKernelAndEndsTheVm() throws Exception {
        // Without "quiet", so that the console shows the keyboard being probed and the restart.
        String script = """
                sed 's/io[.]aether[.]cli[.]Main/%s/' "$AETHER" > graceful-stop && chmod +x graceful-stop
                printf '{"boot": {"kernel": "%%s", "initrd": "%%s", "cmdline": "console=ttyS0 panic=-1"}, "memory": "256M", "onReboot": "restart"}\\n' \\
                    "$GUEST_KERNEL" "$GUEST_INITRD" > vm.json
                aether vm monitor --spec vm.json --socket vm.sock --console-log console.log &
                monitor=$!
                waited=0
                until grep -q %s console.log 2>/dev/null; do
                    sleep 1; waited=$((waited + 1)); [ $waited -lt 400 ] || exit 12
                done
                echo "guest is ready"
                ./graceful-stop vm.sock 120000
                wait $monitor
                echo "monitor exited: $?"
                grep -E 'i8042|serio|input:|Restarting' console.log | sed 's/^/console: /'
                """.formatted(GracefulStop.class.getName(), GuestInit.READY_MARKER);
        GuestHost.get().retryingStalls(testHost -> {
            try (GuestRun run = testHost.start(Scenario.script(script).timeout(Duration.ofMinutes(10)).build())) {
                GuestConsole console = run.console();
                console.expectLine(Pattern.compile("guest is ready"), BOOT);
                console.expectLine(Pattern.compile("graceful stop: stopped \\(guest rebooted\\) after \\d+ ms"), STEP);
                console.expectLine(Pattern.compile("monitor exited: 0"), STEP);
                // Linux found the controller through the DSDT (IRQ 1 of its _CRS; Linux numbers it its own way) and its keyboard behind it.
                console.expectLine(Pattern.compile("console: .*i8042: PNP: PS/2 Controller \\[PNP0303:PS2K\\] at 0x60,0x64 irq \\d+"), STEP);
                console.expectLine(Pattern.compile("console: .*serio: i8042 KBD port at 0x60,0x64 irq \\d+"), STEP);
                console.expectLine(Pattern.compile("console: .*input: AT Raw Set 2 keyboard as .*"), STEP);
                console.expectLine(Pattern.compile("console: .*reboot: Restarting system"), STEP);
                assertEquals(0, run.awaitExit(STEP));
            }
        });
    }
}
