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
 * stopped by {@code aether job stop}, which removes its VM from the node. Then a job with a
 * volume: its guest writes a mark on the volume; stopped and run again, the new guest reads the
 * first one's mark from the same volume; {@code job stop --purge-volumes} deletes the volume.
 */
@Timeout(value = 50, unit = TimeUnit.MINUTES)
class FabricRunsLinuxTest {

    private static final Duration BOOT = Duration.ofMinutes(10);
    private static final Duration STEP = Duration.ofMinutes(4);

    @Test
    void aLinuxJobIsPlacedBootedReportedAndStopped() throws Exception {
        String script = """
                C="--controller up/controller/controller.sock"
                # Each aether client is a JVM started under emulation (seconds), so the waits below
                # poll files where they can, and count time by the clock rather than by iterations.
                began=$(date +%%s)
                elapsed() { echo $(( $(date +%%s) - began )); }
                # Runs "$2" until it succeeds, printing a line every 30 s (so that the test sees progress),
                # giving up after $1 seconds.
                await() {
                    began=$(date +%%s); said=0
                    until eval "$2" > /dev/null 2>&1; do
                        sleep 1
                        [ $(( $(elapsed) - said )) -lt 30 ] || { said=$(elapsed); echo "fabric: waiting for $3, $(elapsed) s"; }
                        [ $(elapsed) -lt $1 ] || return 1
                    done
                }
                aether up --data up --name l1 --no-discovery > up.log 2>&1 &
                up=$!
                await 300 "grep -q '^Try:' up.log" "aether up" || { sed 's/^/up.log: /' up.log; exit 11; }
                echo "fabric: serving after $(elapsed) s"
                printf '{"name": "linux", "workload": {"vm": {"boot": {"kernel": "%%s", "initrd": "%%s", "cmdline": "console=ttyS0 quiet panic=-1"}, "memory": "256M", "vcpus": 2}}, "replicas": 1, "restart": "never"}\\n' \\
                    "$GUEST_KERNEL" "$GUEST_INITRD" > linux-job.json
                aether job run $C linux-job.json || { sed 's/^/up.log: /' up.log; exit 12; }
                await 540 "grep -q %s up/node/vms/*/console.log" "the guest" || { aether job status $C linux; sed 's/^/up.log: /' up.log; exit 13; }
                # The same output as a user reads it: through the controller (which replica is where) and the node.
                aether job logs $C --node up/node/node.sock linux | grep -q %s && echo "fabric: job logs show the guest's ready marker"
                # The replica's state as the controller has it (from the node's reports).
                state() {
                    aether job status $C linux | awk '$1 == "linux.0" { print $3 " on " $2 }'
                }
                await 120 '[ "$(state)" = "running on l1" ]' "the report" || { aether job status $C linux; exit 14; }
                echo "fabric: the controller has the replica $(state)"
                aether job stop $C linux > /dev/null || exit 15
                await 180 '[ "$(aether vm ls --node up/node/node.sock --json | grep -c "\\"id\\"")" = 0 ]' "the VM's removal" \\
                    || { aether vm ls --node up/node/node.sock; exit 16; }
                echo "fabric: VMs left on the node after job stop: 0"
                # A job with a volume: the guest reads the volume's first sector, says what it found and
                # writes its own mark there. Run, stopped and run again, the second guest reads the first's.
                sed -e "s#@KERNEL@#$GUEST_KERNEL#" -e "s#@INITRD@#$GUEST_INITRD#" > vol-job.json <<'JOB'
                {"name": "vol", "workload": {"vm": {"boot": {"kernel": "@KERNEL@", "initrd": "@INITRD@", "cmdline": "console=ttyS0 quiet panic=-1 rdinit=/bin/sh -- -c \\"mount -t devtmpfs d /dev; for p in 1 2 3; do for m in /lib/modules/*.ko; do insmod $m 2> /dev/null; done; done; old=$(dd if=/dev/vda bs=512 count=1 2> /dev/null | head -n 1); if [ -z $old ]; then new=first; else new=second; fi; echo aether-volume-$new | dd of=/dev/vda bs=512 conv=notrunc,fsync 2> /dev/null; echo volume read [$old] wrote aether-volume-$new; while :; do sleep 60; done\\""}, "memory": "256M"}}, "replicas": 1, "restart": "never", "volumes": [{"name": "data", "size": "16M"}]}
                JOB
                vol_run() {
                    aether job run $C vol-job.json > /dev/null || { sed 's/^/up.log: /' up.log; exit 17; }
                    await 540 "grep -q 'volume read' up/node/vms/vol.0/console.log" "the volume guest" || { aether job status $C vol; exit 18; }
                    echo "fabric: $1 run: $(grep -a -o 'volume read.*' up/node/vms/vol.0/console.log | tr -d '\\r')"
                }
                vol_run first
                aether job stop $C vol > /dev/null || exit 19
                await 180 '[ ! -e up/node/vms/vol.0 ]' "the volume VM's removal" || exit 20
                echo "fabric: volumes kept after job stop: $(aether volume ls --node up/node/node.sock --json | grep -c '"name"')"
                vol_run second
                aether job stop $C vol --purge-volumes > /dev/null || exit 21
                await 180 '[ "$(aether volume ls --node up/node/node.sock --json | grep -c "\\"name\\"")" = 0 ]' "the purge" \\
                    || { aether volume ls --node up/node/node.sock; exit 22; }
                echo "fabric: volumes left after job stop --purge-volumes: 0"
                kill $up
                wait $up
                echo "fabric: aether up exited $?"
                """.formatted(GuestInit.READY_MARKER, GuestInit.READY_MARKER);
        GuestHost.get().retryingStalls(testHost -> {
            try (GuestRun run = testHost.start(Scenario.script(script).timeout(Duration.ofMinutes(40)).build())) {
                GuestConsole console = run.console();
                console.expectLine(Pattern.compile("fabric: serving after \\d+ s"), STEP);
                console.expectLine(Pattern.compile("fabric: job logs show the guest's ready marker"), BOOT);
                console.expectLine(Pattern.compile("fabric: the controller has the replica running on l1"), STEP);
                console.expectLine(Pattern.compile("fabric: VMs left on the node after job stop: 0"), STEP);
                console.expectLine(Pattern.compile("fabric: first run: volume read \\[\\] wrote aether-volume-first"), BOOT);
                console.expectLine(Pattern.compile("fabric: volumes kept after job stop: 1"), STEP);
                console.expectLine(Pattern.compile("fabric: second run: volume read \\[aether-volume-first\\] wrote aether-volume-second"), BOOT);
                console.expectLine(Pattern.compile("fabric: volumes left after job stop --purge-volumes: 0"), STEP);
                console.expectLine(Pattern.compile("fabric: aether up exited 0"), STEP);
                assertEquals(0, run.awaitExit(STEP));
            }
        });
    }
}
