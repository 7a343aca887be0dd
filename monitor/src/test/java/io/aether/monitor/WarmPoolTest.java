package io.aether.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.monitorapi.ControlRequest;
import io.aether.monitorapi.MonitorClient;
import io.aether.monitorapi.VmState;
import io.aether.monitorapi.WarmPool;
import io.aether.vmspec.VmSpec;
import io.aether.vmspec.VmSpecJson;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The warm pool with real standby monitors on this host's KVM, and with a command that cannot start. */
@Timeout(180)
class WarmPoolTest {

    private static final Duration READY = Duration.ofSeconds(90);

    @TempDir
    Path dir;

    private final List<ProcessHandle> handedOut = new ArrayList<>();

    @AfterEach
    void killLeftovers() {
        handedOut.forEach(ProcessHandle::destroyForcibly);
    }

    @Test
    void aLaunchTakesAReadyMonitorTheFaultsAreReapedAndThePoolRefills() throws Exception {
        MonitorProcesses.requireKvm();
        Path poolDir = Files.createDirectory(dir.resolve("pool"));
        try (WarmPool pool = WarmPool.start(new WarmPool.Config(MonitorProcesses.command(), poolDir, 2, READY))) {
            assertTrue(pool.awaitReady(2, READY), () -> "two standby monitors: " + pool.stats());
            List<Long> ready = pool.readyPids();

            Path socket = Files.createDirectory(dir.resolve("vm-1")).resolve("monitor.sock");
            WarmPool.Launched launched = pool.launch(new ControlRequest.Launch(VmSpec.stub(VmSpec.StubProgram.COUNT),
                    Optional.empty(), Optional.of(socket))).orElseThrow();
            handedOut.add(launched.process().toHandle());
            assertEquals(ready.getFirst(), launched.process().pid(), "the oldest ready monitor");
            assertEquals(socket, launched.socket());
            MonitorClient vm = new MonitorClient(socket, Duration.ofSeconds(10));
            try (MonitorClient.Console console = vm.attachConsole(true)) {
                assertEquals("Aether stub guest", new String(console.output().readNBytes(17), StandardCharsets.US_ASCII));
            }

            // A launch the standby refuses leaves it in the pool.
            VmSpec missingKernel = VmSpecJson.read("{\"boot\": {\"kernel\": \"" + dir.resolve("none") + "\"}}");
            assertEquals("bad_request", assertThrows(MonitorClient.RefusedException.class,
                    () -> pool.launch(new ControlRequest.Launch(missingKernel, Optional.empty(), Optional.empty()))).code());
            assertTrue(pool.readyPids().contains(ready.get(1)), "the refusing monitor is ready again: " + pool.readyPids());

            assertTrue(pool.awaitReady(2, READY), () -> "refilled: " + pool.stats());
            assertEquals(3, pool.stats().started());

            // A ready standby that dies is reaped and replaced.
            long victim = pool.readyPids().getFirst();
            ProcessHandle.of(victim).orElseThrow().destroyForcibly();
            long deadline = System.nanoTime() + READY.toNanos();
            while (pool.stats().reaped() == 0 || pool.readyPids().contains(victim)) {
                assertTrue(System.nanoTime() < deadline, () -> "not reaped: " + pool.stats());
                Thread.sleep(20);
            }
            assertTrue(pool.awaitReady(2, READY), () -> "replaced: " + pool.stats());
            assertEquals(4, pool.stats().started());
            assertEquals(0, pool.stats().failed(), () -> pool.stats().lastFailure().orElse(""));

            assertEquals(VmState.RUNNING, vm.state().state(), "the launched VM is not the pool's business");
            assertEquals(VmState.STOPPED, vm.stop(false, Duration.ZERO).state());
            assertTrue(launched.process().waitFor(30, TimeUnit.SECONDS));
            List<Long> last = pool.readyPids();
            pool.close();
            for (long pid : last) assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "closed pool: " + pid + " ended");
        }
        try (var left = Files.list(poolDir)) {
            List<Path> files = left.filter(p -> !p.getFileName().toString().endsWith(".err")).toList();
            assertEquals(List.of(), files, "no standby socket is left");
        }
    }

    @Test
    void aPoolStartEndsAStandbyLeftAnsweringInItsDirectory() throws Exception {
        MonitorProcesses.requireKvm();
        Path socket = dir.resolve("standby-1-0.sock");
        List<String> command = MonitorProcesses.command();
        command.addAll(List.of("--standby", "--socket", socket.toString()));
        Process leftover = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        handedOut.add(leftover.toHandle());
        assertTrue(new String(leftover.getInputStream().readNBytes(8), StandardCharsets.US_ASCII).startsWith("standby "));
        try (WarmPool pool = WarmPool.start(new WarmPool.Config(List.of("true"), dir, 0, READY))) {
            assertTrue(leftover.waitFor(30, TimeUnit.SECONDS), "the leftover standby is ended");
            assertFalse(Files.exists(socket));
            assertEquals(0, pool.stats().started());
        }
    }

    @Test
    void aCommandThatCannotStartIsRetriedAfterGrowingDelays() throws Exception {
        long start = System.nanoTime();
        try (WarmPool pool = WarmPool.start(new WarmPool.Config(List.of("sh", "-c", "echo broken install >&2; exit 3", "monitor"), dir, 2, READY))) {
            long deadline = start + TimeUnit.SECONDS.toNanos(60);
            while (pool.stats().failed() < 7) {
                assertTrue(System.nanoTime() < deadline, () -> "seven failed starts: " + pool.stats());
                Thread.sleep(10);
            }
            long elapsed = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            // The first two start at once (the pool's size); after them one try at a time, 200, 400,
            // 800, 1600 and 3200 ms apart: not one try per millisecond.
            assertTrue(elapsed >= 6_200, "seven failures after " + elapsed + " ms");
            WarmPool.Stats stats = pool.stats();
            assertEquals(0, stats.ready());
            assertTrue(stats.lastFailure().orElseThrow().matches("standby monitor \\d+ exited with status 3 before it was ready: broken install"),
                    stats.lastFailure().orElseThrow());
            assertEquals(Optional.empty(), pool.launch(new ControlRequest.Launch(VmSpec.stub(VmSpec.StubProgram.COUNT), Optional.empty(), Optional.empty())));
        }
    }
}
