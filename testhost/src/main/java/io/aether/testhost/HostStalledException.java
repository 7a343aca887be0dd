package io.aether.testhost;

/**
 * The emulated host of a nested run stopped making progress: L1 gave no sign of life (no
 * heartbeat on its own channel, no console output) for a long time, or its kernel reported a
 * panic, an oops, a lockup or an RCU stall ({@link StallClassifier}). That is the emulator (QEMU
 * TCG running nested SVM) failing, not the guest or the monitor under test; a console that stays
 * silent while L1 is alive is a plain failure instead. {@link TestHost#retryingStalls} runs the
 * scenario again. It is an {@link AssertionError}, so that unretried it fails a test.
 */
public final class HostStalledException extends AssertionError {
    public HostStalledException(String message) {
        super(message);
    }
}
