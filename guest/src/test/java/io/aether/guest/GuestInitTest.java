package io.aether.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GuestInitTest {

    private static final List<String> MODULES = List.of("virtio_ring.ko", "virtio.ko", "virtio_mmio.ko", "virtio-rng.ko");

    /**
     * Runs the generated script under the host's /bin/sh with every command it calls replaced
     * by a shell function that logs the call, and returns the log.
     */
    private static List<String> runScript(Path dir, String cmdline) throws IOException, InterruptedException {
        Path init = Files.writeString(dir.resolve("init"), GuestInit.script(MODULES));
        Path stubs = Files.writeString(dir.resolve("stubs"), """
                log() { echo "CALL $*"; }
                mount() { log mount "$@"; }
                mkdir() { log mkdir "$@"; }
                insmod() { log insmod "$@"; [ "$1" != /lib/modules/virtio.ko ]; }
                cat() { echo "%s"; }
                setsid() { log setsid "$@"; }
                sync() { log sync; }
                poweroff() { log poweroff "$@"; exit 0; }
                """.formatted(cmdline));
        Process p = new ProcessBuilder("/bin/sh", "-c", ". " + stubs + "; . " + init).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        return out.lines().toList();
    }

    @Test
    void loadsModulesInOrderThenRunsAShell(@TempDir Path dir) throws Exception {
        List<String> log = runScript(dir, "console=ttyS0 quiet");
        assertEquals(List.of(
                "CALL mount -t proc proc /proc",
                "CALL mount -t sysfs sysfs /sys",
                "CALL mount -t devtmpfs devtmpfs /dev",
                "CALL mkdir -p /dev/pts",
                "CALL mount -t devpts devpts /dev/pts",
                "CALL insmod /lib/modules/virtio_ring.ko",
                "CALL insmod /lib/modules/virtio.ko",
                "aether-init: cannot load virtio.ko",
                "CALL insmod /lib/modules/virtio_mmio.ko",
                "CALL insmod /lib/modules/virtio-rng.ko",
                GuestInit.READY_MARKER,
                "aether-init: shell on the console; 'exit' powers the guest off",
                "CALL setsid cttyhack sh",
                "CALL sync",
                "CALL poweroff -f"), log);
    }

    @Test
    void powersOffRightAfterTheMarkerInBenchmarkMode(@TempDir Path dir) throws Exception {
        List<String> log = runScript(dir, "console=ttyS0 " + GuestInit.POWEROFF_PARAMETER + " panic=-1");
        assertEquals(List.of(GuestInit.READY_MARKER, "CALL poweroff -f"), log.subList(log.size() - 2, log.size()));
    }

    @Test
    void aSimilarParameterIsNotBenchmarkMode(@TempDir Path dir) throws Exception {
        List<String> log = runScript(dir, "console=ttyS0 " + GuestInit.POWEROFF_PARAMETER + "x");
        assertTrue(log.contains("CALL setsid cttyhack sh"), log.toString());
    }

    @Test
    void refusesModuleNamesThatCouldInjectShell() {
        assertThrows(IllegalArgumentException.class, () -> GuestInit.script(List.of("x.ko; reboot")));
        assertThrows(IllegalArgumentException.class, () -> GuestInit.script(List.of("virtio")));
    }
}
