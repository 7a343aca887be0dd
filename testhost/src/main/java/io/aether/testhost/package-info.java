/**
 * Test support that boots real Linux guests: {@link io.aether.testhost.TestHost} runs a
 * {@link io.aether.testhost.Scenario} directly on hardware KVM or inside the nested test host
 * (QEMU TCG emulating an AMD CPU with SVM, where kvm-amd offers /dev/kvm), and a test talks to
 * the guest through the {@link io.aether.testhost.GuestConsole} of the {@link io.aether.testhost.GuestRun}.
 * {@link io.aether.testhost.Prerequisites} holds the CI policy: skip loudly, or fail in CI.
 */
package io.aether.testhost;
