package io.aether.devices;

import io.aether.testkit.fuzz.FuzzInput;
import io.aether.virtio.MockDriver;
import io.aether.virtio.MockDriver.Buffer;
import java.io.ByteArrayOutputStream;
import java.util.List;
import java.util.function.BiConsumer;

/**
 * Descriptor chains that a device fuzz target reads from its input: 1 to 4 buffers, each with a
 * length, a direction and, one time in 16, any address at all (else a place in the driver's data
 * area). The first 32 bytes of each readable buffer come from the input, so headers are the
 * fuzzer's to choose.
 */
public final class FuzzChains {

    static final int FILLED = 32;

    /** A submitted chain: its head, its buffers, what its readable part holds, and whether any buffer lies anywhere. */
    public record Chain(int head, List<Buffer> buffers, byte[] readable, boolean hostile) {
    }

    /** What {@link #submitEach} did: chains submitted, and whether one had a buffer anywhere. */
    public record Submitted(int chains, boolean hostile) {
    }

    private FuzzChains() {
    }

    /**
     * Submits up to {@code most} chains read from {@code in}, calling {@code notify} after each.
     * Until a chain has a buffer anywhere (which may cover the rings: the device then overwrites
     * them at the guest's request), each chain must be answered at once, and {@code check} sees it
     * with its used entry.
     */
    public static Submitted submitEach(MockDriver driver, FuzzInput in, int most, int maxLength, Runnable notify,
                                       BiConsumer<Chain, MockDriver.Used> check) {
        int submitted = 0;
        boolean hostile = false;
        for (; submitted < most && in.remaining() > 0; submitted++) {
            Chain chain = add(driver, in, maxLength);
            if (chain == null) break;
            notify.run();
            List<MockDriver.Used> used = driver.takeUsed();
            hostile |= chain.hostile();
            if (hostile) continue;
            if (used.size() != 1 || used.getFirst().id() != chain.head()) {
                throw new AssertionError("chain " + chain.head() + " was answered " + used + " instead of once");
            }
            check.accept(chain, used.getFirst());
        }
        return new Submitted(submitted, hostile);
    }

    /** Reads one chain from {@code in} and submits it; null when the driver has no room left for it. */
    public static Chain add(MockDriver driver, FuzzInput in, int maxLength) {
        int n = in.consumeInt(1, 4);
        Buffer[] buffers = new Buffer[n];
        ByteArrayOutputStream readable = new ByteArrayOutputStream();
        boolean hostile = false;
        for (int i = 0; i < n; i++) {
            int length = in.consumeInt(0, maxLength);
            boolean writable = in.consumeBoolean();
            if (in.consumeInt(0, 15) == 0) {
                buffers[i] = new Buffer(in.consumeLong(), length, writable);
                hostile = true;
                continue;
            }
            if (driver.dataLeft() < length + 8L) return null;
            if (writable) {
                buffers[i] = driver.writable(length);
            } else {
                byte[] content = new byte[length];
                byte[] given = in.consumeBytes(Math.min(length, FILLED));
                System.arraycopy(given, 0, content, 0, given.length);
                buffers[i] = driver.readable(content);
                readable.writeBytes(content);
            }
        }
        if (driver.freeDescriptors() < n) return null;
        return new Chain(driver.add(buffers), List.of(buffers), readable.toByteArray(), hostile);
    }

    /** The chain's writable buffers, in order, as the device left them. */
    public static byte[] written(MockDriver driver, Chain chain) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Buffer b : chain.buffers()) {
            if (!b.writable()) continue;
            byte[] part = new byte[(int) b.length()];
            driver.memory().read(b.address(), part, 0, part.length);
            out.writeBytes(part);
        }
        return out.toByteArray();
    }
}
