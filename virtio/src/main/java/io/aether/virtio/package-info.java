/**
 * Virtio 1.x (specification 1.2) for the monitor's devices: split virtqueues ({@link
 * io.aether.virtio.Virtqueue}, {@link io.aether.virtio.DescriptorChain}), the contract between a
 * transport and a device model ({@link io.aether.virtio.VirtioDevice}) and the virtio-mmio
 * transport ({@link io.aether.virtio.VirtioMmioTransport}).
 *
 * <p>Everything read from guest memory or written to a register is hostile: it is bounds-checked,
 * capped and counted, never thrown back at the monitor. Nothing here knows KVM.
 */
package io.aether.virtio;
