import io.aether.testhost.*;
import java.nio.file.*;
import java.time.Duration;
import java.util.*;
import java.util.regex.Pattern;

/**
 * Boots the nested test host with the class path in the file {@code args[0]} and runs
 * {@code NestedJunit} on the test classes that follow, then prints what it printed: the part of
 * {@code dev/nested-unit-tests.sh} that runs here. With {@code --expect FILE} (one CLASS#method a
 * line: the tests run-tests handed over) the run passes only when every one of them passed there
 * and no test failed, was aborted or was skipped.
 */
public class NestedTests {
    public static void main(String[] args) throws Exception {
        List<String> rest = new ArrayList<>(List.of(args));
        List<Path> cp = new ArrayList<>();
        for (String e : Files.readString(Path.of(rest.removeFirst())).strip().split(":")) if (!e.isBlank()) cp.add(Path.of(e));
        Set<String> expected = new TreeSet<>();
        if (!rest.isEmpty() && rest.getFirst().equals("--expect")) {
            rest.removeFirst();
            expected.addAll(Files.readAllLines(Path.of(rest.removeFirst())).stream().filter(l -> !l.isBlank()).toList());
        }
        System.exit(report(runInL1(cp, expected, rest), expected) ? 0 : 1);
    }

    /**
     * Runs NestedJunit in one nested test host on each of {@code tests} (classes, or CLASS#method)
     * in a JVM of its own, only the {@code expected} methods where any; its transcript. A JVM that
     * dies or hangs costs its own class's tests only. A class whose run failed with a JVM killed by
     * a fault in its JIT's code (QEMU's multi-threaded TCG now and then runs a stale translation of
     * code a JIT has just written: the emulator's fault, not the test's) runs once more, only its
     * tests that did not pass. Where the emulator stalls (L1's kernel panicked, or L1 went silent),
     * a fresh L1 goes on with the classes that had not finished, without the tests that had a
     * result already: the transcripts of every attempt, one after the other.
     */
    static String runInL1(List<Path> cp, Set<String> expected, List<String> tests) throws Exception {
        TestHost host = TestHost.open();
        StringBuilder transcript = new StringBuilder();
        List<String> left = new ArrayList<>(tests);
        for (int attempt = 1; ; attempt++) {
            try {
                return transcript.append(runOnce(host, cp, expected, left, withAResult(transcript.toString()))).toString();
            } catch (Stalled e) {
                transcript.append(e.transcript).append('\n');
                Set<String> finished = new HashSet<>();
                for (String l : e.transcript.lines().map(String::strip).toList()) {
                    if (l.startsWith("L1CLASS ")) finished.add(l.split(" ")[1]);
                }
                left.removeAll(finished);
                if (attempt >= 3) throw e.stall;
                System.out.println("NESTED: " + e.stall.getMessage().lines().findFirst().orElse("the emulated host stalled")
                    + "; a fresh one goes on with the " + left.size() + " classes that had not finished");
            }
        }
    }

    /** A stall of the emulator, with what the console had printed until then. */
    static final class Stalled extends Exception {
        final String transcript;
        final HostStalledException stall;

        Stalled(String transcript, HostStalledException stall) {
            super(stall);
            this.transcript = transcript;
            this.stall = stall;
        }
    }

