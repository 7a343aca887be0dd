package io.aether.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class EventFdTest {

    @Test
    void signalsAddUpUntilTakenAndPollSaysWhichIsReady() {
        try (EventFd a = EventFd.open(); EventFd b = EventFd.open()) {
            int[] fds = {a.fd(), b.fd()};
            assertEquals(0, Libc.pollIn(fds, 0), "nothing signalled yet");
            assertEquals(0, a.take(), "an empty counter reads as 0 without blocking");
            b.signal();
            b.signal();
            b.signal();
            assertEquals(0b10, Libc.pollIn(fds, 1000));
            assertEquals(3, b.take());
            assertEquals(0, b.take(), "taking clears the counter");
            a.signal();
            assertEquals(0b01, Libc.pollIn(fds, 1000));
            assertEquals(1, a.take());
        }
    }

    @Test
    void aSignalFromAnotherThreadEndsAWait() throws Exception {
        try (EventFd e = EventFd.open()) {
            Thread signaller = Thread.ofPlatform().start(() -> {
                try {
                    Thread.sleep(100);
                } catch (InterruptedException ignored) {
                    return;
                }
                e.signal();
            });
            assertEquals(1, Libc.pollIn(new int[] {e.fd()}, 10_000));
            signaller.join();
            assertEquals(1, e.take());
        }
    }
}
