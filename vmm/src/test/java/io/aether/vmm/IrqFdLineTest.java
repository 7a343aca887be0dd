package io.aether.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.aether.sys.EventFd;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The level-triggered protocol over irqfd's two eventfds, without KVM: KVM's side is played here. */
@Timeout(30)
class IrqFdLineTest {

    @Test
    void aLineStillAssertedAtTheEoiIsRaisedAgainAndALoweredOneIsNot() {
        try (EventFd trigger = EventFd.open(); EventFd resample = EventFd.open()) {
            IrqFdLine line = new IrqFdLine(trigger, resample);
            line.set(true);
            assertEquals(1, trigger.take(), "raising signals the trigger");

            // The guest's EOI: KVM lowers the GSI and signals the resample fd; the device still wants it.
            resample.signal();
            line.resampled();
            assertEquals(1, trigger.take(), "still asserted: raised again");
            assertEquals(0, resample.take(), "the resample was consumed");

            line.set(false);
            assertEquals(0, trigger.take(), "lowering is KVM's at the EOI, nothing to write");
            resample.signal();
            line.resampled();
            assertEquals(0, trigger.take(), "lowered: not raised again");
        }
    }
}
