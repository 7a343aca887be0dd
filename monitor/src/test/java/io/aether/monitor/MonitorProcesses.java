package io.aether.monitor;

import io.aether.testkit.Prerequisites;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Real monitor processes for tests: this module's classes in a fresh JVM, started as the CLI starts them. */
final class MonitorProcesses {

    private MonitorProcesses() {
    }

    /** The entry point of the test's monitor processes: {@code aether vm monitor}'s, without the rest of the CLI. */
    public static void main(String[] args) throws InterruptedException {
        int status = MonitorCommand.run(List.of(args));
        System.out.flush();
        System.err.flush();
        // As the CLI ends a monitor: at once, unless a signal's shutdown is under way.
        if (!MonitorCommand.signalled()) Runtime.getRuntime().halt(status);
        System.exit(status);
    }

    /** The command line that starts a monitor; the caller adds its options. */
    static List<String> command() {
        return new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
                "-cp", System.getProperty("java.class.path"), MonitorProcesses.class.getName()));
    }

    static void requireKvm() {
        Prerequisites.requireKvm();
    }
}
