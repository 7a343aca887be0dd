/**
 * Device models, one package each: the 16550A UART ({@code serial}), the i8042 reset line
 * ({@code i8042}), the hardware-reduced ACPI sleep/reset registers ({@code acpi}) and the virtio
 * block, entropy and network devices ({@code block}, {@code rng}, {@code net}). They depend on
 * small interfaces only (guest memory, an interrupt line, {@link io.aether.devices.PowerEvents},
 * a file, an entropy source, a packet backend), never on KVM, so they are unit-tested and fuzzed
 * without {@code /dev/kvm}.
 */
package io.aether.devices;
