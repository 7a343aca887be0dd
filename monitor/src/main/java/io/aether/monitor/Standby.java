package io.aether.monitor;

import io.aether.common.FieldException;
import io.aether.monitorapi.ControlCodec;
import io.aether.monitorapi.ControlRequest;
import io.aether.monitorapi.ControlResponse;
import io.aether.vmm.KvmHost;
import io.aether.vmm.VmCreationException;
import io.aether.vmspec.VmSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * A standby monitor's control socket before and after its launch: until a
 * {@link ControlRequest.Launch} is accepted it answers {@link ControlResponse.Standby} and
 * refuses VM requests; the accepted launch makes a {@link Monitor} for the VM, which answers
 * everything from then on. A refused launch changes nothing: the monitor stays on standby.
 */
final class Standby {

    /** What an accepted launch hands the run loop. */
    record Launched(VmSpec spec, Monitor monitor, ConsoleLog log) {
    }

    private final ConsoleRing ring;
    private final long consoleLogLimit;
    /** The launch, or empty when the standby was given up (its parent died, a signal). */
    private final CompletableFuture<Optional<Launched>> outcome = new CompletableFuture<>();
    private volatile Monitor monitor;
    private ControlServer server;

    Standby(ConsoleRing ring, long consoleLogLimit) {
        this.ring = ring;
        this.consoleLogLimit = consoleLogLimit;
    }

    synchronized void serving(ControlServer server) {
        this.server = server;
    }

    ControlResponse handle(ControlRequest request) {
        Monitor launched = monitor;
        if (launched != null) return launched.handle(request);
        return switch (request) {
            case ControlRequest.State s -> new ControlResponse.Standby(ProcessHandle.current().pid());
            case ControlRequest.Launch l -> launch(l);
            default -> new ControlResponse.Refused(ControlResponse.Refused.CONFLICT,
                    "cannot " + ControlCodec.op(request) + ": the monitor is on standby (no VM yet; send launch)");
        };
    }

    /**
     * Gives the standby up unless a launch came first; returns the launched VM's monitor, or null
     * when the standby is given up.
     */
    synchronized Monitor giveUp() {
        if (monitor == null) outcome.complete(Optional.empty());
        return monitor;
    }

    /** Waits for the launch; empty when the standby was given up. */
    Optional<Launched> await() throws InterruptedException {
        try {
            return outcome.get();
        } catch (ExecutionException e) {
            throw new IllegalStateException("the standby's outcome failed", e.getCause());
        }
    }

    boolean waiting() {
        return !outcome.isDone();
    }

    private synchronized ControlResponse launch(ControlRequest.Launch launch) {
        if (monitor != null || outcome.isDone()) {
            return new ControlResponse.Refused(ControlResponse.Refused.CONFLICT, "cannot launch: the standby monitor is ending");
        }
        VmSpec spec;
        try {
            spec = launch.spec().withMacsFor(UUID.randomUUID().toString());
            spec.checkHost(VmSpec.MAX_VCPUS);
        } catch (FieldException e) {
            return new ControlResponse.Refused(ControlResponse.Refused.BAD_REQUEST, "spec." + e.getMessage());
        }
        try {
            KvmHost.requireLinuxBootable(spec, Path.of("/"));
        } catch (VmCreationException e) {
            return new ControlResponse.Refused(ControlResponse.Refused.FAILED, e.getMessage());
        }
        ConsoleLog log = null;
        Path logFile = launch.consoleLog().orElse(null);
        boolean logExisted = logFile != null && Files.exists(logFile, LinkOption.NOFOLLOW_LINKS);
        try {
            if (logFile != null) log = new ConsoleLog(logFile, consoleLogLimit);
        } catch (IOException e) {
            return new ControlResponse.Refused(ControlResponse.Refused.BAD_REQUEST, "consoleLog: " + logFile + ": cannot open: " + e.getMessage());
        }
        if (launch.socket().isPresent()) {
            try {
                server.moveTo(launch.socket().get());
            } catch (IOException e) {
                if (log != null) {
                    log.close();
                    if (!logExisted) deleteQuietly(logFile);
                }
                return new ControlResponse.Refused(ControlResponse.Refused.BAD_REQUEST, "socket: " + e.getMessage());
            }
        }
        Monitor m = new Monitor(spec, ring, log);
        m.serving(server);
        monitor = m;
        outcome.complete(Optional.of(new Launched(spec, m, log)));
        return m.status();
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            // An empty log file left behind is all this costs.
        }
    }
}
