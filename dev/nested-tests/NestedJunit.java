import org.junit.platform.launcher.*;
import org.junit.platform.launcher.core.*;
import org.junit.platform.launcher.listeners.*;
import static org.junit.platform.engine.discovery.DiscoverySelectors.*;
import java.util.*;

/**
 * Runs JUnit test classes (or CLASS#method) with the JUnit platform's launcher and prints one
 * {@code L1TEST STATUS test} line per test, the failures' stack traces and an {@code L1SUMMARY}
 * line: the part of {@code dev/nested-unit-tests.sh} that runs inside the nested test host.
 * Exits 0 when nothing failed.
 * <p>{@code --only FILE}: of the classes' tests, only those named there (CLASS#method a line).
 * {@code --done FILE}: runs none of the tests FILE names, and appends each test that passes to it
 * as it passes (a class run again after its JVM died runs only what did not pass; a run that goes
 * on after the emulator stalled is handed the tests that had a result).
 * {@code --jit-fault LOG}: exits 0 when LOG holds a JVM's fatal error report whose problematic
 * frame is JIT-compiled Java code, 1 otherwise.
 */
public class NestedJunit {
    /** How long one test may run in the emulated host. */
    static final java.time.Duration TEST_LIMIT = java.time.Duration.ofMinutes(10);
    /**
     * A JVM's fatal error report whose problematic frame is JIT-compiled Java code ("# J 2516 c1 ..."),
     * its lines as printed or joined with ", " in a failure's message. QEMU's multi-threaded TCG now
     * and then runs a stale translation of code a JIT has just written: the emulator's fault.
     */
    static final java.util.regex.Pattern JIT_CODE_FAULT = java.util.regex.Pattern.compile(
        "(SIGILL|SIGSEGV) \\(0x[0-9a-f]+\\) at pc=[\\s\\S]{0,600}?Problematic frame:[,\\s#]*J \\d+ c[12] ");

    public static void main(String[] args) throws java.io.IOException {
        List<String> rest = new ArrayList<>(List.of(args));
        if (rest.size() == 2 && rest.getFirst().equals("--jit-fault")) {
            String log = new String(java.nio.file.Files.readAllBytes(java.nio.file.Path.of(rest.get(1))), java.nio.charset.StandardCharsets.ISO_8859_1);
            System.exit(JIT_CODE_FAULT.matcher(log).find() ? 0 : 1);
        }
        Set<String> only = new HashSet<>();
        if (!rest.isEmpty() && rest.getFirst().equals("--only")) {
            rest.removeFirst();
            only.addAll(java.nio.file.Files.readAllLines(java.nio.file.Path.of(rest.removeFirst())));
        }
        java.nio.file.Path doneFile = null;
        Set<String> doneBefore = new HashSet<>();
        if (!rest.isEmpty() && rest.getFirst().equals("--done")) {
            rest.removeFirst();
            doneFile = java.nio.file.Path.of(rest.removeFirst());
            if (java.nio.file.Files.exists(doneFile)) doneBefore.addAll(java.nio.file.Files.readAllLines(doneFile));
        }
        java.nio.file.Path done = doneFile;
        List<org.junit.platform.engine.DiscoverySelector> sel = new ArrayList<>();
        for (String a : rest) {
            if (a.contains("#")) sel.add(selectMethod(a)); else sel.add(selectClass(a));
        }
        // The tests' own @Timeout values are for a machine at home: emulated, a test may take several
        // times as long. They are off here; a test that runs past TEST_LIMIT ends this JVM instead
        // (the script runs each class in a JVM of its own, and goes on with the next).
        PostDiscoveryFilter named = d -> d.getSource().filter(org.junit.platform.engine.support.descriptor.MethodSource.class::isInstance)
            .map(org.junit.platform.engine.support.descriptor.MethodSource.class::cast).map(m -> m.getClassName() + "#" + m.getMethodName())
            .map(n -> (only.isEmpty() || only.contains(n)) && !doneBefore.contains(n)
                ? org.junit.platform.engine.FilterResult.included(n) : org.junit.platform.engine.FilterResult.excluded(n))
            .orElse(org.junit.platform.engine.FilterResult.included("not a test method"));
        LauncherDiscoveryRequest req = LauncherDiscoveryRequestBuilder.request().selectors(sel).filters(named)
            .configurationParameter("junit.jupiter.execution.timeout.mode", "disabled").build();
        var watchdog = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> { Thread t = new Thread(r, "watchdog"); t.setDaemon(true); return t; });
        Map<TestIdentifier, java.util.concurrent.ScheduledFuture<?>> limits = new java.util.concurrent.ConcurrentHashMap<>();
        Launcher launcher = LauncherFactory.create();
        SummaryGeneratingListener summary = new SummaryGeneratingListener();
        TestExecutionListener progress = new TestExecutionListener() {
            public void executionStarted(TestIdentifier id) {
                if (id.isTest()) limits.put(id, watchdog.schedule(() -> {
                    System.out.println("L1TEST TIMEOUT " + name(id) + " :: still running after " + TEST_LIMIT);
                    Thread.getAllStackTraces().forEach((t, stack) -> { System.out.println("thread " + t.getName()); for (var f : stack) System.out.println("\tat " + f); });
                    System.out.flush();
                    Runtime.getRuntime().halt(3);
                }, TEST_LIMIT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS));
            }
            public void executionFinished(TestIdentifier id, org.junit.platform.engine.TestExecutionResult r) {
                var limit = limits.remove(id);
                if (limit != null) limit.cancel(false);
                if (!id.isTest()) return;
                System.out.println("L1TEST " + r.getStatus() + " " + name(id) + r.getThrowable().map(t -> " :: " + t).orElse(""));
                if (done != null && r.getStatus() == org.junit.platform.engine.TestExecutionResult.Status.SUCCESSFUL) {
                    try {
                        java.nio.file.Files.writeString(done, name(id) + "\n", java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }
            }
            public void executionSkipped(TestIdentifier id, String reason) { System.out.println("L1TEST SKIPPED " + name(id) + " :: " + reason); }
        };
        launcher.execute(req, summary, progress);
        var s = summary.getSummary();
        s.getFailures().forEach(f -> { System.out.println("L1FAIL " + f.getTestIdentifier().getDisplayName()); f.getException().printStackTrace(System.out); });
        System.out.println("L1SUMMARY found=" + s.getTestsFoundCount() + " ok=" + s.getTestsSucceededCount() + " failed=" + s.getTestsFailedCount() + " skipped=" + s.getTestsSkippedCount() + " aborted=" + s.getTestsAbortedCount());
        System.exit(s.getTotalFailureCount() == 0 ? 0 : 1);
    }

    /** CLASS#method, as run-tests names a test handed over to this host (a parameterized test's every case says the same). */
    static String name(TestIdentifier id) {
        return id.getSource().filter(org.junit.platform.engine.support.descriptor.MethodSource.class::isInstance)
            .map(org.junit.platform.engine.support.descriptor.MethodSource.class::cast)
            .map(m -> m.getClassName() + "#" + m.getMethodName()).orElse(id.getUniqueId());
    }
}
