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
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
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

    /** Places standbys as the agent does, recording each call; the first place fails. */
    private static final class RecordingPlacement implements WarmPool.Placement {
        final Map<Long, String> placed = new ConcurrentHashMap<>();
        final List<String> calls = new CopyOnWriteArrayList<>();
        private boolean failedOnce;

        @Override
        public synchronized void place(String standby, long pid) throws IOException {
            if (!failedOnce) {
                failedOnce = true;
                calls.add("place " + standby + " (fails)");
                throw new IOException("no group for " + standby);
            }
            calls.add("place " + standby);
            placed.put(pid, standby);
        }

        @Override
        public void release(String standby) {
            calls.add("release " + standby);
        }
    }

    /** A claim that records its calls, and fails its claim when told to. */
    private record RecordingClaim(List<String> calls, boolean fail) implements WarmPool.Claim {
        RecordingClaim(boolean fail) {
            this(new CopyOnWriteArrayList<>(), fail);
        }

        @Override
        public void claim(String standby) throws IOException {
            calls.add("claim " + standby);
            if (fail) throw new IOException("cannot claim " + standby);
        }

        @Override
        public void unclaim(String standby) {
            calls.add("unclaim " + standby);
        }

        @Override
        public void sending(long pid) {
            calls.add("sending to " + pid);
        }
    }

    private static void await(java.util.function.BooleanSupplier done, String what) throws InterruptedException {
        long deadline = System.nanoTime() + READY.toNanos();
        while (!done.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, what);
            Thread.sleep(20);
        }
    }

    @Test
    void eachStandbyIsPlacedClaimedBeforeItsLaunchGivenBackWhenRefusedAndReleasedWhenItDiesOrThePoolCloses() throws Exception {
        MonitorProcesses.requireKvm();
        Path poolDir = Files.createDirectory(dir.resolve("pool"));
        RecordingPlacement placement = new RecordingPlacement();
        VmSpec count = VmSpec.stub(VmSpec.StubProgram.COUNT);
        try (WarmPool pool = WarmPool.start(new WarmPool.Config(MonitorProcesses.command(), poolDir, 1, READY, placement))) {
            assertTrue(pool.awaitReady(1, READY), () -> "a standby monitor: " + pool.stats());
            assertEquals(1, pool.stats().failed(), "the standby that could not be placed is counted failed");
            assertTrue(pool.stats().lastFailure().orElseThrow().matches("standby monitor \\d+ did not start: it could not be placed: no group for standby-\\d+-0(: .*)?"),
                    pool.stats().lastFailure().orElseThrow());
            String first = "standby-" + ProcessHandle.current().pid() + "-0";
            long pid = pool.readyPids().getFirst();
            String name = placement.placed.get(pid);
            assertEquals("standby-" + ProcessHandle.current().pid() + "-1", name);
            assertEquals(List.of("place " + first + " (fails)", "release " + first, "place " + name), placement.calls,
                    "the standby that could not be placed was released once it had exited");

            RecordingClaim failing = new RecordingClaim(true);
            assertEquals("cannot claim " + name, assertThrows(IOException.class,
                    () -> pool.launch(new ControlRequest.Launch(count, Optional.empty(), Optional.empty()), failing)).getMessage());
            assertEquals(List.of("claim " + name), failing.calls(), "nothing is sent after a claim that failed");
            assertEquals(List.of(pid), pool.readyPids(), "a claim that failed sends nothing and keeps the standby");

            RecordingClaim refused = new RecordingClaim(false);
            VmSpec missingKernel = VmSpecJson.read("{\"boot\": {\"kernel\": \"" + dir.resolve("none") + "\"}}");
            assertThrows(MonitorClient.RefusedException.class,
                    () -> pool.launch(new ControlRequest.Launch(missingKernel, Optional.empty(), Optional.empty()), refused));
            assertEquals(List.of("claim " + name, "sending to " + pid, "unclaim " + name), refused.calls());
            assertEquals(List.of(pid), pool.readyPids(), "a refused launch gives the standby back its place");

            RecordingClaim ahead = new RecordingClaim(false);
            WarmPool.Taken given = pool.take(ahead).orElseThrow();
            assertEquals(List.of(), pool.readyPids(), "a standby taken ahead of its launch is not ready for another");
            assertEquals(0, pool.stats().starting(), "nor replaced while taken: " + pool.stats());
            given.giveBack();
            assertEquals(List.of("claim " + name, "unclaim " + name), ahead.calls(), "given back: its claim undone, nothing sent");
            assertEquals(List.of(pid), pool.readyPids(), "a standby given back is ready again");
            assertThrows(IllegalStateException.class, given::giveBack, "a standby is given back once");

            RecordingClaim taken = new RecordingClaim(false);
            WarmPool.Launched launched = pool.launch(new ControlRequest.Launch(count, Optional.empty(), Optional.empty()), taken).orElseThrow();
            handedOut.add(launched.process().toHandle());
            assertEquals(pid, launched.process().pid());
            assertEquals(List.of("claim " + name, "sending to " + pid), taken.calls(), "told the standby's pid before the launch is sent");

            assertTrue(pool.awaitReady(1, READY), () -> "refilled: " + pool.stats());
            long next = pool.readyPids().getFirst();
            String nextName = placement.placed.get(next);
            ProcessHandle.of(next).orElseThrow().destroyForcibly();
            await(() -> placement.calls.contains("release " + nextName), "the dead standby " + nextName + " is released: " + placement.calls);

            assertTrue(pool.awaitReady(1, READY), () -> "replaced: " + pool.stats());
            String last = placement.placed.get(pool.readyPids().getFirst());
            pool.close();
            assertTrue(placement.calls.contains("release " + last), "closed: " + last + " released: " + placement.calls);
            assertFalse(placement.calls.contains("release " + name), "the launched standby's place is its VM's now: " + placement.calls);
        }
    }

    /** When the pool started its {@code n}th standby, waiting for it at most {@code wait}; -1 if it did not. */
    private static long startedAt(WarmPool pool, int n, Duration wait) throws InterruptedException {
        long deadline = System.nanoTime() + wait.toNanos();
        while (pool.stats().started() < n) {
            if (System.nanoTime() > deadline) return -1;
            Thread.sleep(10);
        }
        return System.nanoTime();
    }

    @Test
    void theRefillWaitsWhileTheLaunchedVmIsBusyAtMostItsBoundAndNotOnceTheMonitorEnded() throws Exception {
        MonitorProcesses.requireKvm();
        Duration bootWait = Duration.ofSeconds(6);
        Path poolDir = Files.createDirectory(dir.resolve("pool"));
        try (WarmPool pool = WarmPool.start(new WarmPool.Config(MonitorProcesses.command(), poolDir, 1, READY, WarmPool.Placement.NONE, bootWait))) {
            assertTrue(pool.awaitReady(1, READY), () -> "a standby monitor: " + pool.stats());
            // The keyboard stub polls its controller without pause: its vCPU wants a whole CPU, however loaded the host.
            long launchedAt = System.nanoTime();
            WarmPool.Launched busy = pool.launch(new ControlRequest.Launch(VmSpec.stub(VmSpec.StubProgram.KEYBOARD),
                    Optional.empty(), Optional.empty())).orElseThrow();
            handedOut.add(busy.process().toHandle());
            long refilledAt = startedAt(pool, 2, READY);
            assertTrue(refilledAt > 0, () -> "refilled in the end: " + pool.stats());
            long waited = TimeUnit.NANOSECONDS.toMillis(refilledAt - launchedAt);
            assertTrue(waited >= bootWait.toMillis() - 500, "the replacement started " + waited + " ms after the launch of a busy VM");
            assertTrue(busy.process().isAlive(), "the bound, not the VM's end, let the refill go");

            assertTrue(pool.awaitReady(1, READY), () -> "refilled: " + pool.stats());
            // The hello stub halts at once, and its monitor exits with it: nothing left to wait for.
            long secondAt = System.nanoTime();
            WarmPool.Launched brief = pool.launch(new ControlRequest.Launch(VmSpec.stub(VmSpec.StubProgram.HELLO),
                    Optional.empty(), Optional.empty())).orElseThrow();
            handedOut.add(brief.process().toHandle());
            assertTrue(brief.process().waitFor(30, TimeUnit.SECONDS), "the hello stub's monitor ends");
            long thirdAt = startedAt(pool, 3, bootWait);
            assertTrue(thirdAt > 0, () -> "not refilled within the bound after its VM ended: " + pool.stats());
            assertTrue(busy.process().isAlive());
            assertEquals(0, pool.stats().failed(), () -> pool.stats().lastFailure().orElse(""));
            assertTrue(TimeUnit.NANOSECONDS.toMillis(thirdAt - secondAt) < bootWait.toMillis(), "refilled before the bound once the VM ended");
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
