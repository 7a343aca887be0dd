package io.aether.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.testhost.GuestConsole;
import io.aether.testhost.GuestRun;
import io.aether.testhost.Scenario;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A Linux guest snapshotted through the node agent and restored as a new VM in the nested test
 * host goes on where it stopped. The guest's init is a counter, given on the kernel command line
 * (busybox's /bin/sh with its arguments after {@code --}): it appends each number to a file in its
 * RAM-backed root and prints the number beside the file's line count. After the restore the count
 * goes on from the snapshot, and the file still has exactly one line per number. The VM's disk is
 * a node volume, where the counter also writes each number k to sector k and reads it back: after
 * the restore the guest still reads what it wrote, and the host finds every number in its sector.
 * Once the volume has grown behind the snapshot's back, a restore is refused with the reason and
 * leaves no VM.
 */
@Timeout(value = 40, unit = TimeUnit.MINUTES)
class AgentSnapshotsLinuxTest {

    private static final Duration BOOT = Duration.ofMinutes(8);
    private static final Duration STEP = Duration.ofMinutes(4);

    @Test
    void aRestoredLinuxGuestGoesOnCountingWithItsFileIntact() throws Exception {
        String script = AgentScript.START_AGENT + """
                cat > linux.tmpl <<'EOF'
                {"boot": {"kernel": "@KERNEL@", "initrd": "@INITRD@", "cmdline": "console=ttyS0 quiet panic=-1 rdinit=/bin/sh -- -c \\"mount -t devtmpfs d /dev; for p in 1 2 3; do for m in /lib/modules/*.ko; do insmod $m 2> /dev/null; done; done; i=0; while :; do i=$((i+1)); echo $i >> /count; echo $i | dd of=/dev/vda bs=512 seek=$i conv=notrunc,fsync 2> /dev/null; echo count $i lines $(wc -l < /count) disk $(dd if=/dev/vda bs=512 skip=$i count=1 2> /dev/null | head -n 1); sleep 1; done\\""}, "memory": "256M"}
                EOF
                sed "s|@KERNEL@|$GUEST_KERNEL|; s|@INITRD@|$GUEST_INITRD|" linux.tmpl > linux.json
                start_agent
                # The last number VM $1 printed, or 0: a whole one, followed by its line's next word (a VM
                # stopped mid-line leaves "count 2" of "count 20 lines 20" at the log's end).
                last() {
                    grep -o 'count [0-9]* lines' node/vms/$1/console.log 2> /dev/null | tail -n 1 | cut -d' ' -f2 | grep . || echo 0
                }
                # Waits until VM $1 has counted past $2.
                counted() {
                    waited=0
                    until [ "$(last $1)" -gt "$2" ]; do
                        sleep 2; waited=$((waited + 2))
                        [ $((waited % 30)) -ne 0 ] || echo "agent: waiting for $1 to count past $2, ${waited} s"
                        [ $waited -lt 480 ] || { tail -n 20 node/vms/$1/console.log | sed 's/^/console: /'; return 1; }
                    done
                }
                aether volume create $N data --size 8M > /dev/null || exit 19
                aether vm create $N --spec linux.json --id linux --volume data > /dev/null || exit 12
                counted linux 3 || exit 13
                echo "agent: counting"
                before=$(last linux)
                aether vm snapshot $N linux s1 > snapshot.out || { cat snapshot.out; exit 14; }
                echo "agent: snapshot taken after count $before"
                aether vm stop $N --force linux > /dev/null || exit 15
                stopped=$(last linux)
                aether vm restore $N --from linux/s1 --id again > /dev/null || exit 16
                counted again 0 || exit 17
                # Once more, so that the first line is whole (the guest may still be writing the last one).
                counted again "$(last again)" || exit 17
                first=$(grep -o 'count [0-9]* lines [0-9]*' node/vms/again/console.log | head -n 1)
                echo "agent: restored, first $first"
                now=$(last again)
                # Past what the first VM wrote to the disk after its snapshot, so that the numbers checked below are the restored VM's.
                [ "$now" -gt "$stopped" ] || now=$stopped
                counted again $((now + 2)) || exit 18
                # The log's last line left out: the running guest may be writing it.
                echo "agent: still counting, $(sed '$d' node/vms/again/console.log | grep -o 'count [0-9]* lines [0-9]* disk [0-9]*' | tail -n 1)"
                aether vm stop $N --force again > /dev/null || exit 20
                # Seen from the host: sector k of the volume holds the number k, for every number the guests counted.
                upto=$(last again)
                wrong=0
                k=1
                while [ $k -le $upto ]; do
                    [ "$(dd if=node/volumes/data/data.img bs=512 skip=$k count=1 2> /dev/null | head -n 1)" = "$k" ] || wrong=$((wrong + 1))
                    k=$((k + 1))
                done
                echo "agent: the disk holds $upto numbers after the first VM's $stopped, $wrong wrong"
                # The VM's disk (its volume) grows behind the snapshot's back: a restore is refused, naming the disk.
                truncate -s 16M node/volumes/data/data.img
                aether vm restore $N --from linux/s1 --id third > /dev/null 2> refused.err && exit 21
                echo "agent: refused: $(tr '\\n' ' ' < refused.err)"
                aether vm ls $N | awk '$1 == "third" { print "agent: a refused restore left VM third behind" }'
                aether vm rm $N --force again > /dev/null
                aether vm rm $N --force linux > /dev/null
                kill $agent
                wait $agent
                echo "agent: exited $?"
                """;
        GuestHost.get().retryingStalls(testHost -> {
            try (GuestRun run = testHost.start(Scenario.script(script).timeout(Duration.ofMinutes(30)).build())) {
                GuestConsole console = run.console();
                console.expectLine(Pattern.compile("agent: counting"), BOOT);
                Matcher taken = Pattern.compile("agent: snapshot taken after count (\\d+)").matcher(console.expectLine(
                        Pattern.compile("agent: snapshot taken after count \\d+"), STEP));
                assertTrue(taken.find());
                int before = Integer.parseInt(taken.group(1));
                Matcher first = Pattern.compile("count (\\d+) lines (\\d+)").matcher(console.expectLine(
                        Pattern.compile("agent: restored, first count \\d+ lines \\d+"), BOOT));
                assertTrue(first.find());
                int count = Integer.parseInt(first.group(1));
                assertTrue(count > before, "the restored guest goes on from the snapshot (" + count + " after " + before + "), not from 1");
                assertEquals(count, Integer.parseInt(first.group(2)), "one line in the guest's file per number counted");
                Matcher still = Pattern.compile("count (\\d+) lines (\\d+) disk (\\d+)").matcher(console.expectLine(
                        Pattern.compile("agent: still counting, count \\d+ lines \\d+ disk \\d+"), STEP));
                assertTrue(still.find());
                assertTrue(Integer.parseInt(still.group(1)) > count);
                assertEquals(still.group(1), still.group(2));
                assertEquals(still.group(1), still.group(3), "the guest reads back from its virtio disk the number it just wrote there");
                Matcher disk = Pattern.compile("holds (\\d+) numbers after the first VM's (\\d+), (\\d+) wrong").matcher(console.expectLine(
                        Pattern.compile("agent: the disk holds \\d+ numbers after the first VM's \\d+, \\d+ wrong"), STEP));
                assertTrue(disk.find());
                assertTrue(Integer.parseInt(disk.group(1)) > Integer.parseInt(disk.group(2)), "the restored VM wrote past the first one");
                assertEquals("0", disk.group(3), "every sector written through the restored VM's virtio disk holds its number on the host");
                String refused = console.expectLine(Pattern.compile("agent: refused: .*"), STEP);
                assertTrue(refused.matches(".*disks\\[0\\]: \\S+/volumes/data/data\\.img: 16777216 bytes, but 8388608 when the snapshot was taken \\(its size changed\\).*"),
                        refused);
                console.expectLine(Pattern.compile("agent: exited 0"), STEP);
                assertTrue(!console.transcript().contains("left VM third behind"), "a refused restore leaves no VM");
                assertEquals(0, run.awaitExit(STEP));
            }
        });
    }
}
