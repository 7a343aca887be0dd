package io.aether.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.monitorapi.ControlRequest;
import io.aether.monitorapi.ControlResponse;
import io.aether.monitorapi.VmState;
import io.aether.vmspec.VmSpec;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** When a standby's run loop gets its launched VM: after the launch's answer, not before. */
@Timeout(60)
class StandbyHandOverTest {

    @Test
    void theRunLoopIsHandedTheLaunchedVmOnlyOnceTheLaunchIsAnswered() throws Exception {
        MonitorProcesses.requireKvm();
        Standby standby = new Standby(new ConsoleRing(4096), 1 << 20, false, null);
        ControlResponse answer = standby.handle(new ControlRequest.Launch(VmSpec.stub(VmSpec.StubProgram.HELLO), Optional.empty(), Optional.empty()));
        try {
            assertEquals(VmState.RUNNING, assertInstanceOf(ControlResponse.Status.class, answer).state(), answer::toString);
            // Woken before the answer went out, the run loop's thread took a core from it.
            assertTrue(standby.waiting(), "the run loop is not handed the VM while the launch's answer is being written");
            assertInstanceOf(ControlResponse.Refused.class, standby.handle(new ControlRequest.Launch(VmSpec.stub(VmSpec.StubProgram.HELLO),
                    Optional.empty(), Optional.empty())), "a second launch is refused in between");
        } finally {
            standby.answered();
        }
        assertFalse(standby.waiting());
        Standby.Launched launched = standby.await().orElseThrow();
        try {
            assertSame(launched.monitor(), standby.giveUp(), "the launched VM's monitor answers from now on");
            standby.answered();
            assertEquals(launched, standby.await().orElseThrow(), "handed over once");
        } finally {
            launched.vm().close();
        }
    }
}
