package io.aether.monitorapi;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.OptionalLong;

/**
 * How much CPU a process's threads want: the time they ran plus the time they waited runnable,
 * from each thread's {@code /proc/PID/task/TID/schedstat}. Unlike the CPU time a process used,
 * this does not fall when other work on the host takes the CPUs: a busy guest's monitor wants
 * about a CPU per running vCPU however loaded the host is, an idle one next to nothing.
 */
final class CpuDemand {

    private CpuDemand() {
    }

    /**
     * The nanoseconds process {@code pid}'s live threads have run or waited to run, in total;
     * empty when the process is gone or the kernel keeps no such account.
     */
    static OptionalLong nanos(long pid) {
        long total = 0;
        try (DirectoryStream<Path> threads = Files.newDirectoryStream(Path.of("/proc", Long.toString(pid), "task"))) {
            for (Path thread : threads) {
                String line;
                try {
                    line = Files.readString(thread.resolve("schedstat"));
                } catch (NoSuchFileException exited) {
                    continue;
                }
                // "RUN_NS WAIT_NS TIMESLICES"
                String[] fields = line.strip().split(" ");
                if (fields.length < 2) return OptionalLong.empty();
                total = Math.addExact(total, Math.addExact(Long.parseLong(fields[0]), Long.parseLong(fields[1])));
            }
        } catch (IOException | RuntimeException e) {
            return OptionalLong.empty();
        }
        return OptionalLong.of(total);
    }
}
