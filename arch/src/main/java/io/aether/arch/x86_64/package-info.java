/**
 * The x86_64 platform: guest-physical {@link io.aether.arch.x86_64.Layout}, hardware-reduced
 * ACPI tables, the Linux zero page and PVH start info, boot registers and MSRs, and CPUID
 * normalisation. {@link io.aether.arch.x86_64.BootConfigurator#configureSystem} ties them
 * together for a loaded kernel.
 */
package io.aether.arch.x86_64;
