package io.aether.monitorapi;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * One VM's metrics, read from the counters its monitor answers {@link ControlRequest.Metrics}
 * with (monitor-api's README lists the names). A name this version does not know is left out, so
 * a newer monitor's answer still reads; a counter a monitor did not send reads 0.
 *
 * @param uptimeMillis how long the monitor has run
 * @param vcpus each vCPU, by id
 * @param memory the monitor process's memory
 * @param disks each virtio-blk device, in the VM's order
 * @param nics each virtio-net device, in the VM's order
 * @param faults every device's faults by kind ({@link DeviceFault}), only those counted at least once
 */
public record VmMetrics(long uptimeMillis, List<Vcpu> vcpus, Memory memory, List<Disk> disks, List<Nic> nics,
                        List<DeviceFault> faults) {

    public VmMetrics {
        vcpus = List.copyOf(vcpus);
        Objects.requireNonNull(memory, "memory");
        disks = List.copyOf(disks);
        nics = List.copyOf(nics);
        faults = List.copyOf(faults);
    }

    /** @param exits exits to the monitor by reason ({@code io_out}, {@code hlt}, ...) */
    public record Vcpu(int id, long cpuNanos, Map<String, Long> exits) {
        public Vcpu {
            exits = Map.copyOf(exits);
        }
    }

    /** Resident, proportional (PSS) and private (USS) bytes of the monitor process. */
    public record Memory(long rssBytes, long pssBytes, long privateBytes) {
    }

    /** @param throttled requests held back by the disk's rate limit */
    public record Disk(String device, long reads, long writes, long bytesRead, long bytesWritten, long flushes, long throttled) {
    }

    public record Nic(String device, long rxPackets, long rxBytes, long rxDropped, long rxThrottled,
                      long txPackets, long txBytes, long txDropped, long txThrottled) {
    }

    /** How many faults of one kind a device has counted (guest mistakes and host failures alike). */
    public record DeviceFault(String device, String kind, long count) {
    }

    /**
     * The fault kind of each counter that counts faults: the model's, its transport's (prefix
     * {@code transport.}); a queue's faults ({@code queueN.fault.K}) are kind {@code queue_K}.
     */
    static final Map<String, String> FAULT_KINDS = Map.ofEntries(
            Map.entry("faults", "malformed_request"),
            Map.entry("unsupported", "unsupported_request"),
            Map.entry("ioErrors", "host_io_error"),
            Map.entry("rxErrors", "backend_rx_error"),
            Map.entry("txErrors", "backend_tx_error"),
            Map.entry("outputErrors", "console_output_error"),
            Map.entry("badAccesses", "bad_register_access"),
            Map.entry("ignoredAccesses", "bad_register_access"),
            Map.entry("transport.ignoredAccesses", "bad_register_access"),
            Map.entry("transport.rejectedStatus", "rejected_status"),
            Map.entry("transport.rejectedFeatures", "rejected_features"),
            Map.entry("transport.refusedQueues", "refused_queue"),
            Map.entry("transport.deviceErrors", "device_error"));

    /** virtio-blk2 before virtio-blk10: device names differ only in their numbers within a kind. */
    private static final Comparator<String> BY_DEVICE_ORDER = Comparator.comparingInt(String::length).thenComparing(Comparator.naturalOrder());

    /**
     * Reads a monitor's answer.
     *
     * @throws IllegalArgumentException naming the first counter that is negative (a counter never
     *     is, and Prometheus refuses one: the whole answer is refused rather than half read)
     */
    public static VmMetrics of(Map<String, Long> values) {
        values.forEach((name, n) -> {
            if (n < 0) throw new IllegalArgumentException(ControlCodec.printable(name) + ": " + n + " is negative");
        });
        Map<Integer, Long> cpu = new TreeMap<>();
        Map<Integer, Map<String, Long>> exits = new TreeMap<>();
        Map<String, Map<String, Long>> devices = new TreeMap<>(BY_DEVICE_ORDER);
        for (Map.Entry<String, Long> e : values.entrySet()) {
            String name = e.getKey();
            int dot = name.indexOf('.');
            if (dot <= 0) continue;
            String head = name.substring(0, dot);
            String rest = name.substring(dot + 1);
            switch (head) {
                case "monitor", "memory" -> { }
                case "vcpu" -> {
                    int next = rest.indexOf('.');
                    if (next <= 0 || !rest.substring(0, next).matches("[0-9]{1,3}")) continue;
                    int id = Integer.parseInt(rest.substring(0, next));
                    String what = rest.substring(next + 1);
                    if (what.equals("cpuNanos")) {
                        cpu.put(id, e.getValue());
                    } else if (what.startsWith("exits.")) {
                        exits.computeIfAbsent(id, k -> new TreeMap<>()).put(what.substring("exits.".length()), e.getValue());
                    }
                }
                default -> devices.computeIfAbsent(head, k -> new TreeMap<>()).put(rest, e.getValue());
            }
        }
        List<Vcpu> vcpus = new ArrayList<>();
        for (Integer id : union(cpu.keySet(), exits.keySet())) {
            vcpus.add(new Vcpu(id, cpu.getOrDefault(id, 0L), exits.getOrDefault(id, Map.of())));
        }
        List<Disk> disks = new ArrayList<>();
        List<Nic> nics = new ArrayList<>();
        List<DeviceFault> faults = new ArrayList<>();
        devices.forEach((device, c) -> {
            if (device.startsWith("virtio-blk")) {
                disks.add(new Disk(device, get(c, "reads"), get(c, "writes"), get(c, "bytesRead"), get(c, "bytesWritten"),
                        get(c, "flushes"), get(c, "throttled")));
            } else if (device.startsWith("virtio-net")) {
                nics.add(new Nic(device, get(c, "rxPackets"), get(c, "rxBytes"), get(c, "rxDropped"), get(c, "rxThrottled"),
                        get(c, "txPackets"), get(c, "txBytes"), get(c, "txDropped"), get(c, "txThrottled")));
            }
            Map<String, Long> byKind = new TreeMap<>();
            c.forEach((counter, n) -> {
                String kind = FAULT_KINDS.get(counter);
                if (kind == null && counter.matches("queue[0-9]+\\.fault\\.[a-z_]+")) kind = "queue_" + counter.substring(counter.lastIndexOf('.') + 1);
                if (kind != null) byKind.merge(kind, n, Long::sum);
            });
            byKind.forEach((kind, n) -> {
                if (n > 0) faults.add(new DeviceFault(device, kind, n));
            });
        });
        return new VmMetrics(values.getOrDefault("monitor.uptimeMillis", 0L), vcpus,
                new Memory(values.getOrDefault("memory.rssBytes", 0L), values.getOrDefault("memory.pssBytes", 0L),
                        values.getOrDefault("memory.privateBytes", 0L)),
                disks, nics, faults);
    }

    private static long get(Map<String, Long> counters, String name) {
        return counters.getOrDefault(name, 0L);
    }

    private static List<Integer> union(Set<Integer> a, Set<Integer> b) {
        TreeSet<Integer> all = new TreeSet<>(a);
        all.addAll(b);
        return List.copyOf(all);
    }
}
