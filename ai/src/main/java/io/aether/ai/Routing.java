package io.aether.ai;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Which loaded versions answer a model's requests, replaced as a whole on every switch.
 * A canary gets {@code percent} of requests, spread evenly: request n goes to the canary when
 * floor((n+1)p/100) exceeds floor(np/100), so any 100 consecutive requests hold p of them
 * (to rounding), with no randomness to make the share drift or tests flaky.
 */
final class Routing {

    final LoadedVersion stable;
    final LoadedVersion canary;
    final double percent;
    private final AtomicLong counter = new AtomicLong();

    Routing(LoadedVersion stable, LoadedVersion canary, double percent) {
        if (canary != null) {
            CanarySpec.checkPercent(percent);
        }
        this.stable = stable;
        this.canary = canary;
        this.percent = canary == null ? 0 : percent;
    }

    LoadedVersion pick() {
        if (canary == null) {
            return stable;
        }
        long n = counter.getAndIncrement();
        return Math.floor((n + 1) * percent / 100) > Math.floor(n * percent / 100) ? canary : stable;
    }

    /** The loaded version with this id, or null. */
    LoadedVersion find(String version) {
        if (stable.version.equals(version)) {
            return stable;
        }
        return canary != null && canary.version.equals(version) ? canary : null;
    }

    List<LoadedVersion> versions() {
        List<LoadedVersion> all = new ArrayList<>(2);
        all.add(stable);
        if (canary != null) {
            all.add(canary);
        }
        return all;
    }

    boolean contains(LoadedVersion v) {
        return v == stable || v == canary;
    }

    List<VersionStatus> status() {
        List<VersionStatus> out = new ArrayList<>(2);
        out.add(stable.status(VersionStatus.Role.STABLE, 100 - percent));
        if (canary != null) {
            out.add(canary.status(VersionStatus.Role.CANARY, percent));
        }
        return out;
    }
}
