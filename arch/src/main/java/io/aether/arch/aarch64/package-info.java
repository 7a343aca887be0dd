/**
 * The arm64 platform: the guest-physical {@link io.aether.arch.aarch64.Layout} (QEMU {@code virt}'s
 * shape), the machine description {@link io.aether.arch.aarch64.Platform} and the device tree
 * {@link io.aether.arch.aarch64.DeviceTree} a kernel boots with. Not yet wired into the monitor.
 */
package io.aether.arch.aarch64;
