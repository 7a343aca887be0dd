package io.aether.vmm;

import io.aether.arch.VirtioMmioWindow;
import io.aether.kvm.Vm;
import io.aether.memory.RegionSpec;
import io.aether.vmspec.VmSpec;
import java.util.List;

/** Where RAM and the devices' windows lie in guest-physical memory. */
interface MemoryLayout {
    /** The RAM regions of a VM of {@code bytes} booting {@code boot}. */
    List<RegionSpec> memoryRegions(VmSpec.Boot boot, long bytes);

    /** One virtio-mmio window for each of {@code count} devices, with its interrupt number. */
    List<VirtioMmioWindow> virtioWindows(int count);

    /** Places what KVM itself keeps in the guest-physical address space (x86's real-mode helpers). */
    void reserveKvmAreas(Vm vm);
}
