/**
 * Test support that boots real Linux guests: {@link io.aether.testhost.TestHost} runs a
 * {@link io.aether.testhost.Scenario} directly on hardware KVM or inside the nested test host
 * (QEMU TCG emulating an AMD CPU with SVM, where kvm-amd offers /dev/kvm), and a test talks to
 * the guest through the {@link io.aether.testhost.GuestConsole} of the {@link io.aether.testhost.GuestRun}.
 * The nested host runs on Debian trixie's QEMU 10, fetched into a private root ({@code TrixieQemu}),
 * and tells a stall of the emulator (retried) from a hang of the monitor (failed) by L1's heartbeat
 * ({@code StallClassifier}).
 * It depends on no test framework: the product's {@code aether demo} runs on it too. A machine
 * that cannot run guests is an {@code IOException} with the reason; tests map it to a skip, or a
 * failure under {@code CI=true}, with the testkit's {@code Prerequisites}.
 *
 * <p>{@link io.aether.testhost.Arm64TestHost} is the arm64 counterpart: QEMU emulates an arm64
 * machine with EL2 whose Linux offers arm64 KVM, and an {@link io.aether.testhost.Arm64Program}
 * runs there on an arm64 Java runtime.
 */
package io.aether.testhost;
