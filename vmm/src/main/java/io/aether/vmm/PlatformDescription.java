package io.aether.vmm;

import io.aether.arch.VirtioMmioWindow;
import io.aether.common.InterruptLine;
import io.aether.devices.PowerEvents;
import io.aether.kvm.Vcpu;
import io.aether.kvm.Vm;
import io.aether.memory.GuestMemory;
import io.aether.vmspec.VmSpec;
import java.util.List;
import java.util.function.Function;

/** The platform's own devices and how the guest learns about its machine. */
interface PlatformDescription {
    /**
     * Attaches the console UART (made by {@code console} for its interrupt line) and the
     * platform's power and reset devices; {@code stub} has only the console, with no interrupt.
     */
    void attachPlatformDevices(DeviceManager devices, Vm vm, Function<InterruptLine, Device.Uart> console, PowerEvents power,
                               boolean stub);

    /**
     * Writes the firmware tables (ACPI and boot parameters, or a device tree) for the machine
     * {@code spec} describes, its virtio devices in {@code windows}, after {@link BootEntry#loadKernel}.
     */
    void describePlatform(GuestMemory memory, VmSpec spec, List<VirtioMmioWindow> windows, List<Vcpu> vcpus);

    /**
     * Whether the guest looks for its virtio devices only well into its boot, so that a fresh
     * boot's virtio devices may be built while its vCPUs already run ({@link DeviceManager#buildLate});
     * their windows and interrupts are described from the start all the same.
     */
    boolean virtioProbedLate();
}
