package io.aether.virtio;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.aether.memory.GuestMemory;
import io.aether.memory.RegionSpec;
import io.aether.virtio.MockDriver.Used;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class RequestQueueTest {

    private final GuestMemory memory = GuestMemory.anonymous(List.of(RegionSpec.ram(0, 1 << 20)));
    private final MockDriver driver = new MockDriver(memory, 8, 0x1000, 0x10000);
    private final RequestQueue queue = new RequestQueue();
    private final List<Integer> signalled = new ArrayList<>();
    private final VirtioInterrupt interrupt = new VirtioInterrupt() {
        @Override
        public void usedBuffers(int queueIndex) {
            signalled.add(queueIndex);
        }

        @Override
        public void configChanged() {
            throw new AssertionError("no configuration change expected");
        }
    };

    @AfterEach
    void close() {
        memory.close();
    }

    @Test
    void drainCompletesEveryAvailableChainWithTheServersLengthAndSignalsOnce() {
        queue.activate(List.of(driver.queue(8, VirtioFeatures.TRANSPORT)), interrupt);
        int a = driver.add(driver.writable(16));
        int b = driver.add(driver.writable(4), driver.writable(4));
        List<Long> served = new ArrayList<>();
        queue.drain(chain -> {
            served.add(chain.writableLength());
            return chain.writableLength() - 1;
        });
        assertEquals(List.of(16L, 8L), served);
        assertEquals(List.of(new Used(a, 15), new Used(b, 7)), driver.takeUsed());
        assertEquals(List.of(0), signalled);
    }

    @Test
    void nothingIsServedBeforeActivationOrAfterReset() {
        queue.drain(chain -> {
            throw new AssertionError("not active");
        });
        queue.activate(List.of(driver.queue(8, VirtioFeatures.TRANSPORT)), interrupt);
        queue.reset();
        driver.add(driver.writable(16));
        queue.drain(chain -> {
            throw new AssertionError("reset");
        });
        assertEquals(List.of(), driver.takeUsed());
        assertEquals(List.of(), signalled);
    }
}
