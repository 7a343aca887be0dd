package io.aether.arch.x86_64;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class LocalApicTest {

    @Test
    void lint0BecomesExtIntAndLint1NmiKeepingOtherBits() {
        byte[] state = new byte[1024];
        // Reset value of an LVT register: masked (bit 16); put a vector and a stray mode in too.
        state[0x350 + 2] = 0x01;
        state[0x350] = 0x30;
        state[0x351] = 0x02; // delivery mode 010 (SMI)
        state[0x360 + 2] = 0x01;
        LocalApic.configureLint(state);
        assertEquals(0x0001_0730, LocalApic.register(state, 0x350));
        assertEquals(0x0001_0400, LocalApic.register(state, 0x360));
        assertEquals(0, LocalApic.register(state, 0x340), "other registers untouched");
    }

    @Test
    void wrongSizedStateIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> LocalApic.configureLint(new byte[512]));
    }
}