    /** One nested test host: NestedJunit on each of {@code tests}, skipping the tests {@code done} names. */
    static String runOnce(TestHost host, List<Path> cp, Set<String> expected, List<String> tests, Set<String> done) throws Exception {
        // What the tests find at home and L1 lacks: util-linux's script (a terminal for
        // VmRunCommandTest; the host's own, beside its libc), a loopback that carries multicast
        // (discovery), cgroup v1's cpu, cpuacct and memory controllers mounted as on the host, and
        // the repository's files that tests read beside their module (../examples, ../dev).
        String script = """
                mkdir -p tools && cp script-binary tools/script && chmod +x tools/script && export PATH="$PWD/tools:$PATH"
                ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo
                mount -t tmpfs cgroup /sys/fs/cgroup
                mkdir /sys/fs/cgroup/cpu,cpuacct /sys/fs/cgroup/memory && ln -s cpu,cpuacct /sys/fs/cgroup/cpu && ln -s cpu,cpuacct /sys/fs/cgroup/cpuacct
                mount -t cgroup -o cpu,cpuacct cgroup /sys/fs/cgroup/cpu,cpuacct && mount -t cgroup -o memory cgroup /sys/fs/cgroup/memory
                sed -e 's/io[.]aether[.]cli[.]Main/NestedJunit/' -e 's/aether-bench[.]jsa/nestedjunit.jsa/' "$AETHER" > nestedjunit && chmod +x nestedjunit
                here=$PWD && mkdir -p repo/module && cd repo/module
                (while sleep 30; do echo "nestedjunit: still running"; done) &
                # Not on the console's terminal: the tests run as under Maven at home, where the CLI sees no terminal.
                junit() { { "$here/nestedjunit" %s--done "$here/done.txt" "$1" </dev/null; echo $? > "$here/rc"; } 2>&1 | tee "$here/class.log"; }
                status=0
                for class in %s; do
                  t0=$(date +%%s)
                  junit "$class"
                  if [ "$(cat "$here/rc")" != 0 ] && "$here/nestedjunit" --jit-fault "$here/class.log"; then
                    echo "L1RETRY $class: a JVM died in its JIT's code (the emulator's fault): its tests that did not pass run once more"
                    junit "$class"
                  fi
                  [ "$(cat "$here/rc")" = 0 ] || status=1
                  echo "L1CLASS $class status $(cat "$here/rc") took $(( $(date +%%s) - t0 )) s"
                done
                echo "L1-STATUS=$status"
                """.formatted(expected.isEmpty() ? "" : "--only \"$here/handed-over.txt\" ", String.join(" ", tests));
        Duration limit = Duration.ofMinutes(70);
        Scenario.Builder scenario = Scenario.script(script).file("script-binary", Path.of("/usr/bin/script")).classpath(cp).timeout(limit);
        scenario.file("repo/dev/monitor.jvmargs", Path.of("dev/monitor.jvmargs"));
        if (!expected.isEmpty()) scenario.text("handed-over.txt", String.join("\n", expected) + "\n");
        scenario.text("done.txt", done.stream().map(t -> t + "\n").collect(java.util.stream.Collectors.joining()));
        try (var examples = Files.list(Path.of("examples"))) {
            for (Path e : examples.sorted().toList()) scenario.file("repo/examples/" + e.getFileName(), e);
        }
        try (GuestRun run = host.start(scenario.build())) {
            GuestConsole console = run.console();
            try {
                console.expectLine(Pattern.compile("L1-STATUS=\\d+"), limit);
            } catch (HostStalledException e) {
                throw new Stalled(console.transcript(), e);
            }
            return console.transcript();
        }
    }

    /** CLASS#method of every test with a result in the transcript, passed or not. */
    static Set<String> withAResult(String transcript) {
        Set<String> tests = new TreeSet<>();
        for (String l : transcript.lines().map(String::strip).toList()) {
            String[] words = l.split(" ", 4);
            if (words.length >= 3 && words[0].equals("L1TEST")) tests.add(words[2]);
        }
        return tests;
    }

    /** Prints the tests' results; with {@code expected}, whether each of them passed and nothing else failed. */
    static boolean report(String transcript, Set<String> expected) {
        System.out.println("\n== the tests' results, inside the nested test host ==");
        List<String> lines = transcript.lines().map(String::strip).filter(l -> l.startsWith("L1")).toList();
        lines.forEach(System.out::println);
        Set<String> ok = passedIn(transcript);
        // A test that failed in a JVM that died of a JIT fault and passed when its class ran again passed.
        List<String> bad = lines.stream().filter(l -> l.startsWith("L1TEST ") && !l.startsWith("L1TEST SUCCESSFUL "))
            .filter(l -> !ok.contains(l.split(" ", 4)[2])).toList();
        boolean passed = transcript.contains("L1-STATUS=0") && bad.isEmpty()
            && lines.stream().filter(l -> l.startsWith("L1CLASS ")).allMatch(l -> l.split(" ")[3].equals("0"));
        if (!expected.isEmpty()) {
            // Only the handed-over tests ran there (NestedJunit --only): each must have passed.
            Set<String> missing = new TreeSet<>(expected);
            missing.removeAll(ok);
            missing.forEach(t -> System.out.println("NESTED-MISSING " + t + ": handed over, but it did not pass in the nested test host"));
            bad.forEach(l -> System.out.println("NESTED-NOT-PASSED " + l));
            passed = passed && missing.isEmpty() && bad.isEmpty();
            System.out.println("NESTED " + (passed ? "PASSED" : "FAILED") + ": " + (expected.size() - missing.size()) + " of the " + expected.size()
                + " tests handed over passed inside the nested test host (" + ok.size() + " passed there in all)");
        }
        return passed;
    }

    /** CLASS#method of every test that passed in the transcript. */
    static Set<String> passedIn(String transcript) {
        Set<String> ok = new TreeSet<>();
        for (String l : transcript.lines().map(String::strip).toList()) {
            String[] words = l.split(" ", 4);
            if (words.length >= 3 && words[0].equals("L1TEST") && words[1].equals("SUCCESSFUL")) ok.add(words[2]);
        }
        return ok;
    }
}
