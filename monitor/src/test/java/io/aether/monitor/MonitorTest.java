package io.aether.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.monitorapi.ControlRequest;
import io.aether.monitorapi.ControlResponse;
import io.aether.monitorapi.VmState;
import io.aether.vmm.StopReason;
import io.aether.vmspec.VmSpec;
import io.aether.vmm.MicroVm;
import java.io.ByteArrayOutputStream;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The answers a monitor gives around its VM's life, before one is built and after it ended (no KVM needed). */
@Timeout(30)
class MonitorTest {

    private final VmSpec spec = VmSpec.stub(VmSpec.StubProgram.COUNT);

    private static ControlResponse.Refused refused(ControlResponse response) {
        return (ControlResponse.Refused) response;
    }

    @Test
    void beforeTheVmIsBuiltItIsCreatedAndCannotBePaused() {
        Monitor monitor = new Monitor(spec, new ConsoleRing(16), null);
        ControlResponse.Status status = monitor.status();
        assertEquals(VmState.CREATED, status.state());
        assertEquals(spec, status.spec());
        assertEquals(ProcessHandle.current().pid(), status.pid());
        assertEquals(new ControlResponse.Refused("conflict", "cannot pause: the VM is still being built"),
                monitor.handle(new ControlRequest.Pause()));
    }

    @Test
    void aCrashIsFailedWithItsReasonAndAPowerOffIsStopped() {
        Monitor crashed = new Monitor(spec, new ConsoleRing(16), null);
        crashed.finished(new StopReason.GuestCrash(0, "triple fault (KVM_EXIT_SHUTDOWN)"));
        assertEquals(new ControlResponse.Status(VmState.FAILED, Optional.of("guest crashed on vCPU 0: triple fault (KVM_EXIT_SHUTDOWN)"),
                spec, ProcessHandle.current().pid()), crashed.handle(new ControlRequest.State()));
        assertEquals("cannot resume: the VM is stopped", refused(crashed.handle(new ControlRequest.Resume())).message());

        Monitor poweredOff = new Monitor(spec, new ConsoleRing(16), null);
        poweredOff.finished(new StopReason.PowerOff());
        assertEquals(VmState.STOPPED, poweredOff.status().state());
        assertEquals(Optional.of("guest powered off"), poweredOff.status().reason());
        assertEquals("cannot stop: the VM is stopped", refused(poweredOff.handle(new ControlRequest.Stop(false, Duration.ZERO))).message());
    }

    @Test
    void aGracefulStopBeforeTheVmExistsIsRefusedAndChangesNothing() {
        Monitor monitor = new Monitor(spec, new ConsoleRing(16), null);
        ControlResponse.Refused r = refused(monitor.handle(new ControlRequest.Stop(true, Duration.ofSeconds(5))));
        assertEquals("conflict", r.code());
        assertEquals("cannot stop: the VM is still being built", r.message());
        assertEquals(VmState.CREATED, monitor.status().state());
        assertFalse(monitor.shuttingDown());
    }

    @Test
    void metricsCountTheConsoleAndTheMonitor() {
        ConsoleRing ring = new ConsoleRing(4);
        ring.write(new byte[10], 0, 10);
        Monitor monitor = new Monitor(spec, ring, null);
        ControlResponse.Metrics m = (ControlResponse.Metrics) monitor.handle(new ControlRequest.Metrics());
        assertEquals(10L, m.values().get("monitor.consoleBytes"), "every byte the guest printed, not only those the ring holds");
        assertEquals(0L, m.values().get("monitor.pauses"));
        assertEquals(0L, m.values().get("monitor.consoleLogLostBytes"));
        long rss = m.values().get("memory.rssBytes");
        assertTrue(m.values().get("memory.pssBytes") > 0 && m.values().get("memory.pssBytes") <= rss, m.values().toString());
        assertTrue(m.values().get("memory.privateBytes") > 0 && m.values().get("memory.privateBytes") <= rss, m.values().toString());
        assertEquals(0L, m.values().get("monitor.memoryReadFailures"));
    }

    @Test
    void metricsOfARunningVmHaveItsVcpusAndDevices() throws Exception {
        MonitorProcesses.requireKvm();
        Monitor monitor = new Monitor(VmSpec.stub(VmSpec.StubProgram.HELLO), new ConsoleRing(256), null);
        try (MicroVm vm = MicroVm.create(VmSpec.stub(VmSpec.StubProgram.HELLO), new ByteArrayOutputStream(), null)) {
            monitor.running(vm, false);
            vm.start();
            vm.awaitStop();
            Map<String, Long> values = ((ControlResponse.Metrics) monitor.handle(new ControlRequest.Metrics())).values();
            // Two counts of the greeting made apart: the vCPU's exits to the UART's data port, and the UART's bytes.
            assertTrue(values.get("serial.bytesOut") > 0);
            assertEquals(values.get("serial.bytesOut"), values.get("vcpu.0.exits.io_out"));
            assertEquals(1L, values.get("vcpu.0.exits.hlt"));
            assertTrue(values.get("vcpu.0.cpuNanos") > 0);
        }
    }
}
