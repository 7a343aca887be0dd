package io.aether.testhost;

/**
 * The emulated host of a nested run stopped making progress: no console output for a long time,
 * or its kernel reported a soft lockup or an RCU stall. That is the emulator (QEMU TCG running
 * nested SVM) failing, not the guest or the monitor under test; {@link TestHost#retryingStalls}
 * runs the scenario again. It is an {@link AssertionError}, so that unretried it fails a test.
 */
public final class HostStalledException extends AssertionError {
    public HostStalledException(String message) {
        super(message);
    }
}
