/**
 * Guest platform descriptions, free of KVM: memory layout, firmware tables and boot register
 * state as plain values written into {@link io.aether.memory.GuestMemory}. Each architecture has
 * its own package with the same names ({@code Layout}, {@code BootConfigurator#configureSystem},
 * {@code VcpuState}); what they share (virtio-mmio windows, the ACPI encoders) lives here.
 */
package io.aether.arch;
