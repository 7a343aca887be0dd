package io.aether.vmm;

import io.aether.common.BusDevice;
import io.aether.devices.acpi.AcpiPowerDevice;
import io.aether.devices.block.VirtioBlock;
import io.aether.devices.i8042.I8042;
import io.aether.devices.net.VirtioNet;
import io.aether.devices.rng.VirtioRng;
import io.aether.devices.serial.Serial16550;
import io.aether.virtio.QueueCounters;
import io.aether.virtio.QueueFault;
import io.aether.virtio.VirtioMmioTransport;
import java.lang.reflect.RecordComponent;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One device of a VM as its {@link DeviceManager} knows it: a name unique in the VM, the model,
 * and what the guest reaches it through. Switch over the kinds (no default) to read a kind's own
 * counters; {@link #counters()} gives any device's.
 */
public sealed interface Device {

    /** Unique in the VM: {@code serial}, {@code virtio-blk0}, ... */
    String name();

    /** The model's counters (each kind has its own record). */
    Record counters();

    /**
     * Every counter of the device as a number by name: the model's ({@code bytesRead}), and for
     * a virtio device its transport's ({@code transport.deviceErrors}) and each queue's faults
     * ({@code queue0.fault.head_out_of_range}).
     */
    default Map<String, Long> counterValues() {
        Map<String, Long> values = new LinkedHashMap<>();
        putLongs(values, "", counters());
        if (this instanceof Virtio virtio) {
            putLongs(values, "transport.", virtio.transport().counters());
            List<QueueCounters> queues = virtio.transport().queueCounters();
            for (int q = 0; q < queues.size(); q++) {
                for (Map.Entry<QueueFault, Long> fault : queues.get(q).faults().entrySet()) {
                    values.put("queue" + q + ".fault." + fault.getKey().name().toLowerCase(Locale.ROOT), fault.getValue());
                }
            }
        }
        return values;
    }

    /** Each long component of a counters record, under {@code prefix}. */
    private static void putLongs(Map<String, Long> values, String prefix, Record counters) {
        for (RecordComponent c : counters.getClass().getRecordComponents()) {
            if (c.getType() != long.class) continue;
            try {
                values.put(prefix + c.getName(), (Long) c.getAccessor().invoke(counters));
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("counter " + prefix + c.getName() + " is unreadable", e);
            }
        }
    }

    /** What the bus routes the guest's accesses to. */
    BusDevice busDevice();

    /** The 16550 UART: the guest's console. */
    record Uart(String name, Serial16550 model) implements Device {
        @Override
        public Serial16550.Counters counters() {
            return model.counters();
        }

        @Override
        public BusDevice busDevice() {
            return model;
        }
    }

    /** The i8042 keyboard controller: Ctrl-Alt-Del for the guest, and the CPU reset line. */
    record Keyboard(String name, I8042 model) implements Device {
        @Override
        public I8042.Counters counters() {
            return model.counters();
        }

        @Override
        public BusDevice busDevice() {
            return model;
        }
    }

    /** The ACPI power-off and reset registers. */
    record AcpiPower(String name, AcpiPowerDevice model) implements Device {
        @Override
        public AcpiPowerDevice.Counters counters() {
            return model.counters();
        }

        @Override
        public BusDevice busDevice() {
            return model;
        }
    }

    /** A virtio device behind its virtio-mmio transport. */
    sealed interface Virtio extends Device {
        VirtioMmioTransport transport();

        @Override
        default BusDevice busDevice() {
            return transport();
        }
    }

    record Block(String name, VirtioBlock model, VirtioMmioTransport transport) implements Virtio {
        public Block {
            if (transport.device() != model) throw new IllegalArgumentException(name + ": the transport drives another device");
        }

        @Override
        public VirtioBlock.Counters counters() {
            return model.counters();
        }
    }

    record Net(String name, VirtioNet model, VirtioMmioTransport transport) implements Virtio {
        public Net {
            if (transport.device() != model) throw new IllegalArgumentException(name + ": the transport drives another device");
        }

        @Override
        public VirtioNet.Counters counters() {
            return model.counters();
        }
    }

    record Rng(String name, VirtioRng model, VirtioMmioTransport transport) implements Virtio {
        public Rng {
            if (transport.device() != model) throw new IllegalArgumentException(name + ": the transport drives another device");
        }

        @Override
        public VirtioRng.Counters counters() {
            return model.counters();
        }
    }
}
