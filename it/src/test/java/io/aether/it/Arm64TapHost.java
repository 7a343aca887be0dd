package io.aether.it;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs inside the arm64 test host (L1): loads the {@code tun} module it is given (L1's init loads
 * none), starts {@code aether} (a child JVM with this one's options and class path, the console
 * its own) with the rest of its arguments, whose {@code --net} {@link #TAP} makes the TAP, and
 * gives that TAP {@link #HOST_ADDRESS} and brings it up once it exists. The line {@link #UP} (or
 * one saying what failed) tells the test; the exit status is {@code aether}'s.
 *
 * <p>Arguments: the path of {@code tun.ko}, then {@code aether}'s.
 */
public final class Arm64TapHost {

    static final String TAP = "aethertap0";
    static final String HOST_ADDRESS = "10.213.78.1";
    static final String UP = "tap-host: " + TAP + " " + HOST_ADDRESS + "/24 up";
    /** The monitor makes the TAP while it builds the VM: seconds, minutes under emulation and load. */
    private static final long TAP_WAIT_MILLIS = TimeUnit.MINUTES.toMillis(5);

    private Arm64TapHost() {
    }

    public static void main(String[] args) throws Exception {
        if (sh("insmod " + args[0]) != 0) {
            System.out.println("tap-host: cannot load " + args[0]);
            System.exit(10);
        }
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), "io.aether.cli.Main"));
        command.addAll(Arrays.asList(args).subList(1, args.length));
        Process aether = new ProcessBuilder(command).inheritIO().start();
        Thread.ofPlatform().daemon().start(Arm64TapHost::configureTap);
        System.exit(aether.waitFor());
    }

    private static void configureTap() {
        try {
            long deadline = System.currentTimeMillis() + TAP_WAIT_MILLIS;
            while (!Files.exists(Path.of("/sys/class/net", TAP))) {
                if (System.currentTimeMillis() > deadline) {
                    System.out.println("tap-host: " + TAP + " did not appear");
                    return;
                }
                Thread.sleep(100);
            }
            int status = sh("ip addr add " + HOST_ADDRESS + "/24 dev " + TAP + " && ip link set " + TAP + " up");
            System.out.println(status == 0 ? UP : "tap-host: configuring " + TAP + " failed with status " + status);
        } catch (IOException | InterruptedException e) {
            System.out.println("tap-host: " + e);
        }
    }

    private static int sh(String script) throws IOException, InterruptedException {
        return new ProcessBuilder("sh", "-c", script).inheritIO().start().waitFor();
    }
}
