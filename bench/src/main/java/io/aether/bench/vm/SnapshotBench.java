package io.aether.bench.vm;

import io.aether.monitorapi.MonitorClient;
import io.aether.vmm.MicroVm;
import io.aether.vmm.StopReason;
import io.aether.vmm.VmSnapshot;
import io.aether.vmspec.VmSpec;
import io.aether.vmspec.VmSpecJson;
import io.aether.common.ByteSize;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Snapshot and restore of a COUNT stub guest on this host's KVM: the snapshot's write speed
 * (guest memory as the stub leaves it, mostly zero pages, and with every page written), beside
 * {@code cp} of the same memory file in the same run; restore to running in this process (the
 * monitor's own cost: state checked, memory mapped, states loaded, first output); and restore to
 * running in a new monitor process ({@code aether vm monitor --restore}, JVM start included),
 * beside the same guest booted from its spec by a new monitor process in the same run.
 *
 * <pre>
 *   SnapshotBench --runs 20 --write-runs 5 --memory-mib 256 --work DIR -- AETHER_COMMAND...
 * </pre>
 */
public final class SnapshotBench {

    private SnapshotBench() {
    }

    public static void main(String[] args) throws Exception {
        int runs = 20;
        int writeRuns = 5;
        long memoryMiB = 256;
        Path work = null;
        List<String> aether = List.of();
        for (int i = 0; i < args.length; i += 2) {
            switch (args[i]) {
                case "--runs" -> runs = Integer.parseInt(args[i + 1]);
                case "--write-runs" -> writeRuns = Integer.parseInt(args[i + 1]);
                case "--memory-mib" -> memoryMiB = Long.parseLong(args[i + 1]);
                case "--work" -> work = Path.of(args[i + 1]);
                case "--" -> {
                    aether = List.of(Arrays.copyOfRange(args, i + 1, args.length));
                    i = args.length;
                }
                default -> throw new IllegalArgumentException("unknown option " + args[i]
                        + " (usage: SnapshotBench --runs N --write-runs N --memory-mib N --work DIR -- AETHER_COMMAND...)");
            }
        }
        if (work == null || aether.isEmpty()) throw new IllegalArgumentException("--work DIR and -- AETHER_COMMAND... are required");
        Files.createDirectories(work);
        VmSpec spec = VmSpec.stub(VmSpec.StubProgram.COUNT).withMemory(ByteSize.ofMiB(memoryMiB));
        long bytes = spec.memory().bytes();
        System.out.printf(Locale.ROOT, "COUNT stub guest, %d MiB of memory; medians%n", memoryMiB);

        Path sparse = work.resolve("sparse");
        Path dense = work.resolve("dense");
        long[] sparseNanos = writeSnapshots(spec, sparse, false, runs);
        long[] denseNanos = writeSnapshots(spec, dense, true, writeRuns);
        long[] cpNanos = new long[writeRuns];
        long[] cpSyncNanos = new long[writeRuns];
        Path copy = work.resolve("memory.copy");
        for (int i = 0; i < writeRuns; i++) {
            Files.deleteIfExists(copy);
            cpNanos[i] = time("cp", dense.resolve(VmSnapshot.MEMORY_FILE).toString(), copy.toString());
            Files.deleteIfExists(copy);
            long start = System.nanoTime();
            time("cp", dense.resolve(VmSnapshot.MEMORY_FILE).toString(), copy.toString());
            time("sync", copy.toString());
            cpSyncNanos[i] = System.nanoTime() - start;
        }
        Files.deleteIfExists(copy);
        report("snapshot, stub's own memory (mostly zero pages: holes)", sparseNanos, bytes);
        report("snapshot, every page written", denseNanos, bytes);
        report("cp of that memory file", cpNanos, bytes);
        report("cp + sync of that memory file", cpSyncNanos, bytes);

        long[] restoreBuilt = new long[runs];
        long[] restoreRunning = new long[runs];
        for (int i = 0; i < runs; i++) {
            long[] t = restoreInProcess(sparse);
            restoreBuilt[i] = t[0];
            restoreRunning[i] = t[1];
        }
        System.out.printf(Locale.ROOT, "restore in this process: VM built %.2f ms, first output %.2f ms (median of %d)%n",
                median(restoreBuilt) / 1e6, median(restoreRunning) / 1e6, runs);

        // The peer: the same guest booted by a new monitor process from its spec, alternating with the restores.
        Path specFile = Files.writeString(work.resolve("spec.json"), VmSpecJson.write(spec));
        long[] cold = new long[runs];
        long[] boot = new long[runs];
        for (int i = 0; i < runs; i++) {
            cold[i] = inNewMonitor(aether, work, "--restore", sparse.toString());
            boot[i] = inNewMonitor(aether, work, "--spec", specFile.toString());
        }
        System.out.printf(Locale.ROOT, "restore in a new monitor process: start to first output %.1f ms (median of %d)%n",
                median(cold) / 1e6, runs);
        System.out.printf(Locale.ROOT, "boot in a new monitor process (peer): start to first output %.1f ms (median of %d)%n",
                median(boot) / 1e6, runs);
    }

    /** Runs the guest until it prints, then snapshots it {@code runs} times (paused); with {@code dirty}, every page past 1 MiB written first. */
    private static long[] writeSnapshots(VmSpec spec, Path dir, boolean dirty, int runs) throws Exception {
        CountDownLatch printed = new CountDownLatch(100);
        OutputStream console = new OutputStream() {
            @Override
            public void write(int b) {
                printed.countDown();
            }
        };
        long[] nanos = new long[runs];
        try (MicroVm vm = MicroVm.create(spec, console, null)) {
            vm.start();
            if (!printed.await(30, TimeUnit.SECONDS)) throw new IllegalStateException("the guest printed nothing");
            vm.pause();
            if (dirty) vm.memory().fill(1 << 20, vm.memory().size() - (1 << 20), (byte) 0xA5);
            for (int i = 0; i < runs; i++) nanos[i] = vm.snapshot(dir, null).nanos();
            vm.requestStop(new StopReason.Requested("bench"));
        }
        return nanos;
    }

    /** Nanoseconds to the VM built from the snapshot, and to its first console byte. */
    private static long[] restoreInProcess(Path dir) throws Exception {
        CountDownLatch first = new CountDownLatch(1);
        long[] at = new long[1];
        OutputStream console = new OutputStream() {
            @Override
            public void write(int b) {
                if (first.getCount() > 0) {
                    at[0] = System.nanoTime();
                    first.countDown();
                }
            }
        };
        long start = System.nanoTime();
        try (MicroVm vm = VmSnapshot.restore(dir, console, null, null)) {
            long built = System.nanoTime() - start;
            vm.start();
            if (!first.await(30, TimeUnit.SECONDS)) throw new IllegalStateException("the restored guest printed nothing");
            vm.requestStop(new StopReason.Requested("bench"));
            return new long[] {built, at[0] - start};
        }
    }

    /** Nanoseconds from starting {@code aether vm monitor OPTION VALUE} to the guest's first byte in its console log. */
    private static long inNewMonitor(List<String> aether, Path work, String option, String value) throws Exception {
        Path socket = work.resolve("restore.sock");
        Path log = work.resolve("restore.log");
        Files.deleteIfExists(log);
        List<String> command = new ArrayList<>(aether);
        command.addAll(List.of("vm", "monitor", option, value, "--socket", socket.toString(), "--console-log", log.toString()));
        long start = System.nanoTime();
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(work.resolve("restore.out").toFile()).start();
        try {
            long deadline = start + TimeUnit.SECONDS.toNanos(60);
            while (!Files.exists(log) || Files.size(log) == 0) {
                if (!p.isAlive()) throw new IllegalStateException("the monitor exited: " + Files.readString(work.resolve("restore.out")));
                if (System.nanoTime() > deadline) throw new IllegalStateException("no output from the guest");
                Thread.onSpinWait();
            }
            long elapsed = System.nanoTime() - start;
            new MonitorClient(socket, Duration.ofSeconds(10)).stop(false, Duration.ZERO);
            if (!p.waitFor(30, TimeUnit.SECONDS)) throw new IllegalStateException("the monitor did not exit");
            return elapsed;
        } finally {
            p.destroyForcibly();
        }
    }

    private static long time(String... command) throws Exception {
        long start = System.nanoTime();
        Process p = new ProcessBuilder(command).inheritIO().start();
        if (p.waitFor() != 0) throw new IllegalStateException(String.join(" ", command) + " failed");
        return System.nanoTime() - start;
    }

    private static void report(String what, long[] nanos, long bytes) {
        double ms = median(nanos) / 1e6;
        System.out.printf(Locale.ROOT, "%-55s %8.1f ms  %8.0f MiB/s (median of %d)%n", what, ms, (bytes / 1048576.0) / (ms / 1000), nanos.length);
    }

    private static long median(long[] values) {
        long[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }
}
