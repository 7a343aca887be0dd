package io.aether.cgroups;

import io.aether.common.ByteSize;
import java.time.Duration;
import java.util.Optional;

/**
 * A VM group's own accounting, counted since the group was made.
 *
 * @param cpuTime          CPU time its processes used (v1 {@code cpuacct.usage}, v2 {@code cpu.stat usage_usec})
 * @param throttledPeriods scheduling periods in which it ran out of quota ({@code cpu.stat nr_throttled})
 * @param memory           memory charged now (v1 {@code memory.usage_in_bytes}, v2 {@code memory.current})
 * @param memoryPeak       the most charged at once (v1 {@code memory.max_usage_in_bytes}, v2
 *                         {@code memory.peak}, which kernels before 5.19 lack)
 * @param memoryLimitHits  times a charge reached the limit (v1 {@code memory.failcnt}, v2
 *                         {@code memory.events max}); reclaim follows, and the OOM killer when
 *                         nothing can be reclaimed
 * @param oomKills         processes the OOM killer ended in the group ({@code oom_kill})
 */
public record CgroupUsage(Duration cpuTime, long throttledPeriods, ByteSize memory, Optional<ByteSize> memoryPeak,
                          long memoryLimitHits, long oomKills) {
}
