package io.aether.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A standby's warm-up leaves the device paths of a Linux boot's exits compiled, as the JIT's own
 * log says: a fresh JVM with the monitor's JIT options runs the warm-up and prints what it
 * compiled. The stub guests alone never reach the i8042 or a virtio-mmio transport, and those
 * that only print one line leave even the vCPU's exit loop interpreted.
 */
@Timeout(180)
class WarmUpCompilesExitPathsTest {

    /** The forked JVM's entry point: the standby's warm-up, then the JIT's log is complete. */
    public static final class WarmUp {
        public static void main(String[] args) throws InterruptedException {
            MonitorCommand.warmUp();
            System.out.flush();
            Runtime.getRuntime().halt(0);
        }
    }

    @Test
    void theI8042TheVirtioRegistersAndTheExitHandlerAreCompiledBeforeALaunch() throws IOException, InterruptedException {
        MonitorProcesses.requireKvm();
        // -Xbatch: each method is compiled when it reaches the JIT's threshold, not some time later (the log is then complete at the end).
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xbatch", "-XX:+PrintCompilation",
                "-cp", System.getProperty("java.class.path"), WarmUp.class.getName())
                .redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), log.lines().filter(l -> !l.contains("::")).toList().toString());
        for (String method : List.of("io.aether.kvm.Vcpu::run", "io.aether.kvm.Vcpu::decode", "io.aether.kvm.Vcpu::complete",
                "io.aether.vmm.ExitHandler::handle", "io.aether.vmm.Bus::read", "io.aether.vmm.Bus::write",
                "io.aether.devices.i8042.I8042::read", "io.aether.devices.i8042.I8042::write",
                "io.aether.virtio.VirtioMmioTransport::read", "io.aether.virtio.VirtioMmioTransport::write",
                "io.aether.devices.serial.Serial16550::read", "io.aether.devices.serial.Serial16550::write")) {
            assertTrue(log.contains(method + " "), method + " was not compiled by the warm-up");
        }
    }
}
